"""Workflow templates through the real client: managed cluster, prerequisite order, dag timeout, stored templates."""

from __future__ import annotations

import time

import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d

from .helpers import PROJECT, REGION, driver_output, make_cluster, unique

PARENT = f"projects/{PROJECT}/regions/{REGION}"
Node = d.WorkflowNode.NodeState

PREPARE = """
import os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "data.csv"), "w") as fh:
    fh.write("city,amount\\nparis,3\\nlyon,4\\nparis,5\\n")
print("prepared", out)
"""

REPORT_SQL = [  # a Hive step: runs on Spark SQL; the bad statement is reported and skipped
    "CREATE TEMPORARY VIEW sales USING csv OPTIONS (path '${hivevar:input}', header 'true')",
    "SELECT no_such_column FROM sales",
    "INSERT OVERWRITE DIRECTORY '${hivevar:output}' USING csv "
    "SELECT city, SUM(CAST(amount AS INT)) AS total FROM sales GROUP BY city ORDER BY city",
    "SELECT COUNT(*) FROM sales",
]


def _upload(clients, bucket: str, name: str, text: str) -> str:
    clients.storage.bucket(bucket).blob(name).upload_from_string(text)
    return f"gs://{bucket}/{name}"


@pytest.mark.spark
@pytest.mark.slow
def test_inline_workflow_runs_steps_in_order_on_a_managed_cluster(emu, emulator_clients, fast_polling):
    bucket = unique("wf")
    emulator_clients.storage.create_bucket(bucket)
    prepare = _upload(emulator_clients, bucket, "code/prepare.py", PREPARE)
    template = {
        "id": "sales-report",
        "placement": {"managed_cluster": {"cluster_name": "wf-sales", "config": {}}},
        "jobs": [
            {"step_id": "report", "prerequisite_step_ids": ["prepare"],
             "hive_job": {"query_list": {"queries": REPORT_SQL}, "continue_on_failure": True,
                          "script_variables": {"input": f"gs://{bucket}/in/", "output": f"gs://{bucket}/out"}}},
            {"step_id": "prepare", "pyspark_job": {"main_python_file_uri": prepare, "args": [f"gs://{bucket}/in"]}},
        ],
    }
    op = emulator_clients.workflows.instantiate_inline_workflow_template(
        request={"parent": PARENT, "template": template, "request_id": "wf-" + bucket})
    op.result(polling=fast_polling, timeout=240)
    meta = op.metadata
    assert meta.state == d.WorkflowMetadata.State.DONE
    nodes = {n.step_id: n for n in meta.graph.nodes}
    assert nodes["prepare"].state == Node.COMPLETED and nodes["report"].state == Node.COMPLETED, nodes
    assert meta.cluster_name.startswith("wf-sales-") and meta.cluster_uuid
    assert meta.create_cluster.done and meta.delete_cluster.done and not meta.create_cluster.error
    prepare_job = emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=nodes["prepare"].job_id)
    report_job = emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=nodes["report"].job_id)
    assert prepare_job.status.state_start_time.timestamp_pb().ToNanoseconds() <= (
        report_job.status_history[0].state_start_time.timestamp_pb().ToNanoseconds())
    assert "no_such_column" in driver_output(emulator_clients, report_job)[1]
    parts = [b for b in emulator_clients.storage.list_blobs(bucket, prefix="out/") if b.name.endswith(".csv")]
    rows = sorted(line for b in parts for line in b.download_as_text().splitlines())
    assert rows == ["lyon,4", "paris,8"]
    with pytest.raises(gexc.NotFound):  # the managed cluster is gone
        emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=meta.cluster_name)


def test_dag_timeout_fails_workflow_and_deletes_cluster(emu, emulator_clients, fast_polling):
    bucket = unique("wft")
    emulator_clients.storage.create_bucket(bucket)
    slow = _upload(emulator_clients, bucket, "slow.py", "import time\ntime.sleep(120)\n")
    op = emulator_clients.workflows.instantiate_inline_workflow_template(request={"parent": PARENT, "template": {
        "id": "slow", "dag_timeout": {"seconds": 600},
        "placement": {"managed_cluster": {"cluster_name": "wf-slow", "config": {}}},
        "jobs": [{"step_id": "sleep", "pyspark_job": {"main_python_file_uri": slow}}],
    }})
    deadline = time.monotonic() + 30
    while not op.metadata or not op.metadata.dag_start_time:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        op._refresh_and_update()
    emu.clock.advance(601)
    with pytest.raises(gexc.GoogleAPICallError, match="dag_timeout"):
        op.result(polling=fast_polling, timeout=60)
    node = op.metadata.graph.nodes[0]
    assert node.state == Node.FAILED
    job = emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=node.job_id)
    assert job.status.state in (d.JobStatus.State.CANCELLED, d.JobStatus.State.ERROR)
    with pytest.raises(gexc.NotFound):
        emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=op.metadata.cluster_name)


def test_cancelling_the_operation_cancels_jobs_and_deletes_cluster(emu, emulator_clients, fast_polling):
    bucket = unique("wfc")
    emulator_clients.storage.create_bucket(bucket)
    slow = _upload(emulator_clients, bucket, "slow.py", "import time\ntime.sleep(120)\n")
    op = emulator_clients.workflows.instantiate_inline_workflow_template(request={"parent": PARENT, "template": {
        "id": "cancel-me", "placement": {"managed_cluster": {"cluster_name": "wf-cancel", "config": {}}},
        "jobs": [{"step_id": "sleep", "pyspark_job": {"main_python_file_uri": slow}}]}})
    deadline = time.monotonic() + 30
    while not (op.metadata and op.metadata.graph.nodes[0].job_id):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        op._refresh_and_update()
    op.cancel()
    with pytest.raises(gexc.GoogleAPICallError, match="cancelled"):
        op.result(polling=fast_polling, timeout=60)
    job = emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=op.metadata.graph.nodes[0].job_id)
    assert job.status.state == d.JobStatus.State.CANCELLED
    with pytest.raises(gexc.NotFound):
        emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=op.metadata.cluster_name)
    with pytest.raises(gexc.InvalidArgument, match="dag_timeout"):
        emulator_clients.workflows.instantiate_inline_workflow_template(request={"parent": PARENT, "template": {
            "id": "short", "dag_timeout": {"seconds": 60},
            "placement": {"managed_cluster": {"cluster_name": "wf-short", "config": {}}},
            "jobs": [{"step_id": "sleep", "pyspark_job": {"main_python_file_uri": slow}}]}})


def test_stored_template_with_cluster_selector_and_parameters(emu, emulator_clients, fast_polling):
    label = unique("sel")
    cluster = make_cluster(emulator_clients, fast_polling, unique("selected"), labels={"pool": label})
    bucket = unique("wfs")
    emulator_clients.storage.create_bucket(bucket)
    script = _upload(emulator_clients, bucket, "echo.py", "import sys\nprint('echo', sys.argv[1:])\n")
    template_id = unique("tmpl")
    created = emulator_clients.workflows.create_workflow_template(parent=PARENT, template={
        "id": template_id,
        "placement": {"cluster_selector": {"cluster_labels": {"pool": label}}},
        "jobs": [{"step_id": "echo", "pyspark_job": {"main_python_file_uri": script, "args": ["default"]}}],
        "parameters": [{"name": "WORD", "fields": ["jobs['echo'].pysparkJob.args[0]"]}],
    })
    assert created.version == 1 and created.name == f"{PARENT}/workflowTemplates/{template_id}"
    with pytest.raises(gexc.AlreadyExists):
        emulator_clients.workflows.create_workflow_template(parent=PARENT, template={**created_dict(created)})
    listed = [t.id for t in emulator_clients.workflows.list_workflow_templates(parent=PARENT)]
    assert template_id in listed
    op = emulator_clients.workflows.instantiate_workflow_template(
        request={"name": created.name, "parameters": {"WORD": "hello"}})
    op.result(polling=fast_polling, timeout=60)
    assert op.metadata.cluster_name == cluster.cluster_name
    job = emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=op.metadata.graph.nodes[0].job_id)
    assert list(job.pyspark_job.args) == ["hello"]
    # the selected cluster is not managed by the workflow: it stays
    assert emulator_clients.clusters.get_cluster(
        project_id=PROJECT, region=REGION, cluster_name=cluster.cluster_name).status.state == d.ClusterStatus.State.RUNNING
    emulator_clients.workflows.delete_workflow_template(name=created.name)
    with pytest.raises(gexc.NotFound):
        emulator_clients.workflows.get_workflow_template(name=created.name)
    emulator_clients.clusters.delete_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": cluster.cluster_name}).result(polling=fast_polling)


def test_invalid_templates_are_rejected(emu, emulator_clients):
    cyclic = {"id": "cyc", "placement": {"managed_cluster": {"cluster_name": "cyc", "config": {}}},
              "jobs": [{"step_id": "one", "prerequisite_step_ids": ["two"], "pyspark_job": {"main_python_file_uri": "gs://b/a.py"}},
                       {"step_id": "two", "prerequisite_step_ids": ["one"], "pyspark_job": {"main_python_file_uri": "gs://b/b.py"}}]}
    with pytest.raises(gexc.InvalidArgument, match="cycle"):
        emulator_clients.workflows.instantiate_inline_workflow_template(request={"parent": PARENT, "template": cyclic})


def created_dict(template: d.WorkflowTemplate) -> dict:
    return {"id": template.id, "placement": d.WorkflowTemplatePlacement.to_dict(template.placement),
            "jobs": [d.OrderedJob.to_dict(j) for j in template.jobs]}

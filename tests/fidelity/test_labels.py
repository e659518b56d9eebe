"""Labels follow Dataproc's rules on every resource that takes them: INVALID_ARGUMENT otherwise.

References (google-cloud-dataproc proto docstrings; REST: cloud.google.com/dataproc/docs/reference/rest/v1):
``Cluster.labels``, ``Job.labels``, ``Batch.labels``: keys 1-63 characters, values empty or 1-63 characters,
RFC 1035, "No more than 32 labels"; ``WorkflowTemplate.labels`` / ``OrderedJob.labels`` /
``ManagedCluster.labels``: keys ``[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}``, values
``[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}``, at most 32. Google Cloud's label requirements allow international
characters (lower-case letters or letters without case).
"""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.protobuf import field_mask_pb2

from .kit import PARENT, PROJECT, REGION, cluster, light_job, unique, wait_job

BAD = [{"Bad Key!": "x"}, {"1team": "data"}, {"team": "Data"}, {"team": "a" * 64},
       {f"k{i}": "v" for i in range(33)}]
GOOD = {"team": "data", "équipe": "données", "cost_center": "", "k-1": "v_2"}


@pytest.mark.parametrize("labels", BAD, ids=["bad-key", "digit-first", "upper-value", "long-value", "33-labels"])
def test_clusters_refuse_labels_dataproc_refuses(emu, emulator_clients, labels):
    with pytest.raises(gexc.InvalidArgument, match="label"):
        emulator_clients.clusters.create_cluster(request={"project_id": PROJECT, "region": REGION, "cluster": {
            "cluster_name": unique("lbl"), "labels": labels}})


def test_clusters_take_lower_case_and_international_labels_and_updates_are_checked(emu, emulator_clients,
                                                                                   fast_polling):
    made = cluster(emulator_clients, fast_polling, labels=GOOD)
    assert {k: made.labels[k] for k in GOOD} == GOOD
    with pytest.raises(gexc.InvalidArgument, match="label"):
        emulator_clients.clusters.update_cluster(request={
            "project_id": PROJECT, "region": REGION, "cluster_name": made.cluster_name,
            "cluster": {"labels": {"Team": "x"}}, "update_mask": field_mask_pb2.FieldMask(paths=["labels"])})
    emulator_clients.clusters.delete_cluster(request={"project_id": PROJECT, "region": REGION,
                                                      "cluster_name": made.cluster_name}).result(polling=fast_polling)


def test_jobs_refuse_bad_labels_on_submit_and_update(emu, emulator_clients, running):
    with pytest.raises(gexc.InvalidArgument, match="label"):
        emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION,
                                                  "job": light_job(emulator_clients, running, labels=BAD[0])})
    job = emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION,
                                                    "job": light_job(emulator_clients, running, labels=GOOD)})
    with pytest.raises(gexc.InvalidArgument, match="label"):
        emulator_clients.jobs.update_job(request={
            "project_id": PROJECT, "region": REGION, "job_id": job.reference.job_id,
            "job": {"labels": BAD[-1]}, "update_mask": field_mask_pb2.FieldMask(paths=["labels"])})
    wait_job(emulator_clients, job.reference.job_id, region=REGION)  # leave no job running for later tests


def test_batches_refuse_bad_labels(emu, emulator_clients):
    with pytest.raises(gexc.InvalidArgument, match="label"):
        emulator_clients.batches.create_batch(request={
            "parent": f"projects/{PROJECT}/locations/{REGION}", "batch_id": unique("batch"),
            "batch": {"labels": {"Env": "prod"}, "pyspark_batch": {"main_python_file_uri": "gs://b/job.py"}}})


@pytest.mark.parametrize("where", ["template", "step", "managed-cluster"])
def test_workflow_templates_refuse_bad_labels(emu, emulator_clients, where):
    template = {"id": unique("tpl"), "placement": {"managed_cluster": {"cluster_name": "etl", "config": {}}},
                "jobs": [{"step_id": "clean", "pyspark_job": {"main_python_file_uri": "gs://b/clean.py"}}]}
    target = {"template": template, "step": template["jobs"][0],
              "managed-cluster": template["placement"]["managed_cluster"]}[where]
    target["labels"] = {"Owner": "ana"}
    with pytest.raises(gexc.InvalidArgument, match="label"):
        emulator_clients.workflows.create_workflow_template(parent=PARENT, template=template)

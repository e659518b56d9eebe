"""OpenLineage for real: a ``dag.test()`` run with the OpenLineage provider on, its events in a file, Spark
properties as the Dataproc emulator recorded them.

The run happens in a subprocess so the provider's cached configuration and its listener are this run's
own. The emulator runs without Spark (jobs are accepted and marked DONE), so the run takes seconds.
The transport is composite: a file member (the events we read) and an http member that nobody
listens on (Spark could reach it; it is what ``spark_inject_transport_info`` hands to Spark).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(300)]

DAG_ID = "dagspec_lineage"
COLLECTOR = "http://127.0.0.1:9"
WORK = {"pyspark_job": {"main_python_file_uri": "gs://lin-code/count.py",
                        "args": ["gs://lin-in/words.txt", "gs://lin-out/counts"],
                        "properties": {"spark.executor.memory": "2g"}}}
PINNED = {"pyspark_job": {"main_python_file_uri": "gs://lin-code/count.py",
                          "properties": {"spark.openlineage.parentJobName": "mine",
                                         "spark.openlineage.transport.url": "http://mine"}}}
OFF = {"spark_job": {"main_class": "Count", "jar_file_uris": ["gs://lin-code/count.jar"]}}
SQL = {"spark_sql_job": {"query_list": {"queries": ["SELECT 1"]}, "properties": {"spark.sql.x": "1"}}}
BATCH = {"pyspark_batch": {"main_python_file_uri": "gs://lin-code/count.py", "args": ["--output", "gs://lin-out/b"]},
         "runtime_config": {"properties": {"spark.executor.cores": "4"}}}
TEMPLATE = {"placement": {"managedCluster": {"clusterName": "lin", "config": {}}},
            "jobs": [{"stepId": "count", "pysparkJob": {"mainPythonFileUri": "gs://lin-code/count.py",
                                                    "args": ["gs://lin-in/a", "gs://lin-out/wf"]}},
                     {"stepId": "query", "prerequisiteStepIds": ["count"],
                      "sparkSqlJob": {"queryList": {"queries": ["SELECT 1"]}}}]}

DAG_FILE = '''
"""An OpenLineage test DAG for dagspec (airflow dag file written by tests/provider/test_lineage_run.py)."""
from airflow.sdk import DAG
from dagspec.provider.operators.cluster import DataprocCreateClusterOperator, DataprocDeleteClusterOperator
from dagspec.provider.operators.job import DataprocSubmitBatchOperator, DataprocSubmitJobOperator
from dagspec.provider.operators.workflow import DataprocInstantiateWorkflowTemplateOperator

FAST = dict(deferrable=False, poll_interval=0.1)
with DAG({dag_id!r}, schedule=None, catchup=False) as dag:
    create = DataprocCreateClusterOperator(task_id="create_cluster_main", cluster="main", cluster_config={{}}, **FAST)
    jobs = [
        DataprocSubmitJobOperator(task_id="work", cluster="main", job={work!r}, openlineage_inject_transport_info=True,
                                  deferrable=True, poll_interval=0.1),  # facets come from the resumed task
        DataprocSubmitJobOperator(task_id="pinned", cluster="main", job={pinned!r},
                                  openlineage_inject_transport_info=True, **FAST),
        DataprocSubmitJobOperator(task_id="off", cluster="main", job={off!r}, openlineage_inject_parent_job_info=False,
                                  **FAST),
        DataprocSubmitJobOperator(task_id="sql", cluster="main", job={sql!r}, **FAST),
    ]
    delete = DataprocDeleteClusterOperator(task_id="delete_cluster_main", cluster="main", **FAST)
    create >> jobs >> delete.as_teardown(setups=create)
    DataprocSubmitBatchOperator(task_id="batch", batch={batch!r}, **FAST)
    DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template={template!r}, **FAST)
'''

RUN = '''
import json, sys
from airflow.dag_processing.bundles.manager import DagBundlesManager
from dagspec.dag_factory.airflow.compat import DagBag, sync_bag_to_db

DagBundlesManager().sync_bundles_to_db()
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
sync_bag_to_db(bag, "dags-folder", None)
run = bag.dags[sys.argv[2]].test()
print("RESULT " + json.dumps({"run_id": run.run_id, "state": str(run.state),
                  "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()}}), flush=True)
'''


@pytest.fixture(scope="module")
def sparkless() -> Iterator[Any]:
    """An emulator of our own that accepts jobs and marks them DONE without Spark."""
    from dagspec.provider.emulator import start_emulators

    handle = start_emulators(spark=False)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def lineage_run(sparkless: Any, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the DAG once with OpenLineage on; return the run, its events by job name, and the emulator's jobs."""
    folder = tmp_path_factory.mktemp("lineage-dags")
    events_file = folder.parent / "lineage-events.jsonl"
    (folder / f"{DAG_ID}.py").write_text(textwrap.dedent(DAG_FILE).format(
        dag_id=DAG_ID, work=WORK, pinned=PINNED, off=OFF, sql=SQL, batch=BATCH, template=TEMPLATE))
    transport = {"type": "composite", "continue_on_failure": True, "transports": {
        "events": {"type": "file", "log_file_path": str(events_file), "append": True},
        "collector": {"type": "http", "url": COLLECTOR, "endpoint": "api/v1/lineage", "timeout": 1,
                      "retry": {"total": 0}},
    }}
    env = {**os.environ, **sparkless.env(),
           "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
           "AIRFLOW__OPENLINEAGE__NAMESPACE": "dagspec-test",
           "AIRFLOW__OPENLINEAGE__SPARK_INJECT_PARENT_JOB_INFO": "True",
           "AIRFLOW__OPENLINEAGE__DISABLED": "False"}
    done = subprocess.run([sys.executable, "-c", RUN, str(folder), DAG_ID], env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-4000:]
    run = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    events: dict[str, list[dict[str, Any]]] = {}
    for line in events_file.read_text().splitlines():
        event = json.loads(line)
        events.setdefault(event["job"]["name"], []).append(event)
    with urllib.request.urlopen(f"{sparkless.admin_url}/state", timeout=10) as reply:
        state = json.load(reply)
    return {"run": run, "events": events, "jobs": state["jobs"], "emulator": sparkless}


def _job(lineage_run: dict[str, Any], task_id: str) -> dict[str, Any]:
    from dagspec.provider.naming import job_attempt_id, job_id

    wanted = job_attempt_id(job_id(DAG_ID, lineage_run["run"]["run_id"], task_id, -1), 1)
    return next(j for j in lineage_run["jobs"] if j["job_id"] == wanted)


def _task_run(lineage_run: dict[str, Any], task_id: str) -> tuple[str, dict[str, Any]]:
    """The OpenLineage run id of an Airflow task (one id across its events) and its COMPLETE event."""
    events = lineage_run["events"][f"{DAG_ID}.{task_id}"]
    run_ids = {e["run"]["runId"] for e in events}
    assert len(run_ids) == 1, run_ids
    complete = [e for e in events if e["eventType"] == "COMPLETE"]
    assert len(complete) == 1, [e["eventType"] for e in events]
    return run_ids.pop(), complete[0]


def test_the_run_succeeds_and_every_task_has_its_openlineage_events(lineage_run: dict[str, Any]) -> None:
    assert lineage_run["run"]["state"] == "success", lineage_run["run"]
    assert set(lineage_run["run"]["tasks"].values()) == {"success"}, lineage_run["run"]
    for task in ("work", "pinned", "off", "sql", "batch", "wf"):
        assert {e["eventType"] for e in lineage_run["events"][f"{DAG_ID}.{task}"]} >= {"START", "COMPLETE"}


def test_the_injected_parent_run_id_is_the_airflow_tasks_openlineage_run(lineage_run: dict[str, Any]) -> None:
    run_id, complete = _task_run(lineage_run, "work")
    props = _job(lineage_run, "work")["properties"]
    assert props["spark.openlineage.parentRunId"] == run_id
    assert props["spark.openlineage.parentJobName"] == f"{DAG_ID}.work"
    assert props["spark.openlineage.parentJobNamespace"] == "dagspec-test"
    # the root is the DAG run, as the task's own parent facet says
    root = complete["run"]["facets"]["parent"]
    assert props["spark.openlineage.rootParentRunId"] == root["run"]["runId"]
    assert props["spark.openlineage.rootParentJobName"] == root["job"]["name"] == DAG_ID
    assert props["spark.openlineage.rootParentJobNamespace"] == "dagspec-test"
    assert props["spark.executor.memory"] == "2g"  # the user's own property is kept


def test_transport_injection_hands_spark_the_http_member_of_the_transport(lineage_run: dict[str, Any]) -> None:
    props = _job(lineage_run, "work")["properties"]
    transport = {k: v for k, v in props.items() if k.startswith("spark.openlineage.transport")}
    assert transport == {
        "spark.openlineage.transport.type": "composite",
        "spark.openlineage.transport.continueOnFailure": "True",
        "spark.openlineage.transport.transports.collector.type": "http",
        "spark.openlineage.transport.transports.collector.url": COLLECTOR,
        "spark.openlineage.transport.transports.collector.endpoint": "api/v1/lineage",
        "spark.openlineage.transport.transports.collector.timeoutInMillis": "1000",
    }


def test_properties_the_user_set_are_never_overwritten_nor_completed(lineage_run: dict[str, Any]) -> None:
    assert _job(lineage_run, "pinned")["properties"] == PINNED["pyspark_job"]["properties"]


def test_the_operator_switch_turns_injection_off_and_other_job_types_are_left_alone(lineage_run: dict[str, Any]) -> None:
    assert _job(lineage_run, "off")["properties"] == {}
    assert _job(lineage_run, "sql")["properties"] == {"spark.sql.x": "1"}


def test_batches_and_inline_workflow_steps_carry_their_tasks_run_id(lineage_run: dict[str, Any],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from dagspec.provider.hooks.dataproc import DataprocHook
    from dagspec.provider.naming import batch_id

    emulator = lineage_run["emulator"]
    batch_run, _ = _task_run(lineage_run, "batch")
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    hook = DataprocHook()
    _, raw = hook.latest_batch_attempt(batch_id(DAG_ID, lineage_run["run"]["run_id"], "batch", -1))
    batch_props = dict(raw.runtime_config.properties)  # as GetBatch returns it
    hook.close()
    assert batch_props["spark.openlineage.parentRunId"] == batch_run
    assert batch_props["spark.executor.cores"] == "4"
    wf_run, _ = _task_run(lineage_run, "wf")
    steps = [j for j in lineage_run["jobs"] if j["properties"].get("spark.openlineage.parentJobName") == f"{DAG_ID}.wf"]
    assert len(steps) == 1 and steps[0]["properties"]["spark.openlineage.parentRunId"] == wf_run  # the pyspark step only


def test_the_tasks_complete_event_names_the_dataproc_job_its_cluster_and_gcs_datasets(lineage_run: dict[str, Any]) -> None:
    from dagspec.provider.naming import cluster_name

    _, complete = _task_run(lineage_run, "work")
    facet = complete["run"]["facets"]["dataproc"]
    assert facet["resource"] == "job" and facet["resourceId"] == _job(lineage_run, "work")["job_id"]
    assert facet["clusterName"] == cluster_name(DAG_ID, lineage_run["run"]["run_id"], "main")
    assert facet["jobType"] == "pyspark_job"
    assert complete["run"]["facets"]["externalQuery"]["externalQueryId"] == facet["resourceId"]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [("gs://lin-in", "words.txt")]
    assert [(d["namespace"], d["name"]) for d in complete["outputs"]] == [("gs://lin-out", "counts")]
    _, batch = _task_run(lineage_run, "batch")
    assert batch["run"]["facets"]["dataproc"]["resource"] == "batch"
    assert [(d["namespace"], d["name"]) for d in batch["outputs"]] == [("gs://lin-out", "b")]
    _, wf = _task_run(lineage_run, "wf")
    assert wf["run"]["facets"]["dataproc"]["resource"] == "workflow"
    assert set(wf["run"]["facets"]["dataproc"]["steps"]) == {"count", "query"}
    assert [(d["namespace"], d["name"]) for d in wf["inputs"]] == [("gs://lin-in", "a")]
    assert [(d["namespace"], d["name"]) for d in wf["outputs"]] == [("gs://lin-out", "wf")]

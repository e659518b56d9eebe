"""Triggers round-trip through ``serialize()`` with plain values and report one event from the emulator."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from dagspec.provider.hooks.dataproc import DataprocHook
from dagspec.provider.triggers.dataproc import DataprocBatchTrigger, DataprocClusterTrigger, DataprocJobTrigger
from provider_kit import run_trigger, write_scripts

pytestmark = pytest.mark.timeout(120)
COMMON = {"project_id": "local-project", "region": "local-region", "gcp_conn_id": "dagspec_gcp_default",
          "poll_interval": 0.05}


@pytest.mark.parametrize(
    "trigger",
    [
        DataprocClusterTrigger(cluster_name="c", **COMMON, echo={"generation": 1}),
        DataprocJobTrigger(id="j_1", **COMMON, echo={"attached": True}),
        DataprocBatchTrigger(id="b-1", **COMMON),
    ],
)
def test_serialize_is_plain_and_round_trips(trigger) -> None:
    path, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain values only
    from dagspec.dag_factory.airflow.build import import_object

    assert import_object(path)(**kwargs).serialize() == (path, kwargs)


def test_cluster_trigger_waits_for_running_and_for_absence(emu) -> None:
    hook = DataprocHook()
    name = f"trig-{uuid.uuid4().hex[:8]}"
    emu.faults.slow_create(0.5, cluster_name=name)
    hook.create_cluster(name, {}, {}, f"r-{name}")
    event = run_trigger(DataprocClusterTrigger(cluster_name=name, **COMMON, echo={"generation": 0}))
    assert event.payload["status"] == "settled" and event.payload["state"] == "RUNNING"
    assert event.payload["echo"] == {"generation": 0}
    hook.delete_cluster(name, hook.get_cluster(name).cluster_uuid, f"d-{name}")
    event = run_trigger(DataprocClusterTrigger(cluster_name=name, **COMMON))
    assert event.payload == {"status": "settled", "cluster_name": name, "exists": False, "state": None,
                             "message": "", "echo": {}}
    hook.close()


def test_job_trigger_reports_the_end_state_and_missing_jobs(emu, tmp_path: Path) -> None:
    hook = DataprocHook()
    name = f"trig-{uuid.uuid4().hex[:8]}"
    hook.create_cluster(name, {}, {}, f"r-{name}")
    run_trigger(DataprocClusterTrigger(cluster_name=name, **COMMON))
    root = write_scripts(tmp_path / "jobs")
    hook.call(hook.storage.create_bucket, f"{name}-stage")
    blob = hook.storage.bucket(f"{name}-stage").blob("fail.py")
    blob.upload_from_filename(str(root / "fail.py"))
    job = {"reference": {"job_id": f"{name}-job"}, "placement": {"cluster_name": name},
           "pyspark_job": {"main_python_file_uri": f"gs://{name}-stage/fail.py"}}
    hook.submit_job(job, f"s-{name}")
    event = run_trigger(DataprocJobTrigger(id=f"{name}-job", **COMMON, echo={"attached": True}))
    assert (event.payload["status"], event.payload["state"], event.payload["echo"]) == ("ended", "ERROR",
                                                                                       {"attached": True})
    missing = run_trigger(DataprocJobTrigger(id="no-such-job", **COMMON))
    assert missing.payload["status"] == "error" and "does not exist" in missing.payload["message"]
    hook.delete_cluster(name, None, f"d-{name}")
    hook.close()

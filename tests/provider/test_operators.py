"""The operators executed for real against the emulators: ensure/reuse/recreate/delete clusters, get-or-submit jobs."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dagspec.provider.compat import TaskDeferralTimeout, TaskDeferred
from dagspec.provider.errors import ClusterFailed, JobFailed
from dagspec.provider.hooks.dataproc import DataprocHook
from dagspec.provider.naming import cluster_name, job_attempt_id, job_id
from dagspec.provider.operators.cluster import DataprocCreateClusterOperator, DataprocDeleteClusterOperator
from dagspec.provider.operators.job import DataprocSubmitBatchOperator, DataprocSubmitJobOperator
from provider_kit import FAST, drive, write_scripts
from task_kit import context_for

pytestmark = pytest.mark.timeout(120)
CONFIG = {"software_config": {"image_version": "2.2-debian12"}}


@pytest.fixture
def run_id() -> str:
    return f"manual__{uuid.uuid4().hex[:12]}"


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    return write_scripts(tmp_path / "jobs")


@pytest.fixture
def hook(emu) -> DataprocHook:
    h = DataprocHook(sleep=lambda _s: None)
    yield h
    h.close()


def create_op(on_error: str = "recreate", deferrable: bool = False) -> DataprocCreateClusterOperator:
    return DataprocCreateClusterOperator(task_id="create_cluster_main", cluster="main", cluster_config=CONFIG,
                                         labels={"Team": "Data Eng"}, on_error=on_error, deferrable=deferrable, **FAST)


def delete_op(deferrable: bool = False) -> DataprocDeleteClusterOperator:
    return DataprocDeleteClusterOperator(task_id="delete_cluster_main", cluster="main", deferrable=deferrable, **FAST)


def submit_op(scripts: Path, script: str = "ok.py", args: list[str] | None = None, deferrable: bool = False,
              task_id: str = "clean") -> DataprocSubmitJobOperator:
    return DataprocSubmitJobOperator(
        task_id=task_id, cluster="main", files_root=str(scripts), staging_bucket="gs://dagspec-test-staging/jobs",
        job={"pyspark_job": {"main_python_file_uri": script, "args": args or []}}, deferrable=deferrable, **FAST)


def ensure_cluster(run_id: str, deferrable: bool = False) -> dict:
    return drive(create_op(deferrable=deferrable), context_for("etl", run_id, "create_cluster_main"))


def remove_cluster(run_id: str) -> None:
    drive(delete_op(), context_for("etl", run_id, "delete_cluster_main"))


def test_create_survives_lost_reply_then_reuses_and_deletes(emu, hook, run_id) -> None:
    name = cluster_name("etl", run_id, "main")
    emu.faults.fail_method("CreateCluster", "UNAVAILABLE", times=1, after=True)  # work done, reply lost
    ctx = context_for("etl", run_id, "create_cluster_main")
    result = drive(create_op(), ctx)
    assert result["cluster_name"] == name and ctx["ti"].xcom["cluster_uuid"] == result["cluster_uuid"]
    assert emu.stats.clusters_created[name] == 1
    cluster = hook.get_cluster(name)
    assert cluster.status.state.name == "RUNNING"
    assert cluster.labels["dagspec-run"] and cluster.labels["team"] == "data-eng"
    assert cluster.config.lifecycle_config.idle_delete_ttl.total_seconds() == 1800
    assert "console.cloud.google.com/dataproc/clusters/" in ctx["ti"].xcom["dagspec_cluster_link"]

    again = drive(create_op(), context_for("etl", run_id, "create_cluster_main", try_number=2))  # a retry reuses
    assert again == result and emu.stats.clusters_created[name] == 1

    remove_cluster(run_id)
    assert hook.get_cluster(name) is None
    remove_cluster(run_id)  # absent is success


def test_error_cluster_is_recreated_deferrable(emu, hook, run_id) -> None:
    name = cluster_name("etl", run_id, "main")
    emu.faults.cluster_error(cluster_name=name, detail="Insufficient 'CPUS' quota")
    result = ensure_cluster(run_id, deferrable=True)
    assert emu.stats.clusters_created[name] == 2
    assert hook.get_cluster(name).cluster_uuid == result["cluster_uuid"]
    remove_cluster(run_id)
    assert hook.get_cluster(name) is None


def test_error_cluster_with_policy_fail_leaves_nothing(emu, hook, run_id) -> None:
    name = cluster_name("etl", run_id, "main")
    emu.faults.cluster_error(cluster_name=name, detail="Insufficient 'CPUS' quota")
    with pytest.raises(ClusterFailed, match="on_error=fail"):
        drive(create_op(on_error="fail"), context_for("etl", run_id, "create_cluster_main"))
    assert hook.get_cluster(name) is None and emu.stats.clusters_created[name] == 1


def test_someone_elses_cluster_is_neither_used_nor_deleted(emu, hook, run_id) -> None:
    name = cluster_name("etl", run_id, "main")
    hook.create_cluster(name, CONFIG, {"owner": "someone-else"}, "foreign-create")
    with pytest.raises(ClusterFailed, match="not created by this run"):
        drive(create_op(deferrable=True), context_for("etl", run_id, "create_cluster_main"))
    remove_cluster(run_id)
    assert hook.get_cluster(name) is not None  # left alone
    hook.delete_cluster(name, None, "foreign-delete")


@pytest.mark.spark  # the emulator runs the job script with local Spark
def test_submit_survives_lost_reply_and_writes_result(emu, hook, run_id, scripts) -> None:
    ensure_cluster(run_id)
    try:
        emu.faults.fail_method("SubmitJob", "UNAVAILABLE", times=1, after=True)
        out = f"gs://dagspec-test-out/{run_id}"
        ctx = context_for("etl", run_id, "clean")
        returned = drive(submit_op(scripts, args=[out]), ctx)
        assert returned == job_id("etl", run_id, "clean", -1)
        assert emu.stats.jobs_started[returned] == 1 and len(emu.stats.jobs_started) == 1
        assert ctx["ti"].xcom["dagspec_job_link"].endswith(f"{returned}?region=local-region&project=local-project")
        bucket, prefix = out[5:].split("/", 1)
        assert hook.storage.bucket(bucket).blob(f"{prefix}/result.txt").download_as_bytes() == b"ok\n"
        # the staged main file is content-addressed and reused by the next submission
        staged = [b.name for b in hook.storage.list_blobs("dagspec-test-staging", prefix="jobs/")]
        assert len(staged) == 1 and staged[0].endswith("/ok.py")
    finally:
        remove_cluster(run_id)


@pytest.mark.spark  # the emulator runs the job script with local Spark
def test_retry_after_crash_reattaches_to_the_running_job(emu, hook, run_id, scripts) -> None:
    ensure_cluster(run_id)
    try:
        base = job_id("etl", run_id, "slow", -1)
        first = submit_op(scripts, "slow.py", ["2"], deferrable=True, task_id="slow")
        with pytest.raises(TaskDeferred):  # submitted, then the worker "dies" while deferred
            first.execute(context_for("etl", run_id, "slow"))
        retry = submit_op(scripts, "slow.py", ["2"], deferrable=False, task_id="slow")
        assert retry.execute(context_for("etl", run_id, "slow", try_number=2)) == base
        assert dict(emu.stats.jobs_started) == {base: 1}
        assert emu.stats.calls["SubmitJob"] == 1
    finally:
        remove_cluster(run_id)


@pytest.mark.spark  # the emulator runs the job script with local Spark
def test_failed_job_reports_output_and_a_retry_submits_a_new_attempt(emu, hook, run_id, scripts) -> None:
    ensure_cluster(run_id)
    try:
        base = job_id("etl", run_id, "clean", -1)
        with pytest.raises(JobFailed) as failure:
            drive(submit_op(scripts, "fail.py", deferrable=True), context_for("etl", run_id, "clean"))
        assert "bad input: column price is missing" in failure.value.output_tail
        assert "working on step 59" in str(failure.value) and "console.cloud.google.com" in str(failure.value)
        with pytest.raises(JobFailed):  # try 2: the failed attempt belongs to try 1, so attempt 2 runs
            drive(submit_op(scripts, "fail.py"), context_for("etl", run_id, "clean", try_number=2))
        assert dict(emu.stats.jobs_started) == {base: 1, job_attempt_id(base, 2): 1}
    finally:
        remove_cluster(run_id)


@pytest.mark.spark  # the emulator runs the job script with local Spark
def test_deferral_timeout_cancels_the_job(emu, hook, run_id, scripts) -> None:
    from airflow.sdk.bases.operator import TriggerFailureReason

    ensure_cluster(run_id)
    try:
        op = submit_op(scripts, "slow.py", ["30"], deferrable=True, task_id="slow")
        ctx = context_for("etl", run_id, "slow")
        with pytest.raises(TaskDeferred):
            op.execute(ctx)
        with pytest.raises(TaskDeferralTimeout):
            op.resume_execution("__fail__", {"error": TriggerFailureReason.TRIGGER_TIMEOUT}, ctx)
        job = hook.get_job(job_id("etl", run_id, "slow", -1))
        assert job.status.state.name in ("CANCEL_PENDING", "CANCEL_STARTED", "CANCELLED")
    finally:
        remove_cluster(run_id)


@pytest.mark.spark  # the emulator runs the job script with local Spark
def test_cluster_selected_by_labels(emu, hook, run_id, scripts) -> None:
    ensure_cluster(run_id)
    try:
        op = DataprocSubmitJobOperator(task_id="pick", cluster_labels={"dagspec-run": run_id.replace("_", "_")},
                                       files_root=str(scripts), job={"pyspark_job": {"main_python_file_uri": "ok.py",
                                                                                     "args": ["gs://dagspec-test-out/x"]}},
                                       deferrable=False, **FAST)
        ctx = context_for("etl", run_id, "pick")
        assert drive(op, ctx)
        assert ctx["ti"].xcom["cluster_name"] == cluster_name("etl", run_id, "main")
    finally:
        remove_cluster(run_id)


@pytest.mark.spark  # the emulator runs the job script with local Spark
def test_batch_get_or_submit(emu, hook, run_id, scripts) -> None:
    op = DataprocSubmitBatchOperator(task_id="report", files_root=str(scripts), staging_bucket="gs://dagspec-test-staging",
                                     batch={"pyspark_batch": {"main_python_file_uri": "ok.py",
                                                              "args": [f"gs://dagspec-test-out/{run_id}-batch"]}},
                                     deferrable=True, **FAST)
    ctx = context_for("etl", run_id, "report")
    first = drive(op, ctx)
    again = drive(op, context_for("etl", run_id, "report", try_number=2))
    assert first == again and emu.stats.batches_started[first] == 1
    assert "dataproc/batches/local-region/" in ctx["ti"].xcom["dagspec_batch_link"]


@pytest.mark.spark  # the emulator runs the job script with local Spark
def test_on_kill_cancels_the_followed_job(emu, hook, run_id, scripts) -> None:
    import threading
    import time

    ensure_cluster(run_id)
    try:
        op = submit_op(scripts, "slow.py", ["30"], deferrable=False, task_id="slow")
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                op.execute(context_for("etl", run_id, "slow"))
            except BaseException as exc:  # noqa: BLE001 - the test inspects it
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        base = job_id("etl", run_id, "slow", -1)
        for _ in range(200):
            job = hook.get_job(base)
            if job is not None and job.status.state.name == "RUNNING" and getattr(op, "_active_id", None):
                break
            time.sleep(0.05)
        op.on_kill()  # what Airflow calls on SIGTERM or after an execution timeout
        worker.join(60)
        assert not worker.is_alive()
        assert hook.get_job(base).status.state.name == "CANCELLED"
        assert isinstance(outcome[0], JobFailed) and outcome[0].state == "CANCELLED"
    finally:
        remove_cluster(run_id)

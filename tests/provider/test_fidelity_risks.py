"""The provider where Dataproc is less kind than the emulator used to be (issue 13, provider risks 2-6).

Each test runs in both request_id replay modes of the emulator (``emu_modes``): the provider must
not depend on how long, or whether, Dataproc replays a request id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagspec.provider import errors
from dagspec.provider.hooks.dataproc import DataprocHook
from dagspec.provider.naming import cluster_name, job_id
from dagspec.provider.operators.cluster import DataprocCreateClusterOperator
from dagspec.provider.operators.job import DataprocSubmitJobOperator
from dagspec.provider.storage import DriverOutput
from provider_kit import FAST, write_scripts
from task_kit import context_for

pytestmark = pytest.mark.timeout(120)
CONFIG = {"software_config": {"image_version": "2.2-debian12"}}


def _until(predicate: Any, what: str, tries: int = 400) -> Any:
    for _ in range(tries):
        value = predicate()
        if value:
            return value
        time.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def run_id() -> str:
    return f"manual__{uuid.uuid4().hex[:12]}"


@pytest.fixture
def hook(emu_modes: Any) -> Any:
    h = DataprocHook(sleep=lambda _s: None)
    yield h
    h.close()


def _create_op() -> DataprocCreateClusterOperator:
    return DataprocCreateClusterOperator(task_id="create_cluster_main", cluster="main", cluster_config=CONFIG,
                                         deferrable=False, **FAST)


def _cluster(run_id: str) -> dict[str, str]:
    return _create_op().execute(context_for("etl", run_id, "create_cluster_main"))


def _light_job(hook: Any, cluster: str, script: str, **extra: Any) -> Any:
    bucket = "dagspec-fidelity"
    if hook.storage.lookup_bucket(bucket) is None:
        hook.storage.create_bucket(bucket)
    name = f"light-{uuid.uuid4().hex[:8]}.py"
    hook.storage.bucket(bucket).blob(name).upload_from_string(script)
    jid = f"fid-{uuid.uuid4().hex[:12]}"
    job = {"reference": {"job_id": jid}, "placement": {"cluster_name": cluster},
           "pyspark_job": {"main_python_file_uri": f"gs://{bucket}/{name}"}, **extra}
    return hook.submit_job(job, f"rq-{jid}")


# -- risk 2: a cancel in SETUP_DONE ------------------------------------------------------------------

def _ended(hook: Any, jid: str) -> Any:
    return _until(lambda: (j := hook.get_job(jid)) is not None and j.done and j, "the job to end")


@pytest.fixture
def held_in_setup_done(emu_modes, hook, run_id) -> Any:
    """``with held_in_setup_done(seconds, script) as jid``: a light job that stays in SETUP_DONE for ``seconds``.

    The emulator's setup delay is slowed only until the job reaches SETUP_DONE (later jobs run at the usual
    pace); leaving the block waits for the job to end, so it never runs on into a later test.
    """

    @contextlib.contextmanager
    def hold(seconds: float, script: str = "print('x')\n") -> Iterator[str]:
        name = _cluster(run_id)["cluster_name"]
        saved = emu_modes.backend.delays
        emu_modes.backend.delays = dataclasses.replace(saved, job_setup=seconds)
        try:
            jid = _light_job(hook, name, script).reference.job_id
            _until(lambda: hook.get_job(jid).status.state.name == "SETUP_DONE", "SETUP_DONE")
        finally:
            emu_modes.backend.delays = saved
        yield jid
        _ended(hook, jid)

    return hold


def test_a_cancel_refused_in_setup_done_is_retried_until_the_job_is_cancelled(emu_modes, hook,
                                                                              held_in_setup_done) -> None:
    with held_in_setup_done(1.5, "print('should never run')\n") as jid:
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:  # the fake pause lets the job move on to RUNNING
            sleeps.append(seconds)
            _until(lambda: hook.get_job(jid).status.state.name != "SETUP_DONE", "the end of SETUP_DONE")

        canceller = DataprocHook(sleep=sleep)
        assert canceller.cancel_job(jid) is True
        assert _ended(hook, jid).status.state.name == "CANCELLED"
        assert 1 <= len(sleeps) <= 3
        assert emu_modes.stats.jobs_started.get(jid, 0) <= 1
        canceller.close()


def test_a_cancel_that_never_takes_is_bounded_and_logged_as_an_error(held_in_setup_done, capsys) -> None:
    with held_in_setup_done(3.0, "print('late')\n") as jid:
        sleeps: list[float] = []
        canceller = DataprocHook(sleep=sleeps.append)  # no real time passes: the job stays in SETUP_DONE
        assert canceller.cancel_job(jid, budget=20.0) is False
        assert 3 <= len(sleeps) <= 8 and sum(sleeps) >= 20.0
        assert "KEEPS RUNNING" in capsys.readouterr().out  # the task log says so, loudly
        canceller.close()


# -- risk 3: driver output read like Dataproc's CLI --------------------------------------------------

class _RacingHook(DataprocHook):
    """A hook whose first read of ``.000000000`` is followed at once by the writer's next step (the race)."""

    def __init__(self, on_first_read: Any) -> None:
        super().__init__(sleep=lambda _s: None)
        self._on_first_read = on_first_read

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().call(fn, *args, **kwargs)
        blob = getattr(fn, "__self__", None)
        if getattr(fn, "__name__", "") == "download_as_bytes" and str(getattr(blob, "name", "")).endswith(".000000000"):
            hook, self._on_first_read = self._on_first_read, None
            if hook is not None:
                hook()
        return result


def test_a_driver_output_object_that_grows_after_being_read_loses_no_line(emu_modes) -> None:
    bucket = f"out-{uuid.uuid4().hex[:8]}"
    plain = DataprocHook()
    plain.storage.create_bucket(bucket)
    b = plain.storage.bucket(bucket)
    b.blob("d/driveroutput.000000000").upload_from_string("line1\n")

    def writer_moves_on() -> None:  # Dataproc appends line2, then starts the next object
        b.blob("d/driveroutput.000000000").upload_from_string("line1\nline2\n")
        b.blob("d/driveroutput.000000001").upload_from_string("line3\n")

    racing = _RacingHook(writer_moves_on)
    reader = DriverOutput(racing, f"gs://{bucket}/d/driveroutput")
    seen = reader.read_new()
    seen += reader.read_new()
    b.blob("d/driveroutput.000000002").upload_from_string("")  # the end marker
    seen += reader.finish(timeout=0)
    assert seen == ["line1", "line2", "line3"] and reader.ended
    racing.close()
    plain.close()


def test_the_reader_waits_for_the_end_marker_and_gives_up_after_its_timeout(emu_modes) -> None:
    bucket = f"out-{uuid.uuid4().hex[:8]}"
    hook = DataprocHook()
    hook.storage.create_bucket(bucket)
    b = hook.storage.bucket(bucket)
    b.blob("d/driveroutput.000000000").upload_from_string("a\nb")
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds
        if len(sleeps) == 2:  # the driver's last words, then the marker
            b.blob("d/driveroutput.000000000").upload_from_string("a\nb\nc\n")
            b.blob("d/driveroutput.000000001").upload_from_string("")

    reader = DriverOutput(hook, f"gs://{bucket}/d/driveroutput", sleep=sleep, clock=lambda: now[0])
    assert reader.finish(timeout=60, interval=1) == ["a", "b", "c"]
    assert reader.ended and len(sleeps) == 2
    # no marker ever: bounded by the timeout, and the partial last line is still returned
    b.blob("e/driveroutput.000000000").upload_from_string("x\ny")
    sleeps.clear()
    lonely = DriverOutput(hook, f"gs://{bucket}/e/driveroutput", sleep=sleep, clock=lambda: now[0])
    assert lonely.finish(timeout=5, interval=1) == ["x", "y"]
    assert not lonely.ended and len(sleeps) == 5
    hook.close()


# -- risk 4: no hot loop after a create --------------------------------------------------------------

def test_a_cluster_deleted_by_hand_while_creating_is_created_again_without_spinning(emu_modes, hook, run_id) -> None:
    emu = emu_modes
    name = cluster_name("etl", run_id, "main")
    emu.faults.slow_create(1.0, cluster_name=name)
    op = _create_op()
    sleeps: list[int] = []

    def sleep() -> None:
        sleeps.append(1)
        if len(sleeps) == 1:  # someone deletes the cluster while it is CREATING
            found = _until(lambda: hook.get_cluster(name), "the cluster")
            hook.delete_cluster(name, found.cluster_uuid, f"hand-{uuid.uuid4().hex[:8]}")
            _until(lambda: hook.get_cluster(name) is None, "the cluster to vanish")
        time.sleep(0.05)

    op.sleep = sleep  # type: ignore[method-assign]
    outcome: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: outcome.update(r=op.execute(context_for("etl", run_id, "x"))))
    worker.start()
    worker.join(10)
    if worker.is_alive():  # a spin: stop it by refusing further creates
        emu.faults.fail_method("CreateCluster", "INVALID_ARGUMENT", times=10**6)
        worker.join(30)
    creates = emu.stats.calls["CreateCluster"]
    emu.faults.clear()
    assert creates == 2, f"{creates} CreateCluster calls"
    assert outcome["r"]["cluster_name"] == name
    assert len(sleeps) <= 20


# -- risk 5: ERROR_DUE_TO_UPDATE -------------------------------------------------------------------

def test_a_cluster_in_error_due_to_update_is_reused_and_still_runs_jobs(emu_modes, hook, run_id) -> None:
    from dagspec.provider.emulator.messages import ClusterState

    emu = emu_modes
    first = _cluster(run_id)
    record = emu.backend.cluster(hook.project_id, hook.region, first["cluster_name"])
    with emu.backend.lock:
        record.pb.status.state = ClusterState.ERROR_DUE_TO_UPDATE
    again = _create_op().execute(context_for("etl", run_id, "create_cluster_main", try_number=2))
    assert again == first  # the same cluster: not deleted under its jobs
    assert first["cluster_name"] not in emu.stats.clusters_deleted
    job = _light_job(hook, first["cluster_name"], "print('still works')\n")
    done = _until(lambda: (j := hook.get_job(job.reference.job_id)) is not None and j.done and j, "the job")
    assert done.status.state.name == "DONE"


# -- risk 6: a restartable job's second driver attempt ----------------------------------------------

class _Lines:
    """A task log that keeps its lines (the test's own stand-in for the task logger)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def _keep(self, message: str, *args: Any, **_: Any) -> None:
        self.lines.append(message % args if args else message)

    info = warning = error = debug = exception = _keep


class _Recording(DataprocSubmitJobOperator):
    @property
    def lines(self) -> list[str]:
        return self.__dict__.setdefault("_lines", [])

    @property
    def log(self) -> Any:  # type: ignore[override]
        return _Lines(self.lines)


def test_the_driver_output_of_a_restarted_job_follows_the_current_attempt(emu_modes, hook, run_id, tmp_path: Path,
                                                                          capsys) -> None:
    emu = emu_modes
    _cluster(run_id)
    scripts = write_scripts(tmp_path / "jobs")
    (scripts / "restart.py").write_text("print('second attempt says hi')\n")
    marker = f"restart-{uuid.uuid4().hex[:8]}"
    emu.faults.restart_driver(marker=marker, message="driver lost")
    op = _Recording(
        task_id="restartable", cluster="main", files_root=str(scripts), staging_bucket="gs://dagspec-test-staging/r",
        job={"pyspark_job": {"main_python_file_uri": "restart.py", "args": [marker]},
             "scheduling": {"max_failures_per_hour": 1}}, deferrable=False, **FAST)
    assert op.execute(context_for("etl", run_id, "restartable")) == job_id("etl", run_id, "restartable")
    job = hook.get_job(job_id("etl", run_id, "restartable"))
    assert [s.state.name for s in job.status_history][-2:] == ["ATTEMPT_FAILURE", "RUNNING"]
    assert job.driver_output_resource_uri.endswith("/attempt-2/driveroutput")
    log = "\n".join(op.lines)
    assert "[driver] Injected failure: driver lost" in log  # the first attempt's output
    assert "[driver] second attempt says hi" in log  # and the current attempt's


def test_the_emulator_refuses_a_cancel_in_setup_done(hook, held_in_setup_done) -> None:
    with held_in_setup_done(1.0) as jid, pytest.raises(errors.PreconditionFailed):
        hook.call(hook.jobs.cancel_job, request={"project_id": hook.project_id, "region": hook.region, "job_id": jid})

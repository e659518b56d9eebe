"""A deferred Dataproc wait that succeeds ends its task in the triggerer; a failure resumes on a worker.

The operators run for real against the emulator; the events they get back are handed to Airflow's
own trigger-event handling (``Trigger.submit_event``) for a task instance in a real metadata DB.
"""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from dagspec.dag_factory.airflow.build import import_object
from dagspec.provider.compat import AIRFLOW_V_3_PLUS, TaskDeferred
from dagspec.provider.emulator.runner import SIMULATE_OUTCOME, SIMULATE_SECONDS
from dagspec.provider.errors import JobFailed
from dagspec.provider.naming import job_attempt_id, job_id
from dagspec.provider.operators import base as operator_base
from dagspec.provider.operators.cluster import DataprocCreateClusterOperator, DataprocDeleteClusterOperator
from dagspec.provider.operators.job import DataprocSubmitJobOperator
from provider_kit import FAST, drive, ended_in_triggerer
from task_kit import context_for

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(180)]
# the tests that hand events to Airflow's own trigger-event handling use Airflow 3's DAG file and DB models
airflow_3 = pytest.mark.skipif(not AIRFLOW_V_3_PLUS, reason="a real DAG run and trigger row, as Airflow 3 stores them")

DAG_ID = "dagspec_end_from_trigger"
DAG_FILE = '''
"""A dagspec test DAG (airflow dag file written by tests/provider/test_end_from_trigger.py)."""
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule=None, catchup=False) as dag:
    for task_id in ("clean", "broken", "create_cluster_main", "delete_cluster_main"):
        EmptyOperator(task_id=task_id)
'''


@pytest.fixture(scope="module")
def dag_run(airflow_db: Path) -> Any:
    """A real run of a DAG whose task ids match the operators below (their task instances get deferred)."""
    from dagspec.dag_factory.airflow.compat import DagBag

    path = airflow_db / "dags" / f"{DAG_ID}.py"
    path.write_text(textwrap.dedent(DAG_FILE).format(dag_id=DAG_ID))
    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(DAG_ID).test()


def job_op(outcome: str, task_id: str) -> DataprocSubmitJobOperator:
    """A job in the emulator's load-test mode (no Spark: it runs on every Airflow line the repo tests)."""
    properties = {SIMULATE_SECONDS: "0.3", SIMULATE_OUTCOME: outcome}
    return DataprocSubmitJobOperator(
        task_id=task_id, cluster_name="shared-end-trigger",
        job={"pyspark_job": {"main_python_file_uri": "gs://dagspec-test-staging/noop.py", "properties": properties}},
        deferrable=True, **FAST)


async def _first(trigger: Any) -> Any:
    async for event in trigger.run():
        return event
    return None


def deferred(op: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as info:
        op.execute(context)
    return info.value


class Lines:
    """A logger that keeps each message it is given (what the triggerer writes into the task log)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _keep(self, msg: str, *args: Any, **_: Any) -> None:
        self.lines.append(msg % args if args else msg)

    info = warning = error = debug = exception = _keep


def run_in_triggerer(dag_run: Any, task_id: str, deferral: TaskDeferred, log: Lines | None = None) -> tuple[Any, Any]:
    """Defer the run's task instance on the trigger (as Airflow stores it), run the trigger, submit its event.

    Returns (the event, the task instance as Airflow's event handling left it).
    """
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import delete, select

    classpath, kwargs = deferral.trigger.serialize()
    with create_session() as session:
        row = Trigger(classpath=classpath, kwargs=kwargs)
        session.add(row)
        session.flush()
        ti = session.scalar(select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == dag_run.run_id,
                                                       TaskInstance.task_id == task_id))
        session.execute(delete(XComModel).where(XComModel.dag_id == DAG_ID, XComModel.run_id == dag_run.run_id,
                                                XComModel.task_id == task_id))
        ti.state = TaskInstanceState.DEFERRED
        ti.trigger_id = row.id
        ti.next_method = deferral.method_name
        ti.next_kwargs = deferral.kwargs
        trigger_id = row.id
    rebuilt = import_object(classpath)(**row.kwargs)  # as the triggerer rebuilds it from the row
    if log is not None:
        rebuilt._log = log  # the triggerer routes this logger's lines into the task's log
    event = asyncio.run(_first(rebuilt))
    with create_session() as session:
        Trigger.submit_event(trigger_id=trigger_id, event=event, session=session)
    with create_session() as session:
        ti = session.scalar(select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == dag_run.run_id,
                                                       TaskInstance.task_id == task_id))
        session.expunge(ti)
    return event, ti


def stored_xcoms(dag_run: Any, task_id: str) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(XComModel).where(XComModel.dag_id == DAG_ID, XComModel.run_id == dag_run.run_id,
                                                      XComModel.task_id == task_id)).all()
        return {row.key: XComModel.deserialize_value(row) for row in rows}


@pytest.fixture
def shared_cluster(emu) -> str:
    """A RUNNING cluster the jobs run on (made by a non-deferrable create in its own run)."""
    from dagspec.provider.hooks.dataproc import DataprocHook

    hook = DataprocHook(sleep=lambda _s: None)
    hook.create_cluster("shared-end-trigger", {}, {}, f"create-{uuid.uuid4().hex[:12]}")
    for _ in range(200):
        observed, _raw = hook.observe_cluster("shared-end-trigger")
        if observed.state == "RUNNING":
            break
        import time

        time.sleep(0.05)
    hook.close()
    return "shared-end-trigger"


@airflow_3
def test_a_deferred_jobs_success_ends_the_task_in_the_triggerer_with_its_xcoms_and_log_lines(
        dag_run, emu, shared_cluster) -> None:
    context = context_for(DAG_ID, dag_run.run_id, "clean")
    deferral = deferred(job_op("DONE", "clean"), context)
    log = Lines()

    event, ti = run_in_triggerer(dag_run, "clean", deferral, log)

    assert ended_in_triggerer(event)
    assert ti.state == "success" and ti.trigger_id is None  # no worker picks it up again
    work_id = job_attempt_id(job_id(DAG_ID, dag_run.run_id, "clean", -1), 1)
    xcoms = stored_xcoms(dag_run, "clean")
    assert xcoms["job_id"] == xcoms["return_value"] == work_id
    assert xcoms["dagspec_job_link"].startswith("https://console.cloud.google.com/dataproc/jobs/" + work_id)
    assert log.lines[-3:] == ["[driver] [dataproc-emulator] simulated job: 0.3s, then DONE",
                              "[driver] [dataproc-emulator] simulated job finished: DONE", f"job {work_id} succeeded"]


def test_the_xcoms_pushed_from_the_triggerer_equal_those_the_worker_pushes(emu, shared_cluster) -> None:
    run_id = f"manual__{uuid.uuid4().hex[:12]}"
    in_triggerer = context_for(DAG_ID, run_id, "clean")
    drive(job_op("DONE", "clean"), in_triggerer)
    on_worker = context_for(DAG_ID, run_id, "clean")  # the same job, found done: the worker's own finish
    returned = job_op("DONE", "clean").execute(on_worker)
    submitted = {"cluster_name": "shared-end-trigger"}  # pushed by the worker that submitted the job
    assert in_triggerer["ti"].xcom == {**on_worker["ti"].xcom, "return_value": returned, **submitted}


@airflow_3
def test_a_failed_job_resumes_on_a_worker_which_fails_the_try_and_the_retry_submits_the_next_attempt(
        dag_run, emu, shared_cluster) -> None:
    context = context_for(DAG_ID, dag_run.run_id, "broken")
    op = job_op("ERROR", "broken")
    deferral = deferred(op, context)

    event, ti = run_in_triggerer(dag_run, "broken", deferral)

    assert not ended_in_triggerer(event) and event.payload["state"] == "ERROR"
    assert ti.state == "scheduled" and ti.next_method == "execute_complete"  # back to a worker, as before
    with pytest.raises(JobFailed) as failed:
        op.execute_complete(context, event=event.payload, **(deferral.kwargs or {}))
    assert "ended in ERROR" in str(failed.value) and "simulated job finished: ERROR" in failed.value.output_tail
    retry = context_for(DAG_ID, dag_run.run_id, "broken", try_number=2)
    again = deferred(job_op("ERROR", "broken"), retry)
    assert again.trigger.id == job_attempt_id(job_id(DAG_ID, dag_run.run_id, "broken", -1), 2)


def test_without_the_end_event_class_the_task_resumes_on_a_worker_as_before(
        emu, shared_cluster, monkeypatch) -> None:
    monkeypatch.setattr(operator_base, "TaskSuccessEvent", None)  # what provider/compat gives on such a line
    run_id = f"manual__{uuid.uuid4().hex[:12]}"
    context = context_for(DAG_ID, run_id, "clean")
    deferral = deferred(job_op("DONE", "clean"), context)
    assert "finish" not in deferral.trigger.serialize()[1]

    returned = drive_from(deferral, job_op("DONE", "clean"), context)

    assert returned == context["ti"].xcom["job_id"] == job_attempt_id(job_id(DAG_ID, run_id, "clean", -1), 1)


def test_end_from_trigger_can_be_switched_off_in_the_dagspec_config(emu, shared_cluster, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__DAGSPEC__END_FROM_TRIGGER", "False")
    context = context_for(DAG_ID, f"manual__{uuid.uuid4().hex[:12]}", "clean")
    deferral = deferred(job_op("DONE", "clean"), context)
    assert "finish" not in deferral.trigger.serialize()[1]


def drive_from(deferral: TaskDeferred, op: Any, context: dict[str, Any]) -> Any:
    """Run the deferral's trigger and resume ``op`` on it, as a worker would; the event must not end the task."""
    path, kwargs = deferral.trigger.serialize()
    event = asyncio.run(_first(import_object(path)(**kwargs)))
    assert not ended_in_triggerer(event)
    return getattr(op, deferral.method_name)(context, event=event.payload, **(deferral.kwargs or {}))


@airflow_3
def test_a_created_cluster_and_a_deleted_one_end_their_tasks_in_the_triggerer(dag_run, emu) -> None:
    create = DataprocCreateClusterOperator(task_id="create_cluster_main", cluster="main", cluster_config={},
                                           deferrable=True, **FAST)
    context = context_for(DAG_ID, dag_run.run_id, "create_cluster_main")
    event, ti = run_in_triggerer(dag_run, "create_cluster_main", deferred(create, context))
    assert ended_in_triggerer(event) and ti.state == "success"
    xcoms = stored_xcoms(dag_run, "create_cluster_main")
    assert xcoms["return_value"] == {"cluster_name": xcoms["cluster_name"], "cluster_uuid": xcoms["cluster_uuid"]}
    assert xcoms["cluster_uuid"] and "dagspec_cluster_link" in xcoms

    delete = DataprocDeleteClusterOperator(task_id="delete_cluster_main", cluster="main", deferrable=True, **FAST)
    context = context_for(DAG_ID, dag_run.run_id, "delete_cluster_main")
    event, ti = run_in_triggerer(dag_run, "delete_cluster_main", deferred(delete, context))
    assert ended_in_triggerer(event) and ti.state == "success"
    from dagspec.provider.hooks.dataproc import DataprocHook

    hook = DataprocHook()
    try:
        assert hook.get_cluster(xcoms["cluster_name"]) is None
    finally:
        hook.close()

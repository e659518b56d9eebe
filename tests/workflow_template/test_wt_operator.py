"""DataprocInstantiateWorkflowTemplateOperator on the emulator: parameters, reattach, cancel (light jobs only)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from airflow.sdk.module_loading import import_string
from dagspec.provider.compat import TaskDeferralTimeout, TaskDeferred
from dagspec.provider.errors import ConfigurationError, JobFailed
from dagspec.provider.hooks.workflow import WorkflowHook, workflow_progress
from dagspec.provider.naming import workflow_key
from dagspec.provider.operators.workflow import DataprocInstantiateWorkflowTemplateOperator
from task_kit import context_for
from wt_kit import LIGHT_JOB

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

BUCKET = "dagspec-wft"
SLOW_JOB = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"


def _template(bucket: str = BUCKET) -> dict[str, Any]:
    light = f"gs://{bucket}/light.py"
    return {
        "id": "params-demo",
        "placement": {"managedCluster": {"clusterName": "wft", "config": {}}},
        "jobs": [
            {"stepId": "first", "pysparkJob": {"mainPythonFileUri": light, "args": ["VALUE", "first"]}},
            {"stepId": "second", "prerequisiteStepIds": ["first"],
             "pysparkJob": {"mainPythonFileUri": light, "args": ["VALUE", "second"]}},
        ],
        "parameters": [{"name": "VALUE", "fields": ["jobs['first'].pysparkJob.args[0]", "jobs['second'].pysparkJob.args[0]"],
                        "validation": {"regex": {"regexes": ["[a-z]+"]}}}],
    }


@pytest.fixture
def hook(emu: Any) -> Any:
    hook = WorkflowHook()
    if hook.storage.lookup_bucket(BUCKET) is None:
        hook.storage.create_bucket(BUCKET)
    bucket = hook.storage.bucket(BUCKET)
    bucket.blob("light.py").upload_from_string(LIGHT_JOB)
    bucket.blob("slow.py").upload_from_string(SLOW_JOB)
    yield hook
    hook.close()


def _drive(op: Any, context: dict[str, Any]) -> Any:
    """Run execute; on deferral run the trigger (rebuilt from its serialized form) and resume, as Airflow does."""
    import asyncio

    try:
        return op.execute(context)
    except TaskDeferred as deferred:
        path, kwargs = deferred.trigger.serialize()
        assert json.loads(json.dumps(kwargs)) == kwargs  # plain values only (``finish``: a dict of them)

        async def first() -> Any:
            async for event in import_string(path)(**kwargs).run():
                return event

        event = asyncio.run(first())
        if getattr(event, "task_instance_state", None) is not None:  # ended in the triggerer: its XComs
            return (event.xcoms or {}).get("return_value")
        return getattr(op, deferred.method_name)(context, event=event.payload, **(deferred.kwargs or {}))


def _args(hook: Any, result: dict[str, Any]) -> dict[str, list[str]]:
    return {step: list(hook.get_job(job_id).pyspark_job.args) for step, job_id in result["jobs"].items()}


def test_stored_template_runs_twice_with_the_given_values(hook: Any, emu: Any, emulator_clients: Any) -> None:
    parent = f"projects/{hook.project_id}/regions/{hook.region}"
    stored = _template()
    stored["id"] = f"params-demo-{int(time.time() * 1000) % 10**6}"
    from google.cloud import dataproc_v1
    from google.protobuf import json_format

    message = json_format.ParseDict(stored, dataproc_v1.WorkflowTemplate.pb()())
    emulator_clients.workflows.create_workflow_template(parent=parent, template=dataproc_v1.WorkflowTemplate.wrap(message))
    results = {}
    for run, (value, deferrable) in {"r1": ("alpha", False), "r2": ("beta", True)}.items():
        op = DataprocInstantiateWorkflowTemplateOperator(
            task_id="wf", template_name=stored["id"], parameters={"VALUE": value}, deferrable=deferrable,
            poll_interval=0.1)
        results[run] = _drive(op, context_for("wft_dag", run, "wf"))
    assert _args(hook, results["r1"]) == {"first": ["alpha", "first"], "second": ["alpha", "second"]}
    assert _args(hook, results["r2"]) == {"first": ["beta", "first"], "second": ["beta", "second"]}
    started = dict(emu.stats.jobs_started)
    assert all(started[job] == 1 for r in results.values() for job in r["jobs"].values())
    # each run had its own managed cluster, and Dataproc (the emulator) deleted it at the end
    assert results["r1"]["cluster_name"] != results["r2"]["cluster_name"]
    assert all(hook.get_cluster(r["cluster_name"]) is None for r in results.values())
    # a value the template's regex refuses is an error before anything runs
    calls = emu.stats.calls["InstantiateWorkflowTemplate"]
    bad = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template_name=stored["id"],
                                                      parameters={"VALUE": "NOT-VALID"}, deferrable=False)
    with pytest.raises(ConfigurationError, match="does not match"):
        bad.execute(context_for("wft_dag", "r3", "wf"))
    assert emu.stats.calls["InstantiateWorkflowTemplate"] == calls


def test_inline_template_parameters_and_a_retry_after_success_runs_nothing_again(hook: Any, emu_modes: Any) -> None:
    """Dataproc's workflow request_id only guards concurrent instances: in both emulator modes a retry
    after the workflow succeeded finds it by its labels, and neither instantiates nor runs a job again."""
    emu = emu_modes
    op = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_template(), parameters={"VALUE": "gamma"},
                                                     deferrable=False, poll_interval=0.1)
    run_id = f"inline-{emu.backend.workflow_replay}-{time.time_ns()}"
    first = op.execute(context_for("wft_dag", run_id, "wf"))
    assert _args(hook, first) == {"first": ["gamma", "first"], "second": ["gamma", "second"]}
    # the same task again (a retry after the workflow ended well) attaches to the same workflow
    again = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_template(), parameters={"VALUE": "gamma"},
                                                        deferrable=False, poll_interval=0.1)
    assert again.execute(context_for("wft_dag", run_id, "wf", try_number=2)) == first
    assert sum(emu.stats.jobs_started.values()) == 2
    assert emu.stats.calls["InstantiateInlineWorkflowTemplate"] == 1
    # once the operation is gone, the jobs alone tell that the workflow succeeded
    hook.call(hook.workflows.delete_operation, request={"name": first["operation"]})
    third = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_template(), parameters={"VALUE": "gamma"},
                                                        deferrable=False, poll_interval=0.1)
    assert third.execute(context_for("wft_dag", run_id, "wf", try_number=3))["jobs"] == first["jobs"]
    assert sum(emu.stats.jobs_started.values()) == 2
    with pytest.raises(ConfigurationError, match="does not match"):
        DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_template(), parameters={"VALUE": "X1"},
                                                    deferrable=False).execute(context_for("wft_dag", "inline-2", "wf"))
    with pytest.raises(ConfigurationError, match="unknown template parameters"):
        DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_template(), parameters={"OTHER": "x"},
                                                    deferrable=False).execute(context_for("wft_dag", "inline-2", "wf"))


def test_the_workflow_lookup_lists_only_the_operations_on_the_attempts_cluster(hook: Any, emu: Any) -> None:
    """A retry finds its workflow's operation with Dataproc's operations filter (``clusterName = NAME``), so the
    server does not send every operation of the region."""
    run_id = f"lookup-{time.time_ns()}"
    first = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_template(), parameters={"VALUE": "delta"},
                                                        deferrable=False, poll_interval=0.1).execute(
        context_for("wft_dag", run_id, "wf"))
    emu.stats.operation_filters.clear()
    observed, facts = hook.find_instance(workflow_key("wft_dag", run_id, "wf", None), ["first", "second"])
    assert observed is not None and observed.done and observed.name == first["operation"]
    assert facts["jobs"] == first["jobs"]
    assert dict(emu.stats.operation_filters) == {f"clusterName = {facts['cluster_name']}": 1}


def test_a_retry_while_the_workflow_runs_reattaches_and_a_failed_one_starts_a_new_attempt(
        hook: Any, emu_modes: Any) -> None:
    emu = emu_modes
    run_id = f"reattach-{emu.backend.workflow_replay}-{time.time_ns()}"
    first = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_slow_template(), deferrable=True,
                                                        poll_interval=0.1)
    context = context_for("wft_dag", run_id, "wf")
    with pytest.raises(TaskDeferred):
        first.execute(context)
    name = context["ti"].xcom["workflow_operation"]
    for _ in range(200):  # the slow step runs
        if workflow_progress(hook.get_operation(name))["steps"]["first"]["state"] == "RUNNING":
            break
        time.sleep(0.05)
    retry = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_slow_template(), deferrable=True,
                                                        poll_interval=0.1)
    retry_context = context_for("wft_dag", run_id, "wf", try_number=2)
    with pytest.raises(TaskDeferred):
        retry.execute(retry_context)
    assert retry_context["ti"].xcom["workflow_operation"] == name  # the same workflow, followed again
    assert emu.stats.calls["InstantiateInlineWorkflowTemplate"] == 1
    hook.cancel_operation(name)
    assert "cancelled" in (_wait_done(hook, name)["error"] or "").lower()
    # the next try finds attempt 1 failed: attempt 2 is a new workflow
    third = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_slow_template(), deferrable=True,
                                                        poll_interval=0.1)
    third_context = context_for("wft_dag", run_id, "wf", try_number=3)
    with pytest.raises(TaskDeferred):
        third.execute(third_context)
    assert third_context["ti"].xcom["workflow_operation"] != name
    assert emu.stats.calls["InstantiateInlineWorkflowTemplate"] == 2
    hook.cancel_operation(third_context["ti"].xcom["workflow_operation"])
    _wait_done(hook, third_context["ti"].xcom["workflow_operation"])


def _slow_template() -> dict[str, Any]:
    template = _template()
    template["jobs"][0]["pysparkJob"]["mainPythonFileUri"] = f"gs://{BUCKET}/slow.py"
    template.pop("parameters")
    return template


def _wait_done(hook: Any, name: str) -> dict[str, Any]:
    for _ in range(200):
        progress = workflow_progress(hook.get_operation(name))
        if progress["done"]:
            return progress
        time.sleep(0.05)
    raise AssertionError("the workflow did not end")


def test_deferral_timeout_cancels_the_workflow_and_its_cluster(hook: Any, emu: Any) -> None:
    op = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_slow_template(), deferrable=True,
                                                     poll_interval=0.1)
    context = context_for("wft_dag", "timeout-1", "wf")
    with pytest.raises(TaskDeferred):
        op.execute(context)
    name = context["ti"].xcom["workflow_operation"]
    for _ in range(100):  # let the slow step start
        progress = workflow_progress(hook.get_operation(name))
        if progress["steps"]["first"]["state"] == "RUNNING":
            break
        time.sleep(0.05)
    with pytest.raises(TaskDeferralTimeout):
        op.resume_execution("__fail__", {"error": "Trigger timeout"}, context)
    progress = _wait_done(hook, name)
    assert "cancelled" in (progress["error"] or "").lower()
    assert progress["steps"]["second"]["job_id"] == ""  # never started
    assert hook.get_cluster(progress["cluster_name"]) is None  # the managed cluster was deleted


def test_on_kill_cancels_a_polling_workflow(hook: Any, emu: Any) -> None:
    op = DataprocInstantiateWorkflowTemplateOperator(task_id="wf", template=_slow_template(), deferrable=False,
                                                     poll_interval=0.1)
    context = context_for("wft_dag", "kill-1", "wf")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            op.execute(context)
        except Exception as exc:  # the run ends with the cancelled workflow's failure
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    for _ in range(200):
        if getattr(op, "_active", None):
            break
        time.sleep(0.05)
    op.on_kill()
    worker.join(30)
    assert isinstance(outcome.get("error"), JobFailed)
    progress = _wait_done(hook, context["ti"].xcom["workflow_operation"])
    assert hook.get_cluster(progress["cluster_name"]) is None

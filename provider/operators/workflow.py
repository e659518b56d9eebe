"""Run a Dataproc workflow template (inline, or stored by name) as one Airflow task, and cancel it on kill.

A task's workflow has attempts 1, 2, ...; attempt ``n`` is instantiated with labels
``dagspec-workflow=<key of (dag_id, run_id, task_id, map_index)>`` and ``dagspec-workflow-attempt=n``,
which Dataproc propagates to the workflow's jobs and managed cluster. Before instantiating, the
operator looks for earlier instances by those labels (and their operation by its
``WorkflowMetadata``): a running one is followed, a successful one is the result, a failed one
belongs to an earlier try and the next attempt starts (``decide_workflow`` in ``lifecycle.py``).
The request id (one per attempt) only guards against *concurrent* instances, all that Dataproc
promises; nothing relies on it replaying a finished workflow. The operator defers to
``DataprocWorkflowTrigger`` (or polls, when not deferrable) until the workflow's operation is done;
killing the task or timing out cancels the operation, and Dataproc then cancels the jobs and deletes
the workflow's managed cluster.

A stored template is read (GetWorkflowTemplate) and instantiated inline with those labels, since
InstantiateWorkflowTemplate cannot add labels. Parameters are checked against the template's
``parameters`` (regex/values) and written into the named fields before sending it
(``inline_template`` in ``hooks/workflow.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..compat import TaskDeferralError, TaskDeferralTimeout
from ..errors import AlreadyExists, ConfigurationError, JobFailed
from ..hooks.workflow import WorkflowHook, inline_template, observed_workflow
from ..lifecycle import ObservedWorkflow, WorkflowAction, decide_workflow
from ..lineage import inject_into_template
from ..lineage_runtime import inject, job_section, operator_lineage
from ..naming import request_id, workflow_key, workflow_labels
from ..triggers.workflow import DataprocWorkflowTrigger
from .base import DataprocBaseOperator, RunIdentity

__all__ = ["DataprocInstantiateWorkflowTemplateOperator", "XCOM_OPERATION"]

XCOM_OPERATION = "workflow_operation"
_MAX_ATTEMPTS = 50
_MAX_WAITS = 120  # observations while an instance's work is seen but not its operation


class DataprocInstantiateWorkflowTemplateOperator(DataprocBaseOperator):
    """Instantiate a workflow template and wait for it; returns ``{operation, cluster_name, jobs: {step: job id}}``.

    Give exactly one of ``template`` (an inline WorkflowTemplate dict, camelCase or snake_case) and
    ``template_name`` (a stored template's id or full resource name). ``parameters`` maps parameter
    names to values (rendered by Airflow, so ``{{ params.X }}`` works).
    """

    template_fields: Sequence[str] = ("template", "template_name", "parameters", "project_id", "region", "gcp_conn_id")
    template_fields_renderers = {"template": "json", "parameters": "json"}
    ui_color = "#e4ecf7"

    def __init__(self, *, template: dict | None = None, template_name: str | None = None,
                 parameters: dict | None = None, openlineage_inject_parent_job_info: bool | None = None,
                 openlineage_inject_transport_info: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.template = template
        self.template_name = template_name
        self.parameters = parameters
        # None: [openlineage] spark_inject_*, read at run time; only an inline template is injected
        self.openlineage_inject_parent_job_info = openlineage_inject_parent_job_info
        self.openlineage_inject_transport_info = openlineage_inject_transport_info

    def hook(self) -> WorkflowHook:
        hook = getattr(self, "_hook", None)
        if hook is None:
            hook = self._hook = WorkflowHook(self.gcp_conn_id, project_id=self.project_id, region=self.region)
        return hook

    # -- run -----------------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        if bool(self.template) == bool(self.template_name):
            raise ConfigurationError("give exactly one of `template` (inline) and `template_name` (stored)")
        values = {str(k): str(v) for k, v in (self.parameters or {}).items()}
        hook = self.hook()
        if self.template:
            template = inject(inject_into_template, dict(self.template), context,
                              self.openlineage_inject_parent_job_info, self.openlineage_inject_transport_info)
        else:
            template = hook.stored_as_dict(str(self.template_name))
        inline_template(template, values)  # check the values and the template before anything starts
        steps = [str(j.get("stepId") or j.get("step_id") or "") for j in template.get("jobs") or []]
        ident = RunIdentity.of(context)
        key = workflow_key(ident.dag_id, ident.run_id, ident.task_id, ident.map_index)
        waits = 0
        returned: ObservedWorkflow | None = None  # what the last Instantiate returned
        while True:
            observed, facts = hook.find_instance(key, steps)
            if returned is not None and (observed is None or observed.attempt < returned.attempt):
                observed = returned  # an attempt that failed before leaving jobs or a cluster behind
            decision = decide_workflow(observed, max_attempts=_MAX_ATTEMPTS)
            self.log.info("workflow %s: %s -> %s", key, decision.reason, decision.action.value)
            if decision.action is WorkflowAction.INSTANTIATE:
                labels = workflow_labels(ident.dag_id, ident.run_id, ident.task_id, ident.map_index,
                                         decision.attempt)
                labelled = {**template, "labels": {**(template.get("labels") or {}), **labels}}
                rid = request_id("wf", ident.dag_id, ident.run_id, ident.task_id, ident.map_index, decision.attempt)
                try:
                    operation = hook.instantiate_inline(inline_template(labelled, values), rid)
                except AlreadyExists as exc:  # a concurrent instance with this request id: find it
                    self.log.info("workflow attempt %d is already running (%s)", decision.attempt, exc)
                    waits = self._wait_once(waits)
                    continue
                observed = returned = observed_workflow(decision.attempt, operation)
                decision = decide_workflow(observed, max_attempts=_MAX_ATTEMPTS)
                self.log.info("workflow %s (attempt %d, request %s): %s", observed.name, observed.attempt, rid,
                              decision.reason)
                if decision.action is WorkflowAction.INSTANTIATE:
                    continue  # that attempt had already failed: observe, then start the next one
            if decision.action is WorkflowAction.FAIL or observed is None:
                raise JobFailed(decision.reason, state="ERROR")
            if decision.action is WorkflowAction.DONE:
                self.log.info("workflow attempt %d succeeded earlier: %s", decision.attempt, facts["jobs"])
                return {"operation": "", "cluster_name": facts["cluster_name"], "jobs": facts["jobs"]}
            if decision.action is WorkflowAction.WAIT:
                waits = self._wait_once(waits)
                continue
            context["ti"].xcom_push(key=XCOM_OPERATION, value=observed.name)
            return self._follow(observed.name)

    def _wait_once(self, waits: int) -> int:
        """Pause before observing again; fail once an instance stayed half-seen for too long."""
        if waits >= _MAX_WAITS:
            raise JobFailed(f"an instance of this workflow is running but its operation was not found after "
                            f"{waits} observations", state="ERROR")
        self.sleep()
        return waits + 1

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        event = event if isinstance(event, dict) else {}  # dag.test() resumes an end event as its payload string
        if event.get("status") == "error":
            self.log.warning("waiting for the workflow failed: %s", event.get("message"))
        name = event.get("operation") or kwargs.get("operation")
        if not name:
            name = context["ti"].xcom_pull(task_ids=context["ti"].task_id, key=XCOM_OPERATION)
        return self._follow(str(name))

    def _follow(self, name: str) -> dict[str, Any]:
        self._active: str | None = name
        seen: dict[str, str] = {}
        try:
            while True:
                progress = self.hook().progress(name)
                for step, facts in progress["steps"].items():
                    if seen.get(step) != facts["state"]:
                        seen[step] = facts["state"]
                        self.log.info("step %s: %s %s", step, facts["state"], facts["job_id"])
                if progress["done"]:
                    return self._finish(progress)
                if self.should_defer():
                    finish = self.finish_args({})  # on success the trigger pushes what _finish returns
                    self.defer(trigger=DataprocWorkflowTrigger(operation=name, **self.trigger_args(), finish=finish),
                               method_name="execute_complete", kwargs={"operation": name})
                self.sleep()
        finally:
            self._active = None
            self.close_hook()

    def _finish(self, progress: dict[str, Any]) -> dict[str, Any]:
        jobs = {step: facts["job_id"] for step, facts in progress["steps"].items()}
        if progress["error"]:
            failed = [f"{s} ({f['job_id'] or 'no job'}: {f['error'] or f['state']})"
                      for s, f in progress["steps"].items() if f["state"] == "FAILED"]
            raise JobFailed(f"workflow {progress['operation']} failed: {progress['error']}"
                            + (f"; failed steps: {', '.join(failed)}" if failed else ""), state="ERROR")
        self.log.info("workflow %s succeeded on cluster %s: %s", progress["operation"], progress["cluster_name"], jobs)
        hook = self.hook()
        self._lineage_facts = {"resource": "workflow", "resource_id": progress["operation"],
                               "project_id": hook.project_id, "region": hook.region,
                               "cluster_name": progress["cluster_name"], "url": None, "steps": jobs}
        return {"operation": progress["operation"], "cluster_name": progress["cluster_name"], "jobs": jobs}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The workflow's operation, cluster and step jobs, and the gs:// datasets its inline jobs' args name."""
        facts = getattr(self, "_lineage_facts", None)
        if facts is None:
            return None
        steps = (self.template or {}).get("jobs") or []
        return operator_lineage(**facts, sections=[job_section(step)[1] for step in steps])

    # -- cancellation ------------------------------------------------------------------------------
    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        """Cancel the workflow when the deferral times out or fails, then fail as Airflow would."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except (TaskDeferralTimeout, TaskDeferralError):
            ti = context["ti"]
            name = ti.xcom_pull(task_ids=ti.task_id, key=XCOM_OPERATION)
            if name:
                self.log.warning("cancelling workflow %s", name)
                self.hook().cancel_operation(str(name))
                self.close_hook()
            raise

    def on_kill(self) -> None:
        """Cancel the workflow this execution follows (task killed, or timed out while polling)."""
        name = getattr(self, "_active", None)
        if name:
            self.log.warning("cancelling workflow %s", name)
            self.hook().cancel_operation(name)

"""Run a Dataproc workflow template (inline, or stored by name) as one Airflow task, and cancel it on kill.

The request id is derived from (dag_id, run_id, task_id, map_index) and an attempt number, without
the try number: a retry while the workflow still runs gets the same operation back (it reattaches);
when the earlier attempt's operation is already done with an error, the next attempt number starts
a new workflow (``decide_workflow`` in ``lifecycle.py`` decides). The operator defers to
``DataprocWorkflowTrigger`` (or polls, when not deferrable) until the workflow's operation is done;
killing the task or timing out cancels the operation, and Dataproc then cancels the jobs and deletes
the workflow's managed cluster.

Parameters: for a stored template they go with the request (Dataproc checks and applies them); an
inline template has no parameters in the API, so the operator checks them against the template's
``parameters`` (regex/values) and writes them into the named fields before sending it
(``inline_template`` in ``hooks/workflow.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..compat import TaskDeferralError, TaskDeferralTimeout
from ..errors import ConfigurationError, JobFailed
from ..hooks.workflow import WorkflowHook, inline_template, observed_workflow
from ..lifecycle import ObservedWorkflow, WorkflowAction, decide_workflow
from ..lineage import inject_into_template
from ..lineage_runtime import inject, job_section, operator_lineage
from ..naming import request_id
from ..triggers.workflow import DataprocWorkflowTrigger
from .base import DataprocBaseOperator, RunIdentity

__all__ = ["DataprocInstantiateWorkflowTemplateOperator", "XCOM_OPERATION"]

XCOM_OPERATION = "workflow_operation"
_MAX_ATTEMPTS = 50


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
        template = self.template
        if template:
            template = inject(inject_into_template, dict(template), context, self.openlineage_inject_parent_job_info,
                              self.openlineage_inject_transport_info)
        inline = inline_template(template, values) if template else None
        ident = RunIdentity.of(context)
        hook = self.hook()
        if inline is None and values:  # check the values here too: a clear error before anything starts
            hook.check_stored_parameters(str(self.template_name), values)
        observed: ObservedWorkflow | None = None
        decision = decide_workflow(observed, max_attempts=_MAX_ATTEMPTS)
        while decision.action is WorkflowAction.INSTANTIATE:
            rid = request_id("wf", ident.dag_id, ident.run_id, ident.task_id, ident.map_index, decision.attempt)
            if inline is not None:
                operation = hook.instantiate_inline(inline, rid)
            else:
                operation = hook.instantiate(str(self.template_name), values, rid)
            observed = observed_workflow(decision.attempt, operation)
            decision = decide_workflow(observed, max_attempts=_MAX_ATTEMPTS)
            self.log.info("workflow %s (attempt %d, request %s): %s", observed.name, observed.attempt, rid,
                          decision.reason)
        if decision.action is WorkflowAction.FAIL or observed is None:
            raise JobFailed(decision.reason, state="ERROR")
        context["ti"].xcom_push(key=XCOM_OPERATION, value=observed.name)
        return self._follow(observed.name)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        event = event or {}
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
                    self.defer(trigger=DataprocWorkflowTrigger(operation=name, **self.trigger_args()),
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

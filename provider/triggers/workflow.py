"""Waiting for a Dataproc workflow (an instantiated workflow template) to end, and the client calls it needs.

``WorkflowHook`` adds the WorkflowTemplateService client to ``DataprocHook`` (built the same way,
from the same settings: insecure gRPC for the emulator, the regional endpoint otherwise) with the
few calls the workflow operator makes. ``DataprocWorkflowTrigger`` only observes the workflow's
long-running operation (GetOperation), logs step progress, and yields one ``WorkflowEvent`` when
the operation is done; it serializes plain values only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from functools import cached_property
from typing import Any, TypedDict

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ..hooks.dataproc import DataprocHook

__all__ = ["WorkflowHook", "WorkflowEvent", "DataprocWorkflowTrigger", "workflow_progress"]

_CALL_TIMEOUT = 60.0


class WorkflowHook(DataprocHook):
    """``DataprocHook`` plus workflow templates: instantiate (stored or inline), observe, cancel."""

    @cached_property
    def workflows(self) -> Any:
        return self._client("workflow_template_service", "WorkflowTemplateService")

    def parent(self) -> str:
        return f"projects/{self.project_id}/regions/{self.region}"

    def template_path(self, name: str) -> str:
        """A stored template's resource name from its id (a full name is kept)."""
        return name if name.startswith("projects/") else f"{self.parent()}/workflowTemplates/{name}"

    def get_template(self, template_name: str) -> Any:
        """A stored template (``WorkflowTemplate``)."""
        return self.call(self.workflows.get_workflow_template, request={"name": self.template_path(template_name)},
                         timeout=_CALL_TIMEOUT)

    def instantiate(self, template_name: str, parameters: Mapping[str, str], request_id: str) -> Any:
        """Instantiate a stored template; returns the workflow's operation (``operations_pb2.Operation``)."""
        request = {"name": self.template_path(template_name), "parameters": dict(parameters), "request_id": request_id}
        future = self.call(self.workflows.instantiate_workflow_template, request=request, timeout=_CALL_TIMEOUT)
        return future.operation

    def instantiate_inline(self, template: Any, request_id: str) -> Any:
        """Instantiate an inline template (a ``WorkflowTemplate`` message); returns the workflow's operation."""
        request = {"parent": self.parent(), "template": template, "request_id": request_id}
        future = self.call(self.workflows.instantiate_inline_workflow_template, request=request, timeout=_CALL_TIMEOUT)
        return future.operation

    def get_operation(self, name: str) -> Any:
        return self.call(self.workflows.get_operation, request={"name": name}, timeout=_CALL_TIMEOUT)

    def cancel_operation(self, name: str) -> None:
        """Cancel a workflow: Dataproc cancels its jobs and deletes its managed cluster. Done/absent is fine."""
        from .. import errors

        try:
            self.call(self.workflows.cancel_operation, request={"name": name}, timeout=_CALL_TIMEOUT)
        except (errors.NotFound, errors.PreconditionFailed, errors.InvalidRequest) as exc:
            self.log.info("workflow %s not cancelled: %s", name, exc)


def workflow_progress(operation: Any) -> dict[str, Any]:
    """Plain facts of a workflow operation: done, error, state, cluster and each step's job and state."""
    from google.cloud import dataproc_v1

    meta = dataproc_v1.WorkflowMetadata.deserialize(operation.metadata.value) if operation.metadata.value else None
    steps = {}
    if meta is not None:
        for node in meta.graph.nodes:
            steps[node.step_id] = {"job_id": node.job_id, "state": node.state.name,
                                   "prerequisites": list(node.prerequisite_step_ids), "error": node.error}
    return {
        "operation": operation.name,
        "done": bool(operation.done),
        "error": operation.error.message if operation.HasField("error") else None,
        "error_code": int(operation.error.code) if operation.HasField("error") else 0,
        "state": meta.state.name if meta is not None else "UNKNOWN",
        "cluster_name": meta.cluster_name if meta is not None else "",
        "steps": steps,
    }


class WorkflowEvent(TypedDict):
    status: str  # "ended" | "error"
    operation: str
    message: str


class DataprocWorkflowTrigger(BaseTrigger):
    """Waits until a workflow's operation is done (success or failure), logging step changes."""

    def __init__(self, *, operation: str, project_id: str, region: str, gcp_conn_id: str,
                 poll_interval: float = 5.0) -> None:
        super().__init__()
        self.operation = operation
        self.project_id = project_id
        self.region = region
        self.gcp_conn_id = gcp_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return "dagspec.provider.triggers.workflow.DataprocWorkflowTrigger", {
            "operation": self.operation, "project_id": self.project_id, "region": self.region,
            "gcp_conn_id": self.gcp_conn_id, "poll_interval": self.poll_interval,
        }

    def _event(self, status: str, message: str = "") -> TriggerEvent:
        payload: WorkflowEvent = {"status": status, "operation": self.operation, "message": message}
        return TriggerEvent(dict(payload))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from ..errors import DataprocError

        hook = WorkflowHook(self.gcp_conn_id, project_id=self.project_id, region=self.region)
        seen: dict[str, str] = {}
        try:
            while True:
                operation = await asyncio.to_thread(hook.get_operation, self.operation)
                progress = workflow_progress(operation)
                for step, facts in progress["steps"].items():
                    if seen.get(step) != facts["state"]:
                        seen[step] = facts["state"]
                        self.log.info("step %s: %s %s", step, facts["state"], facts["job_id"])
                if progress["done"]:
                    yield self._event("ended", progress["error"] or "")
                    return
                await asyncio.sleep(self.poll_interval)
        except DataprocError as exc:
            yield self._event("error", f"{type(exc).__name__}: {exc}")
        finally:
            hook.close()

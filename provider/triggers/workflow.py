"""Waiting for a Dataproc workflow (an instantiated workflow template) to end.

``DataprocWorkflowTrigger`` only observes the workflow's long-running operation through
``WorkflowHook`` (``hooks/workflow.py``), logs step progress, and yields one ``WorkflowEvent`` when
the operation is done; it serializes plain values only. Given ``finish`` (by an operator on an Airflow
with ``TaskSuccessEvent``), a workflow that succeeded ends the task here with the operator's return
value as XCom; a failed one resumes the operator on a worker, which raises the error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypedDict

from ..compat import BaseTrigger, TriggerEvent
from ..errors import DataprocError
from ..hooks.workflow import WorkflowHook
from .dataproc import success_event

__all__ = ["WorkflowEvent", "DataprocWorkflowTrigger"]


class WorkflowEvent(TypedDict):
    status: str  # "ended" | "error"
    operation: str
    message: str


class DataprocWorkflowTrigger(BaseTrigger):
    """Waits until a workflow's operation is done (success or failure), logging step changes."""

    def __init__(self, *, operation: str, project_id: str, region: str, gcp_conn_id: str,
                 poll_interval: float = 5.0, finish: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.finish = finish  # None: every outcome resumes the operator on a worker
        self.operation = operation
        self.project_id = project_id
        self.region = region
        self.gcp_conn_id = gcp_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"operation": self.operation, "project_id": self.project_id, "region": self.region,
                  "gcp_conn_id": self.gcp_conn_id, "poll_interval": self.poll_interval}
        if self.finish is not None:
            kwargs["finish"] = self.finish
        return "dagspec.provider.triggers.workflow.DataprocWorkflowTrigger", kwargs

    def _event(self, status: str, message: str = "") -> TriggerEvent:
        payload: WorkflowEvent = {"status": status, "operation": self.operation, "message": message}
        return TriggerEvent(dict(payload))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = WorkflowHook(self.gcp_conn_id, project_id=self.project_id, region=self.region)
        seen: dict[str, str] = {}
        try:
            while True:
                progress = await asyncio.to_thread(hook.progress, self.operation)
                for step, facts in progress["steps"].items():
                    if seen.get(step) != facts["state"]:
                        seen[step] = facts["state"]
                        self.log.info("step %s: %s %s", step, facts["state"], facts["job_id"])
                if progress["done"]:
                    if self.finish is not None and not progress["error"]:
                        yield self._success(progress)
                        return
                    yield self._event("ended", progress["error"] or "")
                    return
                await asyncio.sleep(self.poll_interval)
        except DataprocError as exc:
            yield self._event("error", f"{type(exc).__name__}: {exc}")
        finally:
            hook.close()

    def _success(self, progress: dict[str, Any]) -> TriggerEvent:
        """End the task here: what the operator's ``_finish`` logs and returns for a workflow that succeeded."""
        jobs = {step: facts["job_id"] for step, facts in progress["steps"].items()}
        self.log.info("workflow %s succeeded on cluster %s: %s", progress["operation"], progress["cluster_name"], jobs)
        xcoms = dict((self.finish or {}).get("xcoms") or {})
        if (self.finish or {}).get("return_value"):
            xcoms["return_value"] = {"operation": progress["operation"], "cluster_name": progress["cluster_name"],
                                     "jobs": jobs}
        return success_event(xcoms)

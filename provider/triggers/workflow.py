"""Waiting for a Dataproc workflow (an instantiated workflow template) to end.

``DataprocWorkflowTrigger`` only observes the workflow's long-running operation through
``WorkflowHook`` (``hooks/workflow.py``), logs step progress, and yields one ``WorkflowEvent`` when
the operation is done; it serializes plain values only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypedDict

from ..compat import BaseTrigger, TriggerEvent
from ..errors import DataprocError
from ..hooks.workflow import WorkflowHook

__all__ = ["WorkflowEvent", "DataprocWorkflowTrigger"]


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
                    yield self._event("ended", progress["error"] or "")
                    return
                await asyncio.sleep(self.poll_interval)
        except DataprocError as exc:
            yield self._event("error", f"{type(exc).__name__}: {exc}")
        finally:
            hook.close()

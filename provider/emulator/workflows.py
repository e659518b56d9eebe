"""WorkflowTemplateService (placeholder until the workflow engine lands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["WorkflowService"]


class WorkflowService:
    SERVICE = "google.cloud.dataproc.v1.WorkflowTemplateService"

    def __init__(self, backend: Any, clusters: Any, jobs: Any) -> None:
        self.b = backend

    def methods(self) -> dict[str, tuple[Callable, type, type]]:
        return {}

    def check_timeouts(self) -> None:
        return None

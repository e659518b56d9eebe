"""BatchController (placeholder until batches land)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["BatchService"]


class BatchService:
    SERVICE = "google.cloud.dataproc.v1.BatchController"

    def __init__(self, backend: Any) -> None:
        self.b = backend

    def methods(self) -> dict[str, tuple[Callable, type, type]]:
        return {}

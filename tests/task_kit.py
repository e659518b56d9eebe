"""A stand-in task-instance context for running operators outside Airflow (importable as ``task_kit``).

Shared by the provider and workflow-template tests. This is not a Google fake: it only carries
the task-instance attributes the operators read, and keeps XComs in a dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeTI", "context_for"]


@dataclass
class FakeTI:
    """The task-instance attributes the operators read, with an XCom dict."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 1
    xcom: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value", **_: Any) -> Any:
        return self.xcom.get(key)


def context_for(dag_id: str, run_id: str, task_id: str, **kwargs: Any) -> dict[str, Any]:
    """The ``context`` an operator's ``execute`` gets: its task instance and run id."""
    ti = FakeTI(dag_id, run_id, task_id, **kwargs)
    return {"ti": ti, "run_id": run_id}

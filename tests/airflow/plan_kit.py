"""Hand-made DagPlans and small helpers for the Airflow-layer tests (importable as ``plan_kit``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagspec.dag_factory.airflow.compat import BaseNotifier
from dagspec.dag_factory.compile.plan import DagPlan, GroupPlan, SourceLoc, TaskPlan

__all__ = ["BASH", "EMPTY", "PYTHON", "START", "task", "plan", "RecordingNotifier", "record_call", "CALLS",
           "write_loader", "group_kwargs"]

BASH = "airflow.providers.standard.operators.bash.BashOperator"
EMPTY = "airflow.providers.standard.operators.empty.EmptyOperator"
PYTHON = "airflow.providers.standard.operators.python.PythonOperator"
START = datetime(2024, 1, 1, tzinfo=UTC)
CALLS: list[Any] = []

LOADER_TEXT = (Path(__file__).resolve().parents[2] / "dags" / "dagspec_loader.py").read_text()


def task(task_id: str, operator: str = EMPTY, *, line: int = 0, **fields: Any) -> TaskPlan:
    """A TaskPlan with a source line in ``spec.yaml`` (so errors can be located)."""
    return TaskPlan(task_id=task_id, operator=operator, source=SourceLoc("spec.yaml", line, 3), **fields)


def plan(dag_id: str, *tasks: TaskPlan, groups: tuple[GroupPlan, ...] = (), **fields: Any) -> DagPlan:
    kwargs = {"start_date": START, **fields.pop("dag_kwargs", {})}
    return DagPlan(dag_id=dag_id, source=SourceLoc("spec.yaml", 1, 1), spec_hash="0" * 64, tasks=tuple(tasks),
                   groups=groups, dag_kwargs=kwargs, **fields)


class RecordingNotifier(BaseNotifier):
    """A notifier that remembers its arguments (used as a CallbackRef with args)."""

    template_fields = ("message",)

    def __init__(self, message: str = "", level: int = 0):
        super().__init__()
        self.message = message
        self.level = level

    def notify(self, context: Any) -> None:
        CALLS.append(("notify", self.message))


def record_call(context: Any = None) -> None:
    """A plain function callback."""
    CALLS.append(("call", context))


def group_kwargs(names: list[str], folder: str) -> list[dict[str, str]]:
    """Per-item kwargs for a mapped task group: the name, and a command checking its output file."""
    return [{"name": n, "check": f"test -s {folder}/{n}"} for n in names]


def write_loader(folder: Path) -> Path:
    """Copy the project's loader file into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dagspec_loader.py"
    path.write_text(LOADER_TEXT)
    return path

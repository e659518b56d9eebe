"""The compiled plan: frozen plain data that every reader (Airflow builder, render, export) shares.

A plan holds no Airflow or Google objects. Values that must become Python objects at build time
are wrapped in the small tagged classes below (``Duration``, ``ImportRef``, ``AssetRef`` ...); the
Airflow builder turns them into ``timedelta``, imported callables, ``Asset`` and so on. Everything
else in ``args`` is passed to the operator as it is (Jinja strings stay strings, for Airflow to
render at run time).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from typing import Any

__all__ = [
    "SourceLoc",
    "Duration",
    "ImportRef",
    "CallbackRef",
    "AssetRef",
    "AssetCondition",
    "TaskOutput",
    "GroupArg",
    "ParamSpec",
    "Schedule",
    "GroupPlan",
    "TaskPlan",
    "DagPlan",
    "to_data",
]


@dataclass(frozen=True)
class SourceLoc:
    """Where something was written: file, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Duration:
    """A length of time; becomes ``datetime.timedelta(seconds=...)``."""

    seconds: float


@dataclass(frozen=True)
class ImportRef:
    """A Python object by dotted import path, ``pkg.module.name``; imported at build time."""

    path: str


@dataclass(frozen=True)
class CallbackRef:
    """A callback: a function by path, or a notifier class by path instantiated with ``args``."""

    path: str
    args: Mapping[str, Any] | None = None  # None: a plain function; a mapping: a notifier class


@dataclass(frozen=True)
class AssetRef:
    """An Airflow asset by URI (``uri``) and/or name."""

    uri: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class AssetCondition:
    """``all`` (``&``) or ``any`` (``|``) of assets or nested conditions, for asset schedules."""

    op: str  # "all" | "any"
    items: tuple[AssetRef | AssetCondition, ...]


@dataclass(frozen=True)
class TaskOutput:
    """The XCom output of an upstream task (``key`` defaults to ``return_value``), for mapping."""

    task_id: str
    key: str = "return_value"


@dataclass(frozen=True)
class GroupArg:
    """Inside a mapped task group: the current value of the group's expanded argument ``name``."""

    name: str


@dataclass(frozen=True)
class ParamSpec:
    """A DAG param: default plus a JSON-schema fragment (type, enum, minimum, ...)."""

    default: Any = None
    schema: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True)
class Schedule:
    """How runs are scheduled.

    kind: ``none`` | ``cron`` (value: expression) | ``preset`` (value: ``@daily``...)
          | ``every`` (value: Duration) | ``timetable`` (value: CallbackRef: class + args)
          | ``assets`` (value: AssetCondition)
    """

    kind: str
    value: Any = None


@dataclass(frozen=True)
class GroupPlan:
    """A task group. ``group_id`` is the full dotted id; ``parent`` the enclosing group or None.

    ``expand``/``expand_kwargs`` make it a mapped task group: its tasks refer to the current
    item through ``GroupArg(name)`` values inside their args.
    """

    group_id: str
    parent: str | None = None
    tooltip: str | None = None
    expand: Mapping[str, Any] | None = None
    expand_kwargs: Any = None
    source: SourceLoc | None = None


@dataclass(frozen=True)
class TaskPlan:
    """One Airflow task.

    task_id:   the full Airflow task id (``group.sub.task`` inside groups, as Airflow names it).
    operator:  import path of the operator class.
    args:      operator keyword arguments (plain data and the tagged classes above), without
               task_id, task_group and dependencies.
    upstream:  full task ids this task depends on.
    expand / expand_kwargs: dynamic task mapping (values: literal lists, TaskOutput, ...).
    setup / teardown: Airflow setup/teardown; ``teardown_of`` names the setup tasks it tears down.
    compensates: the tasks whose failure this task undoes (saga): it runs only when one of them
               failed, and the run still ends failed.
    kind:      what the spec called it (``bash``, ``pyspark``, ``cluster_create`` ...), for render.
    """

    task_id: str
    operator: str
    args: Mapping[str, Any] = field(default_factory=dict)
    upstream: tuple[str, ...] = ()
    group: str | None = None
    expand: Mapping[str, Any] | None = None
    expand_kwargs: Any = None
    setup: bool = False
    teardown: bool = False
    teardown_of: tuple[str, ...] = ()
    compensates: tuple[str, ...] = ()
    kind: str = "operator"
    source: SourceLoc | None = None


@dataclass(frozen=True)
class DagPlan:
    """One Airflow DAG: its keyword arguments, groups and tasks, and where it came from.

    dag_kwargs holds what goes to ``airflow.sdk.DAG(...)`` besides dag_id, schedule, params and
    doc_md (description, start_date as an aware ``datetime``, tags, default_args, callbacks ...).
    """

    dag_id: str
    source: SourceLoc
    spec_hash: str
    schedule: Schedule = Schedule("none")
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    dag_kwargs: Mapping[str, Any] = field(default_factory=dict)
    groups: tuple[GroupPlan, ...] = ()
    tasks: tuple[TaskPlan, ...] = ()
    doc_md: str = ""


def to_data(value: Any) -> Any:
    """The plan as JSON-ready data: dataclasses become dicts tagged with their ``type``."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__}
        for f in fields(value):
            out[f.name] = to_data(getattr(value, f.name))
        return out
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value

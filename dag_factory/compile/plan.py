"""The compiled plan: frozen plain data that every reader (Airflow builder, render, export) shares.

A plan holds no Airflow or Google objects. Values that must become Python objects at build time
are wrapped in the small tagged classes below (``Duration``, ``ImportRef``, ``AssetRef`` ...); the
Airflow builder turns them into ``timedelta``, imported callables, ``Asset`` and so on. Everything
else in ``args`` is passed to the operator as it is (Jinja strings stay strings, for Airflow to
render at run time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar, cast

T = TypeVar("T")

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
    "replace",
    "Record",
    "GUARD_SUFFIX",
]

GUARD_SUFFIX = "__saga_failed"  # compile.saga adds `<compensation>__saga_failed` after each compensation task


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Any) -> None:
        self.make = make


def factory(make: Callable[[], T]) -> T:
    """A default made fresh for each instance (like ``dataclasses.field(default_factory=...)``)."""
    return cast(T, _Factory(make))


_MISSING = object()


class Record:
    """An immutable value object: fields from the class annotations, in order, with defaults.

    Plan classes are records rather than dataclasses because a worker imports this module before
    every task, and dataclasses generate (compile) their methods at import; records do not.
    Equality and hashing are by value; instances pickle and unpickle as plain objects.
    """

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _field_set: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [n for n, a in cls.__dict__.get("__annotations__", {}).items() if "ClassVar" not in str(a)]
        cls._fields = tuple(dict.fromkeys([*cls._fields, *own]))
        cls._defaults = {**cls._defaults, **{n: cls.__dict__[n] for n in own if n in cls.__dict__}}
        cls._field_set = frozenset(cls._fields)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if not kwargs and len(args) == len(fields):  # the usual calls: every field by position ...
            self.__dict__.update(zip(fields, args, strict=True))
            return
        if not args and kwargs.keys() <= self._field_set:  # ... or keywords only, all known
            if len(kwargs) < len(fields):
                kwargs = {**{n: self._default(n) for n in fields if n not in kwargs}, **kwargs}
            self.__dict__.update(kwargs)
            return
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(fields)} arguments")
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in fields or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated argument {name!r}")
            values[name] = value
        for name in fields:
            if name not in values:
                values[name] = self._default(name)
        self.__dict__.update(values)

    def _default(self, name: str) -> Any:
        default = self._defaults.get(name, _MISSING)
        if default is _MISSING:
            raise TypeError(f"{type(self).__name__}: missing argument {name!r}")
        return default.make() if isinstance(default, _Factory) else default

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[n] for n in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={self.__dict__[n]!r}" for n in self._fields)
        return f"{type(self).__name__}({inner})"


def replace(record: Any, **changes: Any) -> Any:
    """A copy of ``record`` with some fields changed (like ``dataclasses.replace``)."""
    values = {n: record.__dict__[n] for n in record._fields}
    values.update(changes)
    return type(record)(**values)


class SourceLoc(Record):
    """Where something was written: file, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0


class Duration(Record):
    """A length of time; becomes ``datetime.timedelta(seconds=...)``."""

    seconds: float


class ImportRef(Record):
    """A Python object by dotted import path, ``pkg.module.name``; imported at build time."""

    path: str


class CallbackRef(Record):
    """A callback: a function by path, or a notifier class by path instantiated with ``args``."""

    path: str
    args: Mapping[str, Any] | None = None  # None: a plain function; a mapping: a notifier class


class AssetRef(Record):
    """An Airflow asset by URI (``uri``) and/or name."""

    uri: str | None = None
    name: str | None = None


class AssetCondition(Record):
    """``all`` (``&``) or ``any`` (``|``) of assets or nested conditions, for asset schedules."""

    op: str  # "all" | "any"
    items: tuple[AssetRef | AssetCondition, ...]


class TaskOutput(Record):
    """The XCom output of an upstream task (``key`` defaults to ``return_value``), for mapping."""

    task_id: str
    key: str = "return_value"


class GroupArg(Record):
    """Inside a mapped task group: the current value of the group's expanded argument ``name``."""

    name: str


class ParamSpec(Record):
    """A DAG param: default plus a JSON-schema fragment (type, enum, minimum, ...)."""

    default: Any = None
    schema: Mapping[str, Any] = factory(dict)
    description: str | None = None


class Schedule(Record):
    """How runs are scheduled.

    kind: ``none`` | ``cron`` (value: expression) | ``preset`` (value: ``@daily``...)
          | ``every`` (value: Duration) | ``timetable`` (value: CallbackRef: class + args)
          | ``assets`` (value: AssetCondition)
    """

    kind: str
    value: Any = None


class GroupPlan(Record):
    """A task group. ``group_id`` is the full dotted id; ``parent`` the enclosing group or None.

    ``expand``/``expand_kwargs`` make it a mapped task group: its tasks refer to the current
    item through ``GroupArg(name)`` values inside their args. ``default_args`` apply to the tasks
    inside (nested groups inherit them; a task's own options win), as plan values.
    """

    group_id: str
    parent: str | None = None
    tooltip: str | None = None
    expand: Mapping[str, Any] | None = None
    expand_kwargs: Any = None
    source: SourceLoc | None = None
    default_args: Mapping[str, Any] | None = None


class TaskPlan(Record):
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
    args: Mapping[str, Any] = factory(dict)
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


class DagPlan(Record):
    """One Airflow DAG: its keyword arguments, groups and tasks, and where it came from.

    dag_kwargs holds what goes to ``airflow.sdk.DAG(...)`` besides dag_id, schedule, params and
    doc_md (description, start_date as an aware ``datetime``, tags, default_args, callbacks ...).
    """

    dag_id: str
    source: SourceLoc
    spec_hash: str
    schedule: Schedule = Schedule("none")
    params: Mapping[str, ParamSpec] = factory(dict)
    dag_kwargs: Mapping[str, Any] = factory(dict)
    groups: tuple[GroupPlan, ...] = ()
    tasks: tuple[TaskPlan, ...] = ()
    doc_md: str = ""


def to_data(value: Any) -> Any:
    """The plan as JSON-ready data: dataclasses become dicts tagged with their ``type``."""
    if isinstance(value, Record):
        out: dict[str, Any] = {"type": type(value).__name__}
        for name in value._fields:
            out[name] = to_data(getattr(value, name))
        return out
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value

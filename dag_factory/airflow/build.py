"""Plan to Airflow: build one ``airflow.sdk.DAG`` (groups, operators, mapping, dependencies) from a DagPlan.

The builder does what a hand-written DAG file does and nothing more: import each operator class once
(cached by path), convert the plan's tagged values, instantiate the operators and wire them.

Tagged values (``dagspec.dag_factory.compile.plan``) are converted wherever they appear in task args,
``expand`` values, ``dag_kwargs`` and ``default_args``: ``Duration`` → ``timedelta``, ``ImportRef`` →
the imported object, ``CallbackRef`` → the function, or ``Notifier(**args)``, ``AssetRef`` →
``Asset``, ``AssetCondition`` → ``&``/``|`` of assets, ``TaskOutput`` → ``XComArg`` of the upstream
operator (with its key), ``GroupArg`` → the mapped task group's argument, ``ParamSpec`` → ``Param``.

Task ids. ``TaskPlan.task_id`` is the full id (``group.sub.task``); operators are created with the
local id inside their ``TaskGroup`` so that Airflow's id equals the plan's (checked).

Mapped task groups are made with Airflow's ``@task_group`` decorator and ``.expand()`` /
``.expand_kwargs()``; the decorated function only captures the ``MappedArgument`` stand-ins, which
then replace ``GroupArg`` values in the args of the group's tasks. Since tasks may be created after
the group's ``with`` block has closed (creation follows data dependencies, not nesting), the group's
dependency on the tasks its expansion reads is set again once all its tasks exist.

Compensations (saga) arrive as plain tasks: the compiler (``compile/saga.py``) already gave each its
trigger rule and its ``CompensationGuard`` task.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from functools import reduce
from typing import Any

from ..compile.plan import (
    AssetCondition,
    AssetRef,
    CallbackRef,
    DagPlan,
    Duration,
    GroupArg,
    GroupPlan,
    ImportRef,
    ParamSpec,
    Schedule,
    SourceLoc,
    TaskOutput,
    TaskPlan,
)
from .compat import DAG, Asset, Param, TaskGroup, XComArg, make_asset

__all__ = ["build_dag", "import_object", "BuildError"]

_IMPORTS: dict[str, Any] = {}
_PLAIN = (str, int, float, bool, type(None))


class BuildError(Exception):
    """A plan that Airflow rejects; ``source`` points at the spec line of the task or group at fault."""

    def __init__(self, message: str, source: SourceLoc | None = None):
        super().__init__(message)
        self.source = source


def import_object(path: str) -> Any:
    """The object at dotted ``path`` (``pkg.module.Name`` or ``pkg.module.Class.attr``), imported once."""
    try:
        return _IMPORTS[path]
    except KeyError:
        pass
    module_name, _, attr = path.rpartition(".")
    attrs = [attr]
    while True:
        if not module_name:
            raise ImportError(f"cannot import {path!r}")
        try:
            obj: Any = importlib.import_module(module_name)
            break
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            module_name, _, parent = module_name.rpartition(".")
            attrs.insert(0, parent)
    for name in attrs:
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise ImportError(f"cannot import {path!r}: {module_name!r} has no attribute {name!r}") from None
    _IMPORTS[path] = obj
    return obj


@contextmanager
def blamed(what: str, source: SourceLoc | None) -> Iterator[None]:
    """Any error inside becomes a ``BuildError`` at ``source`` (an inner one keeps its own place, if it has one)."""
    try:
        yield
    except Exception as exc:
        raise _blame(exc, what, source) from exc


def _blame(exc: Exception, what: str, source: SourceLoc | None) -> BuildError:
    """The ``BuildError`` that ``blamed`` raises for ``exc``."""
    if isinstance(exc, BuildError):
        return BuildError(str(exc), exc.source or source)
    prefix = f"{what}: " if what else ""
    return BuildError(f"{prefix}{type(exc).__name__}: {exc}", source)


def _local_id(full_id: str, group: str | None) -> str:
    if group is None:
        return full_id
    prefix = group + "."
    if not full_id.startswith(prefix):
        raise BuildError(f"id `{full_id}` is not inside its group `{group}`")
    return full_id[len(prefix):]


def _group_arg_names(value: Any, out: set[str]) -> None:
    if isinstance(value, GroupArg):
        out.add(value.name)
    elif isinstance(value, Mapping):
        for v in value.values():
            _group_arg_names(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _group_arg_names(v, out)


class _Builder:
    """One build: the plan's operators and groups by full id, created on demand in data order."""

    def __init__(self, plan: DagPlan):
        self.plan = plan
        self.task_plans = {t.task_id: t for t in plan.tasks}
        self.group_plans = {g.group_id: g for g in plan.groups}
        self.ops: dict[str, Any] = {}
        self.groups: dict[str, TaskGroup] = {}
        self.group_args: dict[str, dict[str, Any]] = {}
        self.mapped_refs: dict[str, list[str]] = {}
        self.pending: list[str] = []  # what is being created, outermost first ("task x", "group y")
        self.refs = 0  # TaskOutput/GroupArg values converted so far (they resolve only in templated fields)
        self._dag: DAG | None = None

    @property
    def dag(self) -> DAG:
        if self._dag is None:
            raise RuntimeError("the DAG is not created yet")
        return self._dag

    # -- values ------------------------------------------------------------------------------

    def convert(self, value: Any, group: str | None = None) -> Any:
        """A plan value with every tagged value replaced by its Airflow object; plain data is kept."""
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, Mapping):
            return {k: self.convert(v, group) for k, v in value.items()}
        if isinstance(value, list):
            return [self.convert(v, group) for v in value]
        if isinstance(value, tuple):
            return tuple(self.convert(v, group) for v in value)
        handler = _HANDLERS.get(type(value))
        return handler(self, value, group) if handler is not None else value

    def _duration(self, value: Duration, group: str | None) -> timedelta:
        return timedelta(seconds=value.seconds)

    def _import(self, value: ImportRef, group: str | None) -> Any:
        return import_object(value.path)

    def _callback(self, value: CallbackRef, group: str | None) -> Any:
        target = import_object(value.path)
        if value.args is None:
            return target
        return target(**self.convert(value.args, group))

    def _asset(self, value: AssetRef, group: str | None) -> Asset:
        if value.name is None and value.uri is None:
            raise BuildError("an asset needs a `uri` or a `name`")
        return make_asset(value.uri, value.name)

    def _condition(self, value: AssetCondition, group: str | None) -> Any:
        items = [self.convert(item, group) for item in value.items]
        if not items:
            raise BuildError(f"an asset condition `{value.op}` needs at least one asset")
        if value.op == "all":
            return reduce(lambda a, b: a & b, items)
        if value.op == "any":
            return reduce(lambda a, b: a | b, items)
        raise BuildError(f"unknown asset condition `{value.op}` (expected `all` or `any`)")

    def _output(self, value: TaskOutput, group: str | None) -> Any:
        op = self.operator(value.task_id)
        self.refs += 1
        return op.output if value.key == "return_value" else XComArg(op, key=value.key)

    def _group_arg(self, value: GroupArg, group: str | None) -> Any:
        self.refs += 1
        gid = group
        while gid is not None:
            if gid in self.group_args:
                args = self.group_args[gid]
                if value.name not in args:
                    raise BuildError(f"mapped group `{gid}` has no argument `{value.name}` "
                                     f"(it expands {', '.join(sorted(args)) or 'nothing'})")
                return args[value.name]
            gid = self.group_plans[gid].parent if gid in self.group_plans else None
        raise BuildError(f"GroupArg `{value.name}` used outside a mapped task group")

    def _param(self, value: ParamSpec, group: str | None) -> Param:
        return Param(self.convert(value.default, group), description=value.description,
                     schema=self.convert(dict(value.schema), group))

    # -- DAG ---------------------------------------------------------------------------------

    def schedule(self, schedule: Schedule) -> Any:
        kind, value = schedule.kind, schedule.value
        if kind == "none":
            return None
        if kind in ("cron", "preset"):
            return str(value)
        if kind == "every":
            return self.convert(value) if isinstance(value, Duration) else timedelta(seconds=float(value))
        if kind == "timetable":
            if isinstance(value, (CallbackRef, ImportRef)):
                args = getattr(value, "args", None) or {}
                return import_object(value.path)(**self.convert(args))
            return self.convert(value)
        if kind == "assets":
            return self.convert(value)
        raise BuildError(f"unknown schedule kind `{kind}`", self.plan.source)

    def build(self, fileloc: str | None) -> DAG:
        plan = self.plan
        kwargs = self.convert(plan.dag_kwargs)
        params = {name: self._param(spec, None) for name, spec in plan.params.items()}
        dag = DAG(dag_id=plan.dag_id, schedule=self.schedule(plan.schedule), params=params or None,
                  doc_md=plan.doc_md or None, **kwargs)
        if fileloc is not None:
            dag.fileloc = fileloc
        self._dag = dag
        for task in plan.tasks:
            self.operator(task.task_id)
        for group_id in self.group_plans:
            self.group(group_id)
        for task in plan.tasks:
            self.wire(task)
        for group_id, refs in self.mapped_refs.items():
            if refs:
                self.groups[group_id].set_upstream([self.ops[r] for r in refs])
        return dag

    # -- groups ------------------------------------------------------------------------------

    def group(self, group_id: str | None) -> TaskGroup | None:
        if group_id is None:
            return None
        if group_id in self.groups:
            return self.groups[group_id]
        gp = self.group_plans.get(group_id)
        if gp is None:
            raise BuildError(f"unknown task group `{group_id}`")
        self._enter(f"group `{group_id}`", gp.source)
        with blamed(f"task group `{group_id}`", gp.source), self._leaving():
            parent = self.group(gp.parent)
            local = _local_id(group_id, gp.parent)
            tg_kwargs: dict[str, Any] = {"group_id": local, "parent_group": parent or self.dag.task_group}
            if gp.tooltip:
                tg_kwargs["tooltip"] = gp.tooltip
            if gp.default_args:
                tg_kwargs["default_args"] = self.convert(dict(gp.default_args), gp.parent)
            if gp.expand is None and gp.expand_kwargs is None:
                tg = TaskGroup(dag=self.dag, **tg_kwargs)
            else:
                tg = self._mapped_group(gp, tg_kwargs)
        if tg.group_id != group_id:
            raise BuildError(f"Airflow names group `{group_id}` `{tg.group_id}`", gp.source)
        self.groups[group_id] = tg
        return tg

    def _mapped_group(self, gp: GroupPlan, tg_kwargs: dict[str, Any]) -> TaskGroup:
        if gp.expand is not None:
            names = set(gp.expand)
        else:
            names = set()
            for t in self.plan.tasks:
                if t.group is not None and (t.group == gp.group_id or t.group.startswith(gp.group_id + ".")):
                    _group_arg_names(t.args, names)
                    _group_arg_names(t.expand, names)
                    _group_arg_names(t.expand_kwargs, names)
        captured: dict[str, Any] = {}

        def body(**arguments: Any) -> None:
            captured.update(arguments)

        body.__name__ = tg_kwargs["group_id"]

        body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in sorted(names)])
        from .compat import task_group  # the decorator pulls in the standard provider's decorators

        factory: Any = task_group(dag=self.dag, **tg_kwargs)(body)  # the DAG named: Airflow 2 has no DAG context here
        refs: set[str] = set()
        _task_refs(gp.expand if gp.expand is not None else gp.expand_kwargs, refs)
        if gp.expand is not None:
            tg = factory.expand(**self.convert(gp.expand, gp.parent))
        else:
            tg = factory.expand_kwargs(self.convert(gp.expand_kwargs, gp.parent))
        self.group_args[gp.group_id] = captured
        self.mapped_refs[gp.group_id] = sorted(refs)
        return tg

    # -- tasks -------------------------------------------------------------------------------

    def _enter(self, key: str, source: SourceLoc | None) -> None:
        if key in self.pending:
            cycle = [*self.pending[self.pending.index(key):], key]
            raise BuildError("a cycle through task outputs: " + " -> ".join(cycle), source)
        self.pending.append(key)

    @contextmanager
    def _leaving(self) -> Iterator[None]:
        """Pop what ``_enter`` pushed, however the creation ends."""
        try:
            yield
        finally:
            self.pending.pop()

    def operator(self, task_id: str) -> Any:
        op = self.ops.get(task_id)
        if op is not None:
            return op
        task = self.task_plans.get(task_id)
        if task is None:
            raise BuildError(f"unknown task `{task_id}`")
        self._enter(f"task `{task_id}`", task.source)
        try:  # ``blamed`` and ``_leaving`` written out: this runs once per task of every DAG built
            op = self._create(task)
        except Exception as exc:
            raise _blame(exc, f"task `{task_id}`", task.source) from exc
        finally:
            self.pending.pop()
        if op.task_id != task_id:
            raise BuildError(f"Airflow names task `{task_id}` `{op.task_id}`", task.source)
        self.ops[task_id] = op
        return op

    def _create(self, task: TaskPlan) -> Any:
        cls = import_object(task.operator)
        tg = self.group(task.group)
        kwargs = {}
        for name, value in task.args.items():
            seen = self.refs
            kwargs[name] = self.convert(value, task.group)
            if self.refs != seen and name not in cls.template_fields:
                raise BuildError(f"`{name}` of {cls.__name__} is not a templated field, so a task output or "
                                 f"mapped-group argument cannot be passed to it "
                                 f"(templated: {', '.join(cls.template_fields) or 'none'})")
        kwargs["task_id"] = _local_id(task.task_id, task.group)
        kwargs["dag"] = self.dag
        kwargs["task_group"] = tg
        if task.expand is not None:
            return cls.partial(**kwargs).expand(**self.convert(task.expand, task.group))
        if task.expand_kwargs is not None:
            return cls.partial(**kwargs).expand_kwargs(self.convert(task.expand_kwargs, task.group))
        return cls(**kwargs)

    def wire(self, task: TaskPlan) -> None:
        op = self.ops[task.task_id]
        try:  # ``blamed`` written out, as in ``operator``
            for up in task.upstream:
                self._link(self.operator(up), op)
            if task.setup:
                op.as_setup()
            if task.teardown:
                op.as_teardown()
                for setup in task.teardown_of:
                    setup_op = self.operator(setup)
                    setup_op.is_setup = True
                    self._link(setup_op, op)
        except Exception as exc:
            raise _blame(exc, f"task `{task.task_id}`", task.source) from exc

    def _link(self, upstream: Any, downstream: Any) -> None:
        """``upstream >> downstream`` for two operators of this DAG, in constant time.

        ``set_upstream`` does the same after checking that both tasks share one DAG by hashing it,
        and ``DAG.__hash__`` lists every task id: one edge would cost O(tasks) and a chain
        O(tasks²). Every operator here was created with ``dag=self.dag``, so that check holds by
        construction; it is kept as an identity test.
        """
        if upstream.dag is not self.dag or downstream.dag is not self.dag:
            raise BuildError(f"`{upstream.task_id}` and `{downstream.task_id}` are not in DAG `{self.plan.dag_id}`")
        upstream.downstream_task_ids.add(downstream.node_id)
        downstream.upstream_task_ids.add(upstream.node_id)


def _task_refs(value: Any, out: set[str]) -> None:
    if isinstance(value, TaskOutput):
        out.add(value.task_id)
    elif isinstance(value, Mapping):
        for v in value.values():
            _task_refs(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _task_refs(v, out)


_HANDLERS: dict[type, Any] = {
    Duration: _Builder._duration,
    ImportRef: _Builder._import,
    CallbackRef: _Builder._callback,
    AssetRef: _Builder._asset,
    AssetCondition: _Builder._condition,
    TaskOutput: _Builder._output,
    GroupArg: _Builder._group_arg,
    ParamSpec: _Builder._param,
}


def build_dag(plan: DagPlan, *, fileloc: str | None = None) -> DAG:
    """The Airflow DAG for ``plan``. ``fileloc`` (the DAG file defining it) defaults to Airflow's guess.

    Raises ``BuildError`` (with the spec location of the task or group at fault) when Airflow
    rejects the plan.
    """
    with blamed("", plan.source):
        dag = _Builder(plan).build(fileloc)
    return dag

"""Task actions to operators: which operator class each kind uses and with which arguments."""

from __future__ import annotations

import functools
from typing import Any

from ..spec import models
from ..spec.yaml_source import YamlPath
from .context import CompileContext
from .plan import AssetRef, CallbackRef, Duration, ImportRef

__all__ = ["OPERATORS", "CALLABLES", "HELPERS", "GUARD_OPERATOR", "action_args", "common_args", "asset", "callbacks", "drop_none"]

_STD = "airflow.providers.standard"
OPERATORS = {
    "bash": f"{_STD}.operators.bash.BashOperator",
    "python": f"{_STD}.operators.python.PythonOperator",
    "empty": f"{_STD}.operators.empty.EmptyOperator",
    "branch": f"{_STD}.operators.python.BranchPythonOperator",
    "short_circuit": f"{_STD}.operators.python.ShortCircuitOperator",
    "trigger_dag": f"{_STD}.operators.trigger_dagrun.TriggerDagRunOperator",
    "wait_for_dag": f"{_STD}.sensors.external_task.ExternalTaskSensor",
    "wait_for_asset": f"{_STD}.sensors.python.PythonSensor",
    "job": "dagspec.provider.operators.job.DataprocSubmitJobOperator",
    "batch": "dagspec.provider.operators.job.DataprocSubmitBatchOperator",
    "cluster_create": "dagspec.provider.operators.cluster.DataprocCreateClusterOperator",
    "cluster_delete": "dagspec.provider.operators.cluster.DataprocDeleteClusterOperator",
}
_RUNTIME = "dagspec.dag_factory.airflow.callables"
GUARD_OPERATOR = f"{_RUNTIME}.CompensationGuard"  # the saga guard (compile.saga)
CALLABLES = {
    "branch": f"{_RUNTIME}.choose_branch",
    "short_circuit": f"{_RUNTIME}.check_condition",
    "param_items": f"{_RUNTIME}.param_items",
    "asset_event": f"{_RUNTIME}.asset_has_event",
}
# The runtime helpers the compiler inserts on its own, used without a policy check and only where the
# compiler puts them (a spec naming one of these paths is checked like any other path):
# * the CALLABLES above, as the callable of a branch/short_circuit without `callable:`, of a
#   wait_for_asset sensor and of a param-mapping helper task;
# * the param-mapping helper task itself (``<task>__<param>_items``, a PythonOperator running
#   ``param_items``), added when a task maps over a param;
# * ``CronTriggerTimetable`` for a ``schedule: {cron, timezone}``;
# * the saga ``CompensationGuard`` (dagspec.dag_factory.airflow.callables) after a compensation task.
# The operator behind each action the spec chose (bash, python, branch, wait_for_asset, pyspark, a
# cluster's create/delete ...) is not a helper: it is checked against ``allowed_operators``.
HELPERS = (*CALLABLES.values(), "airflow.timetables.trigger.CronTriggerTimetable", GUARD_OPERATOR)
# expand keys may use the spec's names; they map to the operator's argument names
EXPAND_NAMES = {
    "bash": {"command": "bash_command"},
    "python": {"args": "op_args", "kwargs": "op_kwargs"},
}

_CALLBACKS = ("on_execute_callback", "on_failure_callback", "on_success_callback", "on_retry_callback",
              "on_skipped_callback")
_DURATIONS = ("retry_delay", "max_retry_delay", "execution_timeout")


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def asset(item: Any) -> AssetRef:
    if isinstance(item, str):
        return AssetRef(uri=item) if "://" in item else AssetRef(name=item)
    return AssetRef(uri=item.uri, name=item.name)


def callbacks(ctx: CompileContext, items: list[Any], path: YamlPath) -> list[CallbackRef]:
    out = []
    for i, item in enumerate(items):
        target = item if isinstance(item, str) else item.notifier
        base = ctx.item_path(path, i)
        where = base if isinstance(item, str) else base + ("notifier",)
        obj = ctx.check_import(target, "callable", where, what="callback" if isinstance(item, str) else "notifier")
        if not isinstance(item, str):
            ctx.check_call(target, obj, dict(item.args), where, base + ("args",), "notifier")
        out.append(CallbackRef(target, None if isinstance(item, str) else dict(item.args)))
    return out


@functools.cache
def _option_names() -> tuple[str, ...]:
    return tuple(models.OperatorOptions.model_fields)


def common_args(ctx: CompileContext, options: models.OperatorOptions, path: YamlPath) -> dict[str, Any]:
    """Operator options shared by every kind (and default_args), as plan values."""
    out: dict[str, Any] = {}
    values = options.__dict__  # a pydantic model keeps every field's value here (plain lookups, per task)
    for name in _option_names():
        value = values[name]
        if value is None:
            continue
        if name in _DURATIONS:
            value = Duration(value)
        elif name in _CALLBACKS:
            value = callbacks(ctx, value, path + (name,))
        out[name] = value
    return out


def action_args(ctx: CompileContext, kind: str, task: Any, path: YamlPath) -> tuple[str, dict[str, Any]]:
    """The operator path and its action-specific arguments for a non-Dataproc task kind."""
    action: Any = getattr(task, kind, None)
    here = path + (kind,)
    if kind == "bash":
        return OPERATORS[kind], drop_none({
            "bash_command": action.command, "env": action.env, "append_env": action.append_env,
            "cwd": action.cwd, "skip_on_exit_code": action.skip_on_exit_code,
        })
    if kind == "python":
        ctx.check_import(action.callable, "callable", here)
        return OPERATORS[kind], drop_none({
            "python_callable": ImportRef(action.callable), "op_args": list(action.args) or None,
            "op_kwargs": dict(action.kwargs) or None,
        })
    if kind == "empty":
        return OPERATORS[kind], {}
    if kind == "branch":
        if action.callable:
            ctx.check_import(action.callable, "callable", here + ("callable",))
            return OPERATORS[kind], drop_none({"python_callable": ImportRef(action.callable),
                                               "op_kwargs": dict(action.kwargs) or None})
        if action.on is None:
            ctx.error("DSP012", "a branch needs `on` (a value to match, usually Jinja) or `callable`", here,
                      "e.g. `on: \"{{ ti.xcom_pull('check') }}\"` with `cases: {big: [load_big]}`")
        return OPERATORS[kind], {
            "python_callable": ImportRef(CALLABLES["branch"]),
            "op_kwargs": {"value": action.on, "cases": {k: list(v) for k, v in action.cases.items()},
                          "default": list(action.default)},
        }
    if kind == "short_circuit":
        extra = {"ignore_downstream_trigger_rules": action.ignore_downstream_trigger_rules}
        if action.callable:
            ctx.check_import(action.callable, "callable", here + ("callable",))
            return OPERATORS[kind], drop_none({"python_callable": ImportRef(action.callable),
                                               "op_kwargs": dict(action.kwargs) or None, **extra})
        if action.condition is None:
            ctx.error("DSP012", "a short_circuit needs `condition` (usually Jinja) or `callable`", here)
        return OPERATORS[kind], {"python_callable": ImportRef(CALLABLES["short_circuit"]),
                                 "op_kwargs": {"value": action.condition}, **extra}
    if kind == "trigger_dag":
        return OPERATORS[kind], drop_none({
            "trigger_dag_id": action.dag_id, "conf": action.conf, "wait_for_completion": action.wait or None,
            "poke_interval": action.poke_interval, "reset_dag_run": action.reset_dag_run,
            "logical_date": action.logical_date, "allowed_states": action.allowed_states,
            "failed_states": action.failed_states,
        })
    if kind == "wait_for_dag":
        return OPERATORS[kind], drop_none({
            "external_dag_id": action.dag_id, "external_task_id": action.task_id,
            "external_task_group_id": action.task_group_id, "allowed_states": action.allowed_states,
            "failed_states": action.failed_states,
            "execution_delta": Duration(action.execution_delta) if action.execution_delta is not None else None,
            "mode": action.mode, "poke_interval": action.poke_interval, "timeout": action.timeout,
            "deferrable": action.deferrable,
        })
    if kind == "wait_for_asset":
        return OPERATORS[kind], drop_none({
            "python_callable": ImportRef(CALLABLES["asset_event"]),
            "op_kwargs": {"uri": action.uri},
            "inlets": [asset(action.uri)],
            "mode": action.mode, "poke_interval": action.poke_interval, "timeout": action.timeout,
        })
    if kind == "operator":
        ctx.check_import(task.operator, "operator", path + ("operator",))
        return task.operator, {}
    raise AssertionError(f"unhandled task kind {kind}")  # pragma: no cover - models and this table agree

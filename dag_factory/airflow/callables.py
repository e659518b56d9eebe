"""Small runtime callables and the saga guard operator that compiled plans reference by import path.

The compiler emits these paths (``dagspec.dag_factory.airflow.callables.<name>``) so that a spec can
branch, short-circuit, map over a param or wait for an asset without any user Python code:

* ``choose_branch(value, cases, default)``: ``BranchPythonOperator`` callable; ``value`` is the
  rendered ``on:`` Jinja string, ``cases`` maps a value to the full task ids to follow.
* ``check_condition(value)``: ``ShortCircuitOperator`` callable; truthiness of a rendered string.
* ``param_items(name, **context)``: ``PythonOperator`` callable returning a DAG param as a list, so
  a task can be mapped over it (``.expand(x=param_items_task.output)``).
* ``asset_has_event(uri, **context)``: ``PythonSensor`` callable; true once the asset (an inlet of
  the sensor) has an event at or after the start of the run's data interval.
* ``CompensationGuard``: the leaf the compiler adds after each compensation task; it fails on
  purpose so that a run whose compensation ran still ends FAILED (see ``compile/saga.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .compat import AirflowFailException, BaseOperator

__all__ = [
    "FALSE_STRINGS",
    "choose_branch",
    "check_condition",
    "param_items",
    "asset_has_event",
    "CompensationGuard",
]

FALSE_STRINGS = frozenset({"", "0", "false", "no", "none", "[]", "{}"})


def _key(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def choose_branch(value: Any, cases: Mapping[str, Sequence[str]], default: Sequence[str] = ()) -> list[str]:
    """The task ids of the case whose key equals the rendered ``value`` (stripped), else ``default``.

    Keys are compared as strings, so ``on: "{{ params.size }}"`` with ``cases: {"10": [...]}`` works
    whatever type the param has. An empty list skips every downstream branch.
    """
    key = _key(value)
    if key in cases:
        return list(cases[key])
    return list(default)


def check_condition(value: Any) -> bool:
    """Truthiness of a rendered value: ``""``, ``0``, ``false``, ``no``, ``none``, ``[]``, ``{}`` (any case,
    surrounding blanks ignored) are false, other strings true; non-strings (native rendering) use
    Python truthiness."""
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_STRINGS
    return bool(value)


def param_items(name: str, wrap: bool = False, **context: Any) -> list[Any]:
    """The DAG param ``name`` as a list: a list/tuple as it is, a JSON list string parsed, ``None`` as
    ``[]``, and any other value as a one-item list. ``wrap`` puts each item in a list of its own (one
    positional argument per mapped call)."""
    items = _param_list(context["params"][name])
    return [[item] for item in items] if wrap else items


def _param_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return list(parsed) if isinstance(parsed, list) else [parsed]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _reference_time(context: Mapping[str, Any]) -> datetime | None:
    for key in ("data_interval_start", "logical_date"):
        if context.get(key) is not None:
            return context[key]
    dag_run = context.get("dag_run")
    return getattr(dag_run, "run_after", None) if dag_run is not None else None


def asset_has_event(uri: str, **context: Any) -> bool:
    """Whether the inlet asset named or addressed by ``uri`` has an event at or after the run's data
    interval start (or logical date / run_after for runs without an interval)."""
    inlets = list(context["inlet_events"])
    index = next((i for i, a in enumerate(inlets) if uri in (getattr(a, "uri", None), getattr(a, "name", None))), None)
    if index is None:
        raise AirflowFailException(f"asset {uri!r} is not an inlet of this task")
    events = context["inlet_events"][index]
    since = _reference_time(context)
    if since is not None:
        events = events.after(since.isoformat())
    return len(events.limit(1)) > 0


class CompensationGuard(BaseOperator):
    """Fails on purpose after a compensation task succeeded, so the DAG run ends FAILED.

    It runs only when the compensation ran and succeeded (trigger rule ``all_success`` on it); when
    the compensated tasks succeed, the compensation is skipped and so is this guard.
    """

    ui_color = "#f4a6a6"
    template_fields: Sequence[str] = ()

    def __init__(self, *, compensation: str, compensates: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.compensation = compensation
        self.compensates = list(compensates)

    def execute(self, context: Any) -> None:
        raise AirflowFailException(
            f"compensation `{self.compensation}` ran because one of {', '.join(self.compensates)} failed; "
            "the run is marked failed"
        )

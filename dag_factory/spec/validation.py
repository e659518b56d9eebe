"""Pydantic validation errors to diagnostics: each placed at the offending key or value, with a hint.

``validation_diagnostics`` turns a ``ValidationError`` of ``Spec`` into ``Diagnostic``s (unknown keys
with did-you-mean, missing keys, several or no task actions, wrong types); ``pruned`` gives the data
with the invalid parts replaced, so that one run can go on and report every problem.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Diagnostic, did_you_mean
from . import models
from .models import ACTION_KEYS, Spec, TaskCommon, task_kind
from .placement import move_hint
from .yaml_source import SourceMap, YamlPath

__all__ = ["validation_diagnostics", "pruned", "operator_hint", "KNOWN_OPERATORS"]


def _is_tasks(path: tuple[Any, ...]) -> bool:
    return len(path) % 2 == 1 and all(path[i] == "tasks" for i in range(0, len(path), 2))


def pruned(data: dict[str, Any], exc: ValidationError) -> dict[str, Any]:
    """``data`` with each invalid task replaced by an empty task and other invalid keys dropped."""
    out = copy.deepcopy(data)
    for err in exc.errors(include_url=False):
        path = _data_path(tuple(err["loc"]), data)
        cut = next((i for i in range(1, len(path)) if _is_tasks(path[:i])), None)
        if cut is not None:
            node: Any = out
            for part in path[:cut]:
                node = node[part]
            if path[cut] in node:
                node[path[cut]] = {"empty": True}
        elif path:
            out.pop(str(path[0]), None)
    return out


def _data_path(loc: tuple[Any, ...], data: Any) -> YamlPath:
    """Drop the union tags pydantic puts into error locations, keeping the path through the data."""
    path: list[Any] = []
    node = data
    skip_tag = False
    for part in loc:
        if skip_tag:  # pydantic names the union member chosen for a task or a cluster; not data
            skip_tag = False
            continue
        if isinstance(node, dict) and part in node and (_is_tasks(tuple(path)) or tuple(path) == ("clusters",)):
            path.append(part)
            node = node[part]
            skip_tag = True
        elif isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in node and loc[-1] == part:
            path.append(part)  # the missing or unknown key itself
            break
    return tuple(path)


def _allowed_keys(loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names of the model at ``loc`` (for did-you-mean on unknown keys)."""
    path = _data_path(loc[:-1], data)
    if len(path) in (2, 3) and path[0] == "params":  # (params, name[, union tag])
        return list(models.ParamModel.model_fields)
    node: Any = data
    try:
        for part in path:
            node = node[part]
    except (KeyError, IndexError, TypeError):
        return []
    if path == ():
        return list(Spec.model_fields)
    if len(path) >= 2 and path[-2] == "tasks":
        kind = task_kind(node)
        cls = models._TASK_CLASSES.get(kind or "")
        return list(cls.model_fields) if cls else list(models.TaskCommon.model_fields) + list(ACTION_KEYS)
    if len(path) >= 3 and path[-3] == "tasks":
        cls = models._TASK_CLASSES.get(str(path[-1]))
        if cls is not None:
            action = cls.model_fields[str(path[-1])].annotation
            fields = getattr(action, "model_fields", None)
            if fields is None:
                for arg in getattr(action, "__args__", ()) or ():
                    fields = getattr(arg, "model_fields", None) or fields
            return list(fields or ())
    names: dict[str, type[BaseModel]] = {"default_args": models.OperatorOptions, "dataproc": models.DataprocOptions}
    if path[-1] in names:
        return list(names[str(path[-1])].model_fields)
    if len(path) == 2 and path[0] == "clusters":
        return list(models.EphemeralCluster.model_fields) + ["select"]
    return []


def validation_diagnostics(exc: ValidationError, data: Any, source: SourceMap) -> list[Diagnostic]:
    """One diagnostic per pydantic error, placed at the offending key or value."""
    out: list[Diagnostic] = []
    seen: set[tuple[YamlPath, str]] = set()
    valued: set[YamlPath] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        path = _data_path(loc, data)
        if (path, kind) in seen:
            continue
        seen.add((path, kind))
        key = path[-1] if path else ""
        if kind == "extra_forbidden":
            place = source.find(path, key=True)
            allowed = _allowed_keys(loc, data)
            hint = (move_hint(path, data) or did_you_mean(str(key), allowed)
                    or (f"allowed keys: {', '.join(sorted(allowed))}" if allowed else ""))
            out.append(Diagnostic("DSP010", f"unknown key `{key}`", place.file, place.line, place.column, hint))
        elif kind == "task_action":
            place = source.find(path, key=True)
            node: Any = data
            for part in path:
                node = node[part]
            found = [k for k in ACTION_KEYS if isinstance(node, dict) and k in node]
            if found:
                msg = f"task `{key}` has several actions: {', '.join(found)}"
                hint = "a task does one thing; split it into tasks joined by `depends_on`"
            elif not (isinstance(node, dict) and node) and move_hint(path, data):  # a task key among the tasks
                msg = f"`{key}` is written among the tasks but is not a task"
                hint = move_hint(path, data)
            else:
                msg = f"task `{key}` has no action"
                hint = f"add one of: {', '.join(ACTION_KEYS)} (e.g. `bash: echo hi`, `empty: true`)"
                for other in node if isinstance(node, dict) else ():
                    close = did_you_mean(str(other), ACTION_KEYS)
                    if other not in TaskCommon.model_fields and close:
                        place = source.find(path + (other,), key=True)
                        msg = f"task `{key}` has no action; `{other}` is not a task key"
                        hint = close
                        break
            out.append(Diagnostic("DSP013", msg, place.file, place.line, place.column, hint))
        elif kind == "missing":
            place = source.find(path[:-1])
            out.append(Diagnostic("DSP012", f"missing required key `{key}`", place.file, place.line, place.column,
                                  f"add `{key}:` here"))
        elif path not in valued:  # one per value: a union (date | datetime) fails once per member
            valued.add(path)
            place = source.find(path)
            where = ".".join(str(p) for p in path) or "spec"
            message, hint = _value_problem(err, path, data)
            out.append(Diagnostic("DSP011", f"`{where}`: {message}", place.file, place.line, place.column, hint))
    return out


def _value_problem(err: Mapping[str, Any], path: YamlPath, data: Any) -> tuple[str, str]:
    """The message and hint for a value the model refuses (wrong type, not an allowed value ...)."""
    kind, message, ctx = str(err["type"]), str(err["msg"]), err.get("ctx") or {}
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    value = err.get("input")
    choices = [c.strip().strip("'") for c in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
    if kind == "literal_error" and isinstance(value, str) and not {"True", "False"} & set(choices):
        # one of a fixed set of names: the closest one, and the set listed once
        close = did_you_mean(value, choices)
        return (f"`{value}` is not one of the allowed values",
                f"{close} The values are: {', '.join(choices)}" if close else f"one of: {', '.join(choices)}")
    if kind.startswith(("date_", "datetime_")) and ctx.get("error"):
        return (f"`{value}` is not a valid date: {ctx['error']}",
                "write a date `2024-06-01` or a date and time `2024-06-01T06:00:00` (ISO 8601)")
    if kind == "string_pattern_mismatch" and path and path[-1] in ("operator", "notifier") and "." not in str(value):
        return (f"`{value}` is not an import path",
                operator_hint(str(value)) if path[-1] == "operator" else "write the dotted import path of the class")
    return message, _type_hint(err)


# operators a spec often names by their class alone; the hint gives their import path
KNOWN_OPERATORS = tuple(f"airflow.providers.standard.{path}" for path in (
    "operators.bash.BashOperator", "operators.python.PythonOperator", "operators.python.BranchPythonOperator",
    "operators.python.ShortCircuitOperator", "operators.python.PythonVirtualenvOperator",
    "operators.empty.EmptyOperator", "operators.trigger_dagrun.TriggerDagRunOperator",
    "operators.datetime.BranchDateTimeOperator", "operators.latest_only.LatestOnlyOperator",
    "sensors.external_task.ExternalTaskSensor", "sensors.python.PythonSensor", "sensors.bash.BashSensor",
    "sensors.filesystem.FileSensor", "sensors.time_delta.TimeDeltaSensor",
)) + tuple(f"dagspec.provider.operators.{path}" for path in (
    "job.DataprocSubmitJobOperator", "job.DataprocSubmitBatchOperator", "cluster.DataprocCreateClusterOperator",
    "cluster.DataprocDeleteClusterOperator", "gcs.GcsUploadOperator",
    "workflow.DataprocInstantiateWorkflowTemplateOperator",
))


def operator_hint(name: str) -> str:
    """For an operator written by its class name alone: the import path of the closest known one."""
    by_class = {path.rpartition(".")[2]: path for path in KNOWN_OPERATORS}
    close = did_you_mean(name, by_class)
    if close:
        cls = close.split("`")[1]
        return f"an operator is named by its import path: did you mean `{by_class[cls]}`?"
    return "an operator is named by its import path, e.g. `airflow.providers.standard.operators.bash.BashOperator`"


def _type_hint(err: Mapping[str, Any]) -> str:
    expected = err.get("ctx", {}).get("expected")
    if expected:
        return f"expected {expected}"
    kind = str(err["type"])
    if kind.startswith("int"):
        return "write a whole number"
    if kind.startswith("bool"):
        return "write true or false"
    if kind.startswith("string_pattern"):
        return "write a dotted import path like `package.module.name`" if "A-Za-z_" in str(err.get("ctx")) else ""
    if kind in ("dict_type", "model_type"):
        return "write a mapping (key: value lines)"
    if kind == "list_type":
        return "write a list (`[a, b]` or `- a` lines)"
    return ""

"""The Airflow lines dagspec supports and what a spec may use on each: checks a spec against the line that will parse it.

Pure data and pure checks (no Airflow import): ``validate``/``deploy --airflow-version X.Y`` check the
specs against the Airflow line of the target environment, which may differ from the Airflow installed
here. The compiler's signature checks read the *installed* Airflow; the tables below say what the
older lines lack, so that a spec using an argument of a newer Airflow is stopped with its line
(DSP092) before it reaches an environment whose Airflow would fail to parse it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import Diagnostic

__all__ = ["SUPPORTED_LINES", "ASSETS_SINCE", "parse_line", "format_line", "target_line", "line_diagnostics",
           "LINE_ENV", "LINE_HELP", "LINE_ARG_CODE",
           "LINE_FEATURE_CODE", "DAG_ARGS_SINCE", "OPERATOR_ARGS_SINCE"]

Line = tuple[int, int]

LINE_ARG_CODE = "DSP092"  # a DAG or operator argument the target Airflow line does not have
LINE_FEATURE_CODE = "DSP093"  # a spec feature the target Airflow line cannot run (name-only assets on 2.11)

# the lines Cloud Composer runs that dagspec knows; 3.4 is the pre-release with the DAG importer
SUPPORTED_LINES: tuple[Line, ...] = ((2, 11), (3, 1), (3, 2), (3, 3), (3, 4))
# Airflow 2 (datasets instead of assets) lacks: assets named without a URI, and the asset-event
# accessors `wait_for_asset` reads (``inlet_events[...].after()``)
ASSETS_SINCE: Line = (3, 0)

# DAG arguments (a spec's `airflow:` keys) by the first Airflow line that takes them (read from
# `airflow.sdk.DAG` on each line)
DAG_ARGS_SINCE: Mapping[str, Line] = {
    "rerun_with_latest_version": (3, 3),
    "allowed_run_types": (3, 2),
    "deadline": (3, 1),
    "disable_bundle_versioning": (3, 0),
    "fail_fast": (3, 0),
}
# arguments every operator takes (``BaseOperator``), by the first line that has them (a task's `args:`)
OPERATOR_ARGS_SINCE: Mapping[str, Line] = {
    "retry_policy": (3, 3),
    "render_template_as_native_obj": (3, 2),
}


def format_line(line: Line) -> str:
    return f"{line[0]}.{line[1]}"


def parse_line(text: str) -> Line:
    """``"3.2"``, ``"3.2.2"`` or a Composer image version (``composer-3-airflow-3.2.2-build.5``, what
    ``gcloud composer environments describe`` prints as ``config.softwareConfig.imageVersion``) -> ``(3, 2)``;
    ValueError naming the supported lines otherwise."""
    found = (re.fullmatch(r"\s*composer-[\w.]+-airflow-(\d+)\.(\d+)(?:\.\d+\S*)?\s*", text or "")
             or re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+\S*)?\s*", text or ""))
    supported = ", ".join(format_line(line) for line in SUPPORTED_LINES)
    if found is None:
        raise ValueError(f"`{text}` is not an Airflow version like 3.2 or 2.11.1, nor a Composer image version like "
                         f"composer-3-airflow-3.2.2-build.5 (dagspec knows {supported})")
    line = (int(found.group(1)), int(found.group(2)))
    if line not in SUPPORTED_LINES:
        raise ValueError(f"dagspec does not support Airflow {format_line(line)} (it knows {supported})")
    return line


LINE_ENV = "AIRFLOW__DAGSPEC__AIRFLOW_VERSION"  # `[dagspec] airflow_version`: the default of --airflow-version
LINE_HELP = ("check the specs against this Airflow line, the one that will parse them (e.g. 3.1, 2.11, or the "
             "environment's Composer image version, composer-3-airflow-3.1.8-build.3; default: "
             f"${LINE_ENV}, else no line check)")


def target_line(flag: str | None, env: Mapping[str, str]) -> Line | None:
    """The Airflow line to check against: the flag, else ``[dagspec] airflow_version`` from ``env``; ValueError if bad."""
    text = flag if flag else env.get(LINE_ENV, "")
    return parse_line(text) if text.strip() else None


def line_diagnostics(spec: Any, source: Any, line: Line) -> list[Diagnostic]:
    """What in ``spec`` (a spec model; ``source`` maps its YAML paths to places) cannot work on Airflow ``line``."""
    name = format_line(line)
    out: list[Diagnostic] = []

    def error(code: str, message: str, path: tuple[Any, ...], hint: str) -> None:
        loc = source.find(path, key=True)
        out.append(Diagnostic(code, message, loc.file, loc.line, loc.column, hint))

    if line < ASSETS_SINCE:
        for path, asset in _asset_items(spec):
            if _name_only(asset):
                error(LINE_FEATURE_CODE, f"asset `{_label(asset)}` has only a name: Airflow {name}'s datasets are "
                      "identified by a URI", path, "give the asset a `uri` (e.g. `gs://bucket/path`), or deploy to "
                      "an environment on Airflow 3")
        for path, _args in _task_args(spec.tasks, ("tasks",)):
            if _task_at(spec, path).__class__.__name__ == "WaitForAssetTask":
                error(LINE_FEATURE_CODE, f"`wait_for_asset` reads asset events, which Airflow {name} cannot query",
                      path + ("wait_for_asset",), "schedule the DAG on the asset instead (`schedule: {assets: ...}`), "
                      "or deploy to an environment on Airflow 3")
    for key in spec.airflow:
        since = DAG_ARGS_SINCE.get(key)
        if since is not None and line < since:
            error(LINE_ARG_CODE, f"`airflow.{key}` is a DAG argument of Airflow {format_line(since)} and later: "
                  f"Airflow {name} would fail to parse this DAG", ("airflow", key),
                  f"remove `{key}`, or deploy to an environment on Airflow {format_line(since)} or later")
    for path, args in _task_args(spec.tasks, ("tasks",)):
        for key in args:
            since = OPERATOR_ARGS_SINCE.get(key)
            if since is not None and line < since:
                error(LINE_ARG_CODE, f"operator argument `{key}` exists on Airflow {format_line(since)} and later: "
                      f"Airflow {name} would fail to parse this DAG", path + ("args", key),
                      f"remove `{key}`, or deploy to an environment on Airflow {format_line(since)} or later")
    return out


def _name_only(asset: Any) -> bool:
    return ("://" not in asset) if isinstance(asset, str) else getattr(asset, "uri", None) is None


def _label(asset: Any) -> str:
    return asset if isinstance(asset, str) else str(getattr(asset, "name", ""))


def _asset_items(spec: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every asset the spec names (schedule, tasks' inlets and outlets), with its YAML path."""
    schedule = getattr(spec.schedule, "assets", None)
    if schedule is not None:
        yield from _expr_items(schedule, ("schedule", "assets"))
    for path, _args in _task_args(spec.tasks, ("tasks",)):
        task = _task_at(spec, path)
        for field in ("inlets", "outlets"):
            for i, item in enumerate(getattr(task, field, None) or ()):
                yield path + (field, i), item


def _expr_items(expr: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(expr, list):
        for i, item in enumerate(expr):
            yield from _expr_items(item, path + (i,))
    elif hasattr(expr, "all") or hasattr(expr, "any"):
        key = "all" if hasattr(expr, "all") else "any"
        yield from _expr_items(getattr(expr, key), path + (key,))
    else:
        yield path, expr


def _task_at(spec: Any, path: tuple[Any, ...]) -> Any:
    node: Any = spec
    for part in path:
        node = node[part] if isinstance(node, Mapping) else getattr(node, part)
    return node


def _task_args(tasks: Mapping[str, Any], path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Mapping[str, Any]]]:
    for task_id, task in tasks.items():
        inner = getattr(task, "tasks", None)
        if inner is not None and not hasattr(task, "args"):  # a task group
            yield from _task_args(inner, path + (task_id, "tasks"))
        else:
            yield path + (task_id,), getattr(task, "args", None) or {}

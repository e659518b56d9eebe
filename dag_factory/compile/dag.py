"""DAG-level compile: schedule, dates, params, default args, callbacks, docs and version tags."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import Diagnostic, did_you_mean
from ..spec import models
from ..spec.files import TEXT_MAX, FileRefused, read_text, resolve
from ..spec.load import LoadedSpec
from ..spec.secrets import redact
from ..spec.values import parse_duration
from .context import CompileContext
from .cron import FIELDS_HINT, cron_problem
from .gitref import git_commit, git_inputs
from .params import check_param
from .passthrough import check_airflow_key
from .plan import AssetCondition, CallbackRef, Duration, ParamSpec, Schedule
from .tasks import asset, callbacks, common_args

__all__ = ["schedule", "dag_kwargs", "params", "doc_md", "doc_file_path", "PRESETS", "git_commit",
           "git_inputs"]

PRESETS = ("@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly",
           "@annually", "@midnight")
_DURATION_LIKE = re.compile(r"^\s*\d+(\.\d+)?\s*(ms|s|sec|m|min|h|d|w)(\s*\d+(\.\d+)?\s*(ms|s|sec|m|min|h|d|w))*\s*$")
_RESERVED_DAG_ARGS = {"dag_id", "schedule", "params", "doc_md", "default_args", "task_group"}


def _bad_cron(ctx: CompileContext, expr: str, path: tuple[str, ...], hint: str = "") -> None:
    """A DSP030 for an invalid cron expression, its caret under the bad field when the value is on one line."""
    problem = cron_problem(expr)
    if problem is None:
        return
    why, offset = problem
    loc = ctx.loaded.source.find(path)
    line = ctx.loaded.source.lines[loc.line - 1] if loc.file == ctx.loaded.source.file and \
        0 < loc.line <= len(ctx.loaded.source.lines) else ""
    written = line[loc.column - 1:]
    start = written.find(expr) if written.startswith(("'", '"', expr[:1])) else -1
    column = loc.column + start + offset if 0 <= start <= 1 else loc.column
    ctx.diagnostics.append(Diagnostic("DSP030", f"bad cron expression `{expr}`: {why}", loc.file, loc.line, column,
                                      f"{FIELDS_HINT}; {hint}" if hint else FIELDS_HINT))


def schedule(ctx: CompileContext, value: Any) -> Schedule:
    path = ("schedule",)
    if value is None:
        return Schedule("none")
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("@"):
            if text not in PRESETS:
                ctx.error("DSP030", f"unknown schedule preset `{text}`", path,
                          did_you_mean(text, PRESETS) or f"presets: {', '.join(PRESETS)}")
            return Schedule("preset", text)
        if _DURATION_LIKE.match(text):
            return Schedule("every", Duration(parse_duration(text)))
        _bad_cron(ctx, text, path, "e.g. `0 6 * * *` (06:00 daily), a preset like `@daily`, or a duration like `6h`")
        return Schedule("cron", text)
    if isinstance(value, models.Every):
        return Schedule("every", Duration(value.every))
    if isinstance(value, models.CronSchedule):
        _bad_cron(ctx, value.cron, path + ("cron",))
        if value.timezone:
            _zone(ctx, value.timezone, path + ("timezone",))
        return Schedule("timetable", CallbackRef("airflow.timetables.trigger.CronTriggerTimetable",
                                                 {"cron": value.cron, "timezone": value.timezone or "UTC"}))
    if isinstance(value, models.TimetableSchedule):
        obj = ctx.check_import(value.timetable, "callable", path + ("timetable",), what="timetable")
        ctx.check_call(value.timetable, obj, dict(value.args), path + ("timetable",), path + ("args",), "timetable")
        return Schedule("timetable", CallbackRef(value.timetable, dict(value.args)))
    assert isinstance(value, models.AssetsSchedule)
    condition = _assets(value.assets)
    why = _empty_asset(condition)
    if why:
        ctx.error("DSP011", f"`schedule.assets`: {why}", path + ("assets",),
                  "name at least one asset, e.g. `schedule: {assets: [gs://bucket/report]}`")
    return Schedule("assets", condition)


def _empty_asset(condition: AssetCondition) -> str:
    """Why Airflow would refuse the condition: an empty list, or an asset without uri or name."""
    if not condition.items:
        return f"an `{condition.op}` condition needs at least one asset"
    for item in condition.items:
        why = _empty_asset(item) if isinstance(item, AssetCondition) else (
            "" if item.uri is not None or item.name is not None else "an asset needs a `uri` or a `name`")
        if why:
            return why
    return ""


def _assets(expr: Any) -> AssetCondition:
    if isinstance(expr, models.AnyOf):
        return AssetCondition("any", tuple(_asset_item(e) for e in expr.any))
    if isinstance(expr, models.AllOf):
        return AssetCondition("all", tuple(_asset_item(e) for e in expr.all))
    items = expr if isinstance(expr, list) else [expr]
    return AssetCondition("all", tuple(_asset_item(e) for e in items))


def _asset_item(expr: Any) -> Any:
    if isinstance(expr, (models.AllOf, models.AnyOf, list)):
        return _assets(expr)
    return asset(expr)


def _zone(ctx: CompileContext, name: str, path: tuple) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.error("DSP011", f"unknown time zone `{name}`", path, "use an IANA name like `Europe/Paris` or `UTC`")
        return ZoneInfo("UTC")


def _when(ctx: CompileContext, value: date | datetime | None, key: str) -> datetime | None:
    if value is None:
        return None
    spec = ctx.loaded.spec
    zone = _zone(ctx, spec.timezone, ("timezone",)) if spec.timezone else ZoneInfo("UTC")
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    return value if value.tzinfo else value.replace(tzinfo=zone)


def params(ctx: CompileContext) -> dict[str, ParamSpec]:
    out: dict[str, ParamSpec] = {}
    for name, value in ctx.loaded.spec.params.items():
        if isinstance(value, models.ParamModel):
            schema = value.model_dump(exclude_none=True, exclude={"default", "description"})
            check_param(ctx, name, value, schema)
            out[name] = ParamSpec(value.default, schema, value.description)
        else:
            out[name] = ParamSpec(value)
    return out


def dag_kwargs(ctx: CompileContext) -> dict[str, Any]:
    spec = ctx.loaded.spec
    default_args = common_args(ctx, spec.default_args, ("default_args",))
    if spec.owner:
        default_args.setdefault("owner", spec.owner)
    tags = list(dict.fromkeys([*spec.tags, "dagspec"]))
    out: dict[str, Any] = {
        "description": spec.description,
        "start_date": _when(ctx, spec.start_date, "start_date"),
        "end_date": _when(ctx, spec.end_date, "end_date"),
        "catchup": spec.catchup,
        "tags": tags,
        "owner_links": dict(spec.owner_links) or None,
        "default_args": default_args or None,
        "max_active_runs": spec.max_active_runs,
        "max_active_tasks": spec.max_active_tasks,
        "max_consecutive_failed_dag_runs": spec.max_consecutive_failed_dag_runs,
        "dagrun_timeout": Duration(spec.dagrun_timeout) if spec.dagrun_timeout is not None else None,
        "access_control": spec.access_control,
        "is_paused_upon_creation": spec.is_paused_upon_creation,
        "render_template_as_native_obj": spec.render_template_as_native_obj,
        "dag_display_name": spec.dag_display_name,
        "on_success_callback": callbacks(ctx, spec.on_success_callback, ("on_success_callback",))
        if spec.on_success_callback else None,
        "on_failure_callback": callbacks(ctx, spec.on_failure_callback, ("on_failure_callback",))
        if spec.on_failure_callback else None,
    }
    out = {k: v for k, v in out.items() if v is not None}
    if spec.airflow:
        accepted = ctx.resolver.accepted_args("airflow.sdk.DAG") if ctx.check_imports else None
        for key, value in spec.airflow.items():
            if key in _RESERVED_DAG_ARGS or key in out:
                ctx.error("DSP041", f"`airflow.{key}` is set by dagspec", ("airflow", key),
                          f"write `{key}:` at the top level of the spec instead", key=True)
            elif accepted is not None and key not in accepted:
                ctx.error("DSP041", f"Airflow's DAG takes no argument `{key}`", ("airflow", key),
                          did_you_mean(key, accepted) or "see airflow.sdk.DAG for its arguments", key=True)
            else:
                keep, value = check_airflow_key(ctx, key, value)
                if keep:
                    out[key] = value
    return out




def doc_file_path(loaded: LoadedSpec) -> Path | None:
    """The file ``doc_file:`` names, or None; an input of the plan (the cache watches it)."""
    if not loaded.spec.doc_file:
        return None
    return loaded.path.parent / loaded.spec.doc_file


def doc_md(ctx: CompileContext, commit: str) -> str:
    """The DAG's docs: ``doc``, ``doc_file``, where it came from and the spec source. Values read from
    the environment show as their ``${env.NAME}`` reference."""
    spec = ctx.loaded.spec
    parts = []
    if spec.doc:
        parts.append(redact(spec.doc.strip(), ctx.loaded.secrets))
    if spec.doc_file:
        try:
            doc_path = resolve(spec.doc_file, ctx.loaded.path.parent, ctx.roots)
            parts.append(read_text(doc_path, spec.doc_file, TEXT_MAX).strip())
        except FileRefused as refused:
            ctx.error(refused.code, f"doc_file: {refused.message}", ("doc_file",), refused.hint)
    facts = [f"**Spec:** `{ctx.loaded.file}`", f"**Spec hash:** `{ctx.loaded.spec_hash[:12]}`"]
    if commit:
        facts.append(f"**Git commit:** `{commit[:12]}`")
    parts.append("  \n".join(facts))
    fence = "````" if "```" in ctx.loaded.text else "```"
    parts.append(f"#### Spec source\n\n{fence}yaml\n{ctx.loaded.text.rstrip()}\n{fence}")
    return "\n\n".join(parts)

"""dag-factory DAG configurations → spec data (one spec per DAG, ``_defaults.yaml`` per defaults file).

Pure apart from reading the source files: ``convert_paths`` returns the texts to write and the
issues; the command writes them. Every value dag-factory would use is either converted, reported as
converted approximately (DSP101), or reported as not converted (DSP100) and kept commented out.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..spec.units import LOADER_TEXT, SINGLE_LOADER  # the one loader text (init, init-dag-folder, README)
from .emit import spec_text
from .folders import folder_defaults, inherited, subtract
from .options import callback, is_plain, options, plain
from .read import DagSource, find_sources, read_file
from .report import Collector, Issue
from .tasks import asset, convert_tasks
from .values import AllOf, AnyOf, Typed, as_seconds, decode, duration_text, is_timetable

__all__ = ["Issue", "Result", "convert_paths", "convert_dag"]

_SAME = ("description", "catchup", "max_active_runs", "max_active_tasks", "is_paused_upon_creation",
         "render_template_as_native_obj", "dag_display_name", "access_control", "timezone")
_IGNORED = {"default_view": "an Airflow 2 setting", "orientation": "an Airflow 2 setting",
            "sla_miss_callback": "removed in Airflow 3.1"}
_HANDLED = {*_SAME, "schedule", "start_date", "end_date", "tags", "params", "default_args", "doc_md",
            "doc_md_file_path", "timetable", "on_success_callback", "on_failure_callback", "dagrun_timeout", "concurrency",
            "template_searchpath", "user_defined_macros", "tasks", "task_groups"}
KNOWN_DIFFERENCES = (
    "every DAG: dag-factory adds the tag `dagfactory`; dagspec adds `spec:<hash>` (and `git:<commit>`) instead",
    "every DAG: dag-factory appends its YAML to the DAG's docs (`## YML DAG`); dagspec shows the spec's source",
)
_RELATIVE = re.compile(r"^\s*\d+\s+(day|hour|minute|second)", re.IGNORECASE)


@dataclass
class Result:
    """What a conversion produced: files to write (relative path → text), DAG ids, issues."""

    files: dict[str, str] = field(default_factory=dict)
    dags: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    copies: dict[str, Path] = field(default_factory=dict)  # relative path → source file to copy

    @property
    def not_converted(self) -> list[Issue]:
        return [i for i in self.issues if i.status == "not_converted"]


def _date(col: Collector, value: Any, path: tuple[Any, ...]) -> Any:
    if isinstance(value, datetime):  # dag-factory replaces the zone by the DAG's `timezone` (not converts)
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    if isinstance(value, Typed) and value.type in ("datetime.datetime", "pendulum.datetime", "datetime.date"):
        try:
            cls = date if value.type == "datetime.date" else datetime
            return cls(*value.args, **value.kwargs)
        except (TypeError, ValueError):
            pass
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).replace(tzinfo=None) if "T" in value or ":" in value \
                else date.fromisoformat(value.strip())
        except ValueError:
            pass
        if _RELATIVE.match(value):
            days = {"day": 1, "hour": 1 / 24, "minute": 1 / 1440, "second": 1 / 86400}
            n, unit = value.split()[:2]
            fixed = date.today() - timedelta(days=int(n) * days[unit.lower().rstrip("s")])
            col.add("approximate", path, f"`{value}` moves with every parse in dag-factory (today minus "
                    f"{n} {unit}); the spec fixes it at the conversion date {fixed.isoformat()}",
                    "set the real first date of the DAG")
            return fixed
    col.add("not_converted", path, f"a date dagspec cannot read: {value!r}")
    return None


def _asset_expr(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, AllOf):
        return {"all": [_asset_expr(v) for v in value.items]}
    if isinstance(value, AnyOf):
        return {"any": [_asset_expr(v) for v in value.items]}
    if isinstance(value, Typed) and value.type.endswith((".Asset", ".Dataset")):
        return asset(value)
    raise ValueError(value)


def _schedule(col: Collector, value: Any) -> tuple[bool, Any]:
    path = ("schedule",)
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return True, None
    if isinstance(value, str):
        return True, value
    seconds = as_seconds(value)
    if seconds is not None:
        return True, {"every": duration_text(seconds)}
    try:
        if isinstance(value, list):
            return True, {"assets": [_asset_expr(v) for v in value if v is not None and str(v).strip()]}
        if isinstance(value, (AllOf, AnyOf)) or (isinstance(value, Typed) and value.type.endswith((".Asset", ".Dataset"))):
            return True, {"assets": _asset_expr(value)}
    except ValueError:
        pass
    if isinstance(value, Typed) and is_timetable(value.type) and is_plain(list(value.args)) and is_plain(value.kwargs):
        args = dict(value.kwargs)
        if value.args:
            names = _positional_names(value.type)
            if names is None or len(names) < len(value.args):
                col.add("not_converted", path, f"timetable `{value.type}` with positional `__args__` whose names "
                        "dagspec cannot find", "give the timetable's arguments by name")
                return False, None
            args.update(zip(names, value.args, strict=False))
        return True, {"timetable": value.type, "args": args} if args else {"timetable": value.type}
    col.add("not_converted", path, "a schedule dagspec cannot express (objects as timetable arguments, "
            "`datasets:` mappings, asset-or-time schedules)",
            "use cron, a preset, a duration, {timetable, args} with plain arguments, or {assets: ...}")
    return False, None


def _positional_names(path: str) -> list[str] | None:
    """The parameter names of a timetable class, read from its signature (imports the class)."""
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
        params = list(inspect.signature(cls).parameters.values())
    except Exception:  # noqa: BLE001 - any import problem means: names unknown
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _params(col: Collector, value: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        if isinstance(item, Typed) and item.type.endswith(".Param"):
            model = {k: v for k, v in item.kwargs.items()}
            if item.args:
                model["default"] = item.args[0]
            out[key] = model
        elif plain(col, item, ("params", key), f"param `{key}`")[0]:
            out[key] = item
    return out


def convert_dag(dag: DagSource) -> tuple[dict[str, Any], Collector, dict[str, Path]]:
    """One DAG's spec data, its issues, and files to copy beside the spec."""
    col = Collector(dag)
    config = decode(dag.config)
    spec: dict[str, Any] = {}
    copies: dict[str, Path] = {}
    for key in config:
        if key in _IGNORED and config[key] is not None:
            col.add("dropped", (key,), f"`{key}` is ignored by dag-factory on Airflow 3 ({_IGNORED[key]})")
        elif key == "timetable":
            col.add("not_converted", (key,), "`timetable:` is refused by Airflow 3's DAG (dag-factory passes it on)",
                    "write the timetable as `schedule:`")
        elif key == "schedule_interval":
            col.add("not_converted", (key,), "`schedule_interval` is refused by dag-factory on Airflow 3",
                    "write `schedule:`")
        elif key.endswith(("_callback_name", "_callback_file")) or key.startswith("doc_md_python"):
            if not key.endswith("_file") and not key.startswith("doc_md_python_arguments"):
                col.add("not_converted", (key,), f"`{key}` loads a function from a file path at parse time",
                        "make it importable: `on_failure_callback: module.function`, or `doc:` text")
        elif key not in _HANDLED:
            col.add("dropped", (key,), f"`{key}` is not a key dag-factory passes to the DAG; it is dropped")
    if "description" in config:
        spec["description"] = config["description"]
    ok, schedule = _schedule(col, config.get("schedule"))
    if ok and "schedule" in config:
        spec["schedule"] = schedule
    dargs = dict(config.get("default_args") or {})
    for key in ("start_date", "end_date"):
        value = config.get(key, dargs.get(key))
        if value is not None:
            where = (key,) if key in config else ("default_args", key)
            converted = _date(col, value, where)
            if converted is not None:
                spec[key] = converted
        dargs.pop(key, None)
    for key in _SAME:
        if config.get(key) is not None:
            spec[key] = config[key]
    if config.get("concurrency") is not None and "max_active_tasks" not in spec:
        spec["max_active_tasks"] = config["concurrency"]
    if config.get("dagrun_timeout") is not None:
        seconds = as_seconds(config["dagrun_timeout"])
        if seconds is None:
            col.add("not_converted", ("dagrun_timeout",), "`dagrun_timeout` is not a timedelta")
        else:
            spec["dagrun_timeout"] = duration_text(seconds)
    if config.get("tags"):
        spec["tags"] = [str(t) for t in config["tags"]]
    if config.get("params"):
        spec["params"] = _params(col, config["params"])
    for key in ("on_success_callback", "on_failure_callback"):
        if config.get(key) is not None:
            converted = callback(col, config[key], (key,))
            if converted is not None:
                spec[key] = converted
    if dargs:
        opts, rest = options(col, dargs, ("default_args",))
        for key in rest:
            col.add("not_converted", ("default_args", key), f"default_args `{key}` is not an option dagspec "
                    "tasks share", "set it as an argument of the tasks that need it")
        if opts:
            spec["default_args"] = opts
    airflow: dict[str, Any] = {}
    if config.get("template_searchpath") is not None:
        airflow["template_searchpath"] = config["template_searchpath"]
    macros = config.get("user_defined_macros")
    if macros:
        if _has_str(macros):
            col.add("not_converted", ("user_defined_macros",), "dag-factory imports every text value of "
                    "`user_defined_macros` as a function; dagspec passes macros as data and imports nothing",
                    "keep data macros here; turn function macros into Jinja or a Python task")
        elif is_plain(macros):
            airflow["user_defined_macros"] = macros
    if airflow:
        spec["airflow"] = airflow
    if config.get("doc_md") is not None:
        spec["doc"] = config["doc_md"]
    if config.get("doc_md_file_path"):
        source = Path(os.path.expandvars(str(dag.config["doc_md_file_path"])))  # as dag-factory reads it
        name = f"{dag.dag_id}.md"
        copies[name] = source
        spec["doc_file"] = name
        col.add("approximate", ("doc_md_file_path",), f"the doc file is copied beside the spec as `{name}` "
                "(dagspec reads doc files inside the dag folder only)")
    spec["tasks"] = convert_tasks(col, config)
    return spec, col, copies


def _has_str(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(_has_str(v) for v in value.values())
    return False


def convert_paths(paths: list[Path], defaults_root: Path | None = None,
                  progress: Any = None) -> Result:
    """Convert dag-factory files and folders; specs are named after their DAG ids."""
    result = Result()
    found, loaders, diags = find_sources(paths)
    result.issues += [Issue("not_converted", d.message, d.file, d.line, "", d.hint) for d in diags]
    cache: dict[Path, Any] = {}
    per_file: list[tuple[Path, Path | None, list[DagSource]]] = []
    for n, (file, folder) in enumerate(found, 1):
        if progress:
            progress(n, len(found), file)
        dags, file_diags = read_file(file, defaults_root or folder or file.parent, cache)
        result.issues += [Issue("not_converted", d.message, d.file, d.line, "", d.hint) for d in file_diags]
        per_file.append((file, folder, dags))
    converted = []
    for file, folder, dags in per_file:
        for dag in dags:
            spec, col, copies = convert_dag(dag)
            converted.append((file, folder, dag, spec, col, copies))
    layers: dict[Path, dict[str, Any]] = {}
    for folder in {f for _, f, _ in per_file if f is not None}:
        found_layers = folder_defaults([(d, s) for _, f, d, s, _, _ in converted if f == folder], folder)
        for path, data in found_layers.items():
            layers[path] = data
            if data:
                target = path.parent.relative_to(folder.resolve()) / "_defaults.yaml"
                result.files[target.as_posix()] = spec_text(data, [], f"dag-factory defaults: {path}")
    for file, folder, dag, spec, col, copies in converted:
        rel_dir = file.resolve().parent.relative_to(folder.resolve()) if folder else Path()
        if folder:
            subtract(spec, inherited(dag, layers))
        rel = (rel_dir / f"{dag.dag_id}.yaml").as_posix()
        if rel in result.files:
            col.add("not_converted", (), f"DAG id `{dag.dag_id}` is defined twice")
        result.files[rel] = spec_text(spec, col.blocks, f"dag-factory: {file} ({dag.dag_id})")
        result.copies.update({(rel_dir / k).as_posix(): v for k, v in copies.items()})
        result.dags.append(dag.dag_id)
        result.issues += col.issues
    if loaders:
        result.files[SINGLE_LOADER] = LOADER_TEXT
        result.issues += [Issue("approximate", f"this dag-factory loader file is replaced by {SINGLE_LOADER} (written "
                                "to the output folder), which builds every spec of the dag folder", str(p), 1)
                          for p in loaders]
    if result.dags:
        result.issues += [Issue("approximate", text, "", 0) for text in KNOWN_DIFFERENCES]
    return result

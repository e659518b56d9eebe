"""dag-factory defaults files → ``_defaults.yaml``: what both tools merge alike moves up into the folder.

Both merge ``default_args`` key by key (nearest file winning) and let the nearest file set a scalar
DAG key (``catchup``, ``max_active_runs``, a cron ``schedule`` ...); a DAG's own value wins in both.
``tags`` differ: dagspec combines a spec's tags with its folders', dag-factory replaces them when a
DAG names its own, so a defaults file's tags move up only when every DAG below keeps them all.
Each spec then keeps only what differs from what it inherits (``key: null`` where dag-factory's
DAG had no value but the folder sets one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..spec.yaml_source import load_yaml
from .options import options
from .read import DagSource
from .report import Collector
from .values import decode

__all__ = ["folder_defaults", "inherited", "subtract"]

SCALARS = ("description", "catchup", "max_active_runs", "max_active_tasks", "is_paused_upon_creation",
           "render_template_as_native_obj", "dag_display_name", "timezone", "schedule")


def _layer(path: Path, dag: DagSource) -> dict[str, Any]:
    doc, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
    data = decode(doc.data) if doc and isinstance(doc.data, dict) else {}
    out: dict[str, Any] = {}
    for key in SCALARS:
        value = data.get(key)
        if isinstance(value, (str, bool, int)) and not (key == "schedule" and str(value).strip().lower() == "none"):
            out[key] = value
    tags = data.get("tags")
    if isinstance(tags, list) and tags and all(isinstance(t, str) for t in tags):
        out["tags"] = sorted(set(tags))
    dargs = {k: v for k, v in (data.get("default_args") or {}).items() if k not in ("start_date", "end_date")}
    opts, _rest = options(Collector(DagSource(dag.dag_id, dag.file, {}, dag.layers)), dargs, ("default_args",))
    if opts:  # what does not convert is reported on each DAG that uses it
        out["default_args"] = opts
    return out


def folder_defaults(items: list[tuple[DagSource, dict[str, Any]]], root: Path) -> dict[Path, dict[str, Any]]:
    """The ``_defaults.yaml`` data of each defaults file under ``root``, given the DAGs and their specs."""
    layers: dict[Path, dict[str, Any]] = {}
    top = root.resolve()
    for dag, _spec in items:
        for path in dag.defaults_files:
            if path not in layers and top in [path.parent, *path.parent.parents]:
                layers[path] = _layer(path, dag)
    for path, data in layers.items():
        if "tags" in data and any(path in dag.defaults_files and not set(data["tags"]) <= set(spec.get("tags", []))
                                  for dag, spec in items):
            del data["tags"]
    return layers


def inherited(dag: DagSource, layers: dict[Path, dict[str, Any]]) -> dict[str, Any]:
    """What the spec of ``dag`` inherits from the ``_defaults.yaml`` files of its folders (dagspec's merge)."""
    out: dict[str, Any] = {}
    for path in reversed(dag.defaults_files):  # farthest first
        for key, value in layers.get(path, {}).items():
            if key == "default_args":
                out[key] = {**out.get(key, {}), **value}
            elif key == "tags":
                out[key] = list(dict.fromkeys([*out.get(key, []), *value]))
            else:
                out[key] = value
    return out


def subtract(spec: dict[str, Any], inherit: dict[str, Any]) -> None:
    """Leave in ``spec`` only what differs from what it inherits."""
    for key, value in inherit.items():
        if key == "default_args":
            kept = {k: v for k, v in spec.get(key, {}).items() if value.get(k) != v}
            if kept:
                spec[key] = kept
            else:
                spec.pop(key, None)
        elif key == "tags":
            own = [t for t in spec.get(key, []) if t not in value]
            if own:
                spec[key] = own
            else:
                spec.pop(key, None)
        elif spec.get(key, None) == value:
            spec.pop(key)
        elif key not in spec:
            spec[key] = None

"""Read dag-factory configuration files as dag-factory 1.1 does, keeping where every value was written.

A file holds several DAGs (top-level keys) and an optional ``default:`` block; ``defaults.yml`` /
``defaults.yaml`` files in the file's folder and its parents (up to the defaults root) add
``default_args`` (merged key by key, the nearer file winning) and DAG-level keys (the nearest file
wins, ``tags`` are merged). The precedence dag-factory applies is kept exactly: a DAG's own keys,
then DAG-level keys from defaults files, then the file's ``default:`` block (merged recursively);
``default_args`` come from the defaults files, then ``default:``, then the DAG.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic
from ..spec.discover import walk_dag_folder
from ..spec.yaml_source import SourceMap, YamlPath, load_yaml

__all__ = ["DagSource", "Layer", "read_file", "find_sources", "DEFAULTS_NAMES", "defaults_chain"]

DEFAULTS_NAMES = ("defaults.yml", "defaults.yaml")
SYSTEM_KEYS = ("default", "task_groups")


@dataclass
class Layer:
    """One source of values for a DAG: its data, where it was read, and its path prefix there."""

    data: dict[str, Any]
    source: SourceMap
    prefix: YamlPath


@dataclass
class DagSource:
    """One DAG as dag-factory would build it: the effective configuration and how to locate values."""

    dag_id: str
    file: Path
    config: dict[str, Any]
    layers: list[Layer]  # nearest first
    defaults_files: list[Path] = field(default_factory=list)  # nearest first

    def where(self, path: YamlPath) -> tuple[str, int]:
        """The file and line that set ``path`` of the effective configuration."""
        for layer in self.layers:
            node: Any = layer.data
            found = True
            for part in path:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                    node = node[part]
                else:
                    found = False
                    break
            if found:
                loc = layer.source.find(layer.prefix + tuple(path), key=True)
                return loc.file, loc.line
        loc = self.layers[0].source.find(self.layers[0].prefix)
        return loc.file, loc.line


def _load(path: Path) -> tuple[Any, SourceMap | None, list[Diagnostic]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, None, [Diagnostic("DSP100", f"cannot read the file: {exc}", str(path), 0, 0)]
    doc, diags = load_yaml(text, str(path))
    if doc is None:
        hint = ("dagspec reads YAML safely: `!!python/...` tags become dotted paths (`python_callable: "
                "module.func`)") if any(d.code == "DSP002" for d in diags) else ""
        return None, None, [Diagnostic("DSP100", f"not converted: {d.message}", d.file, d.line, d.column,
                                       d.hint or hint) for d in diags]
    return doc.data, doc.source, []


def defaults_chain(file: Path, root: Path | None) -> list[Path]:
    """dag-factory's defaults files for ``file``, nearest first: its folder up to ``root`` (inclusive)."""
    parents = list(file.resolve().parents)
    top = root.resolve() if root else None
    dirs = parents[: parents.index(top) + 1] if top in parents else ([parents[0], top] if top else [parents[0]])
    out = []
    for folder in dirs:
        for name in DEFAULTS_NAMES:
            if (folder / name).is_file():
                out.append(folder / name)
                break
    return out


def _merge_configs(config: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """dag-factory's recursive merge: keys of ``config`` win; mappings present in both merge."""
    for key, value in default.items():
        if key in config:
            if isinstance(config[key], dict) and isinstance(value, dict):
                _merge_configs(config[key], value)
        else:
            config[key] = copy.deepcopy(value)
    return config


def read_file(file: Path, root: Path | None, cache: dict[Path, Any]) -> tuple[list[DagSource], list[Diagnostic]]:
    """The DAGs of one dag-factory file, with their effective configuration."""
    data, source, diags = _load(file)
    if diags:
        return [], diags
    if data is None:
        return [], []
    if not isinstance(data, dict):
        return [], [Diagnostic("DSP100", "not converted: a dag-factory file is a mapping of DAG ids to DAGs",
                               str(file), 1, 1)]
    assert source is not None
    chain = defaults_chain(file, root)
    loaded = []  # farthest first, as dag-factory merges them
    for path in reversed(chain):
        if path not in cache:
            cache[path] = _load(path)
        ddata, dsource, ddiags = cache[path]
        diags.extend(ddiags)
        if isinstance(ddata, dict) and dsource is not None:
            loaded.append((path, ddata, dsource))
    global_args: dict[str, Any] = {}
    dag_level: dict[str, Any] = {}
    for _path, ddata, _src in loaded:
        global_args.update(ddata.get("default_args") or {})
        for key, value in ddata.items():
            if key == "default_args":
                continue
            if key == "tags":
                dag_level[key] = sorted(set(dag_level.get("tags", [])) | set(value or []))
            else:
                dag_level[key] = value
    default = copy.deepcopy(data.get("default") or {})
    default["default_args"] = {**global_args, **(default.get("default_args") or {})}
    dags = []
    for dag_id, dag_config in data.items():
        if dag_id in SYSTEM_KEYS:
            continue
        if not isinstance(dag_config, dict):
            loc = source.find((dag_id,))
            diags.append(Diagnostic("DSP100", f"not converted: `{dag_id}` is not a DAG mapping", str(file),
                                    loc.line, loc.column))
            continue
        config = {**copy.deepcopy(dag_level), **copy.deepcopy(dag_config)}
        config.setdefault("task_groups", {})
        config = _merge_configs(config, default)
        layers = [Layer(dag_config, source, (dag_id,))]
        layers += [Layer({k: v for k, v in d.items() if k != "default_args"}, s, ()) for _p, d, s in reversed(loaded)]
        layers.append(Layer(data.get("default") or {}, source, ("default",)))
        layers += [Layer(d, s, ()) for _p, d, s in reversed(loaded)]
        dags.append(DagSource(str(dag_id), file, config, layers, chain))
    return dags, diags


def find_sources(paths: Iterable[Path]) -> tuple[list[tuple[Path, Path | None]], list[Path], list[Diagnostic]]:
    """(file, folder it was found under) for every dag-factory YAML file among ``paths`` (``.airflowignore``
    honoured, as dag-factory does), the Python loader files that call dag-factory, and problems."""
    out: list[tuple[Path, Path | None]] = []
    loaders: list[Path] = []
    diags = []
    for path in paths:
        if path.is_dir():
            for found in (path / p.relative_to(path.resolve()) for p in walk_dag_folder(path)):
                if found.suffix in (".yaml", ".yml") and found.name not in DEFAULTS_NAMES:
                    out.append((found, path))
                elif found.suffix == ".py" and _calls_dag_factory(found):
                    loaders.append(found)
        elif path.is_file():
            out.append((path, None))
        else:
            diags.append(Diagnostic("DSP100", "no such file or folder", str(path), 0, 0))
    return out, loaders, diags


def _calls_dag_factory(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "dagfactory" in text and ("load_yaml_dags" in text or "DagFactory" in text)

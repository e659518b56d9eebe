"""Layering of raw spec data: folder defaults, templates a spec extends, instances and variables.

Merge rules (nearest wins): a spec overrides the templates it extends, which override the
``_defaults.yaml`` files of its folders (the spec's own folder over its parents, up to the
dag_folder root).

- mappings merge key by key, recursively; a key set to ``null`` removes what a farther file set;
- ``tags`` are combined (farther first, no repeats);
- under ``tasks``, a task that names an action (``bash:``, ``pyspark:`` ...) replaces the farther
  task of the same id whole; a task without one only changes options (``retries: 5``);
- every other value (scalars, lists) replaces the farther one.

Variables are resolved on parsed values, never on the raw text: ``${env.NAME}``,
``${env.NAME:-default}``, ``${var.NAME}`` (from ``vars:`` and the instance's ``vars``) and
``${spec.dag_id}`` / ``${spec.dir}`` / ``${spec.file}``. A string that is exactly one
``${var.NAME}`` takes the variable's value as it is (a list stays a list). ``$${`` writes ``${``.
Jinja (``{{ ... }}``) is left alone for Airflow to render at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import Diagnostic, did_you_mean
from .models import ACTION_KEYS
from .yaml_source import Path_, SourceMap

__all__ = ["merge_layers", "resolve_variables", "VAR_RE"]

VAR_RE = re.compile(r"\$(\$?)\{([a-z]+)\.([A-Za-z0-9_]+)(?::-([^}]*))?\}")
_ACTIONS = set(ACTION_KEYS)


def _is_tasks(path: Path_) -> bool:
    """True for the path of a ``tasks`` mapping: ``("tasks",)``, ``("tasks", "group", "tasks")`` ..."""
    return len(path) % 2 == 1 and all(path[i] == "tasks" for i in range(0, len(path), 2))


def _merge(base: Any, overlay: Any, path: Path_) -> Any:
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        return overlay
    out = dict(base)
    for key, value in overlay.items():
        sub = path + (key,)
        if value is None:
            out.pop(key, None)
        elif key not in out:
            out[key] = value
        elif _is_tasks(path):
            old = out[key]
            replace = not isinstance(value, dict) or not isinstance(old, dict) or bool(_ACTIONS & set(value) - {"tasks"})
            out[key] = value if replace else _merge(old, value, sub)
        elif key == "tags" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        else:
            out[key] = _merge(out[key], value, sub)
    return out


def merge_layers(layers: list[tuple[dict[str, Any], SourceMap]]) -> tuple[dict[str, Any], SourceMap]:
    """Merge raw layers, farthest first; positions of the nearer layer win."""
    data: dict[str, Any] = {}
    source: SourceMap | None = None
    for layer, layer_source in layers:
        data = _merge(data, layer, ())
        if source is None:
            source = layer_source.copy()
        else:
            source.merge(layer_source)
            source.file = layer_source.file
            source.lines = layer_source.lines
    assert source is not None
    return data, source


def resolve_variables(
    data: Any,
    source: SourceMap,
    namespaces: Mapping[str, Mapping[str, Any]],
    diagnostics: list[Diagnostic],
    path: Path_ = (),
    on_secret: Callable[[str], None] | None = None,
) -> Any:
    """Replace ``${ns.NAME}`` in every string below ``data``; unknown names become diagnostics."""
    if isinstance(data, dict):
        return {k: resolve_variables(v, source, namespaces, diagnostics, path + (k,)) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve_variables(v, source, namespaces, diagnostics, path + (i,)) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data

    def lookup(match: re.Match[str]) -> Any:
        escaped, ns, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        table = namespaces.get(ns)
        if table is None:
            _unknown(f"`${{{ns}.{name}}}`: unknown namespace `{ns}`", did_you_mean(ns, namespaces) or
                     f"use one of: {', '.join('${' + n + '.NAME}' for n in namespaces)}")
            return match.group(0)
        if name in table:
            return table[name]
        if default is not None:
            return default
        hint = did_you_mean(name, table)
        if ns == "env":
            hint = hint or f"set the environment variable {name}, or give a default: `${{env.{name}:-value}}`"
        elif ns == "var":
            hint = hint or "define it under `vars:` (in the spec, its template or the instance)"
        _unknown(f"unknown variable `${{{ns}.{name}}}`", hint)
        return match.group(0)

    def _unknown(message: str, hint: str) -> None:
        loc = source.find(path)
        diagnostics.append(Diagnostic("DSP050", message, loc.file, loc.line, loc.column, hint))

    whole = VAR_RE.fullmatch(data)
    if whole and not whole.group(1):
        return lookup(whole)
    return VAR_RE.sub(lambda m: str(lookup(m)), data)

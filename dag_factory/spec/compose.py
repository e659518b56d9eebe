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

Under a policy the ``env`` table is an ``EnvTable``: a name the policy does not allow is an error
(DSP052), never an empty string nor the default, and hints suggest only allowed names. Every value
read from the environment is reported to ``on_secret(name, value)`` so that callers can keep it
out of diagnostics, ``render``, docs and the plan cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from ..errors import Diagnostic, did_you_mean
from .models import ACTION_KEYS
from .yaml_source import SourceMap, YamlPath

__all__ = ["merge_layers", "resolve_variables", "VAR_RE", "EnvTable"]

VAR_RE = re.compile(r"\$(\$?)\{([a-z]+)\.([A-Za-z0-9_]+)(?::-([^}]*))?\}")
_ACTIONS = set(ACTION_KEYS)


def _is_tasks(path: YamlPath) -> bool:
    """True for the path of a ``tasks`` mapping: ``("tasks",)``, ``("tasks", "group", "tasks")`` ..."""
    return len(path) % 2 == 1 and all(path[i] == "tasks" for i in range(0, len(path), 2))


def _merge(base: Any, overlay: Any, path: YamlPath) -> Any:
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


class EnvTable(Mapping[str, str]):
    """The environment as ``${env.NAME}`` sees it: only the names matching ``patterns`` (fnmatch).

    ``patterns`` None allows every name (no policy); an empty tuple allows none.
    """

    def __init__(self, env: Mapping[str, str], patterns: tuple[str, ...] | None) -> None:
        self._env = env
        self.patterns = patterns

    def allows(self, name: str) -> bool:
        return self.patterns is None or any(fnmatchcase(name, p) for p in self.patterns)

    def __getitem__(self, name: str) -> str:
        if not self.allows(name):
            raise KeyError(name)
        return self._env[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._env if self.allows(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.allows(name) and name in self._env


def resolve_variables(
    data: Any,
    source: SourceMap,
    namespaces: Mapping[str, Mapping[str, Any]],
    diagnostics: list[Diagnostic],
    path: YamlPath = (),
    on_secret: Callable[[str, str], None] | None = None,
) -> Any:
    """Replace ``${ns.NAME}`` in every string below ``data``; unknown names become diagnostics.
    ``on_secret(name, value)`` hears of every value taken from the ``env`` table."""
    # values without a variable (most of them) are taken as they are, without a call
    if isinstance(data, dict):
        return {k: v if (type(v) is str and "${" not in v) or not isinstance(v, (str, dict, list)) else
                resolve_variables(v, source, namespaces, diagnostics, path + (k,), on_secret)
                for k, v in data.items()}
    if isinstance(data, list):
        return [v if (type(v) is str and "${" not in v) or not isinstance(v, (str, dict, list)) else
                resolve_variables(v, source, namespaces, diagnostics, path + (i,), on_secret)
                for i, v in enumerate(data)]
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
        if isinstance(table, EnvTable) and not table.allows(name):
            allowed = ", ".join(table.patterns or ())
            loc = source.find(path)
            diagnostics.append(Diagnostic(
                "DSP052", f"`${{env.{name}}}`: the environment variable `{name}` is not allowed by the policy",
                loc.file, loc.line, loc.column,
                f"the administrator's `[dagspec] allowed_env` allows: {allowed}" if allowed else
                "no environment variable may be read: the administrator set no `[dagspec] allowed_env`"))
            return match.group(0)
        if name in table:
            value = table[name]
            if ns == "env" and on_secret is not None:
                on_secret(name, value)
            return value
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

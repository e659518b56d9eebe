"""Field paths of Dataproc workflow-template parameters (``jobs['clean'].pysparkJob.args[0]``): parse, locate, set, write.

The one reader of this syntax: the workflow operator and the emulator write parameter values
through it (into camelCase templates, as ``MessageToDict`` gives them), and dagspec's template
importer/exporter resolve and format paths with it (against snake_case templates). Pure: no
Google or Airflow imports. A path becomes a tuple path into the template
(``("jobs", 0, "pyspark_job", "args", 0)``); ``jobs['id']`` picks a step by its id, ``x['k']`` a
key of a map field, ``x[0]`` a list item.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["parse_path", "locate", "resolve_path", "set_field", "format_path", "FieldPathError", "snake", "camel",
           "MAP_FIELDS"]

_TOKEN = re.compile(r"""\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+)\]"""
                    r"""|\['(?P<sq>[^']*)'\]|\["(?P<dq>[^"]*)"\]|(?P<dot>\.))""")
_CAMEL_RE = re.compile(r"(?<=[A-Za-z0-9])([A-Z])")

# proto map<string, ...> fields met in templates, cluster configs and jobs: their keys are data
MAP_FIELDS = frozenset({
    "labels", "properties", "metadata", "script_variables", "driver_log_levels", "cluster_labels",
    "resource_manager_tags", "user_service_account_mapping", "parameters_map",
})

Token = tuple[str, Any]  # ("name", str) | ("index", int) | ("key", str)
Style = Literal["snake", "camel"]


class FieldPathError(ValueError):
    """A field path that cannot be parsed, or that names nothing in the template."""


def snake(name: str) -> str:
    """``pysparkJob`` -> ``pyspark_job``; ``sparkRJob`` -> ``spark_r_job``; snake_case stays."""
    return _CAMEL_RE.sub(r"_\1", name).lower().replace("__", "_")


def camel(name: str) -> str:
    """``pyspark_job`` -> ``pysparkJob``; ``spark_r_job`` -> ``sparkRJob``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse_path(text: str) -> list[Token]:
    """Tokens of a field path; raises ``FieldPathError`` on bad syntax."""
    tokens: list[Token] = []
    pos, expect_name = 0, True
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FieldPathError(f"cannot read the field path at `{text[pos:]}`")
        pos = match.end()
        if match.group("dot"):
            if expect_name:
                raise FieldPathError("a field path has `.` where a field name belongs")
            expect_name = True
        elif match.group("name") is not None:
            if not expect_name:
                raise FieldPathError(f"missing `.` before `{match.group('name')}`")
            tokens.append(("name", match.group("name")))
            expect_name = False
        elif match.group("index") is not None:
            if expect_name:
                raise FieldPathError("an index `[...]` must follow a field name")
            tokens.append(("index", int(match.group("index"))))
        else:
            if expect_name:
                raise FieldPathError("a key `['...']` must follow a field name")
            tokens.append(("key", match.group("sq") if match.group("sq") is not None else match.group("dq")))
    if not tokens or expect_name:
        raise FieldPathError("the field path is empty or ends with `.`")
    return tokens


def locate(text: str, template: dict[str, Any], style: Style = "snake", *,
           last_may_be_new: bool = False) -> tuple[str | int, ...]:
    """The tuple path in ``template`` (keys in ``style``) that ``text`` names.

    ``last_may_be_new``: the last field name may be absent from its mapping (a value to be set).
    """
    tokens = parse_path(text)
    name_of: Callable[[str], str] = snake if style == "snake" else camel
    step_key = name_of("step_id")
    node: Any = template
    path: list[str | int] = []
    for i, (kind, value) in enumerate(tokens):
        last = i == len(tokens) - 1
        shown = text if last else _prefix(tokens[: i + 1])
        if kind == "name":
            key = name_of(value)
            if not isinstance(node, dict) or (key not in node and not (last and last_may_be_new)):
                raise FieldPathError(f"`{shown}` names nothing in the template")
            node, path = node.get(key), [*path, key]
        elif kind == "key" and path == ["jobs"] and isinstance(node, list):
            found = [j for j, step in enumerate(node) if isinstance(step, dict) and step.get(step_key) == value]
            if not found:
                raise FieldPathError(f"`{shown}`: there is no step `{value}`")
            node, path = node[found[0]], [*path, found[0]]
        elif kind == "key":
            if not isinstance(node, dict) or (value not in node and not (last and last_may_be_new)):
                raise FieldPathError(f"`{shown}` names nothing in the template")
            node, path = node.get(value), [*path, value]
        else:
            if not isinstance(node, list) or not 0 <= value < len(node):
                size = len(node) if isinstance(node, list) else 0
                raise FieldPathError(f"`{shown}`: index {value} is out of range (the list has {size} item(s))")
            node, path = node[value], [*path, value]
    if isinstance(node, (dict, list)):
        raise FieldPathError(f"`{text}` names a {'mapping' if isinstance(node, dict) else 'list'}, not a value")
    return tuple(path)


def resolve_path(text: str, template: dict[str, Any]) -> tuple[str | int, ...]:
    """The tuple path in the normalized (snake_case) ``template`` that ``text`` names; it must hold a plain value."""
    return locate(text, template, "snake")


def set_field(template: dict[str, Any], text: str, value: Any, style: Style = "camel") -> None:
    """Write ``value`` at field path ``text`` of ``template``; raises ``FieldPathError`` when it names nothing."""
    *parents, last = locate(text, template, style, last_may_be_new=True)
    node: Any = template
    for part in parents:
        node = node[part]
    node[last] = value


def _prefix(tokens: list[Token]) -> str:
    out = ""
    for kind, value in tokens:
        if kind == "name":
            out += ("." if out else "") + value
        elif kind == "index":
            out += f"[{value}]"
        else:
            out += f"['{value}']"
    return out


def format_path(path: tuple[str | int, ...], template: dict[str, Any]) -> str:
    """Dataproc's syntax for a tuple path into the normalized ``template`` (steps by id, camelCase names)."""
    out = ""
    node: Any = template
    in_map = False
    for part in path:
        if isinstance(part, int):
            if out == "jobs" and isinstance(node, list):
                out += f"['{node[part]['step_id']}']"
            else:
                out += f"[{part}]"
            node = node[part]
            in_map = False
        elif in_map:
            out += f"['{part}']"
            node = node[part]
            in_map = False
        else:
            out += ("." if out else "") + camel(part)
            node = node[part]
            in_map = part in MAP_FIELDS
    return out

"""Parameter field paths of workflow templates (``jobs['clean'].pysparkJob.args[0]``): parse, resolve, write.

A path is resolved against the *normalized* template (snake_case keys, see ``names``) and becomes a
tuple path into it (``("jobs", 0, "pyspark_job", "args", 0)``); ``format_path`` writes such a tuple
back in Dataproc's camelCase syntax.
"""

from __future__ import annotations

import re
from typing import Any

from .names import MAP_FIELDS, camel, snake

__all__ = ["parse_path", "resolve_path", "format_path", "FieldPathError"]

_TOKEN = re.compile(r"""\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+)\]"""
                    r"""|\['(?P<sq>[^']*)'\]|\["(?P<dq>[^"]*)"\]|(?P<dot>\.))""")

Token = tuple[str, Any]  # ("name", str) | ("index", int) | ("key", str)


class FieldPathError(ValueError):
    """A field path that cannot be parsed, or that names nothing in the template."""


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


def resolve_path(text: str, template: dict[str, Any]) -> tuple[str | int, ...]:
    """The tuple path in the normalized ``template`` that ``text`` names; it must hold a plain value."""
    tokens = parse_path(text)
    node: Any = template
    path: list[str | int] = []
    for i, (kind, value) in enumerate(tokens):
        shown = text if i == len(tokens) - 1 else _prefix(tokens[: i + 1])
        if kind == "name":
            key = snake(value)
            if not isinstance(node, dict) or key not in node:
                raise FieldPathError(f"`{shown}` names nothing in the template")
            node, path = node[key], [*path, key]
        elif kind == "key" and path == ["jobs"] and isinstance(node, list):
            found = [j for j, step in enumerate(node) if isinstance(step, dict) and step.get("step_id") == value]
            if not found:
                raise FieldPathError(f"`{shown}`: there is no step `{value}`")
            node, path = node[found[0]], [*path, found[0]]
        elif kind == "key":
            if not isinstance(node, dict) or value not in node:
                raise FieldPathError(f"`{shown}` names nothing in the template")
            node, path = node[value], [*path, value]
        else:
            if not isinstance(node, list) or not 0 <= value < len(node):
                size = len(node) if isinstance(node, list) else 0
                raise FieldPathError(f"`{shown}`: index {value} is out of range (the list has {size} item(s))")
            node, path = node[value], [*path, value]
    if isinstance(node, (dict, list)):
        raise FieldPathError(f"`{text}` names a {'mapping' if isinstance(node, dict) else 'list'}, not a value")
    return tuple(path)


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

"""Which keys the mapping at a data path accepts, read from the spec models, so a key written one
level too deep or too shallow gets "move it one level up/down" instead of "unknown key".

``keys_at(path, data)`` walks the models along the path through the data (picking the member of a
discriminated union the data selects); ``move_hint(path, data)`` answers for the key at ``path``.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Discriminator, Tag

from .models import Spec
from .yaml_source import YamlPath

__all__ = ["keys_at", "move_hint"]


def _members(tp: Any, node: Any) -> list[Any]:
    """The types ``node`` may be validated as under the annotation ``tp`` (unions flattened)."""
    pick = None
    while get_origin(tp) is Annotated:
        tp, *meta = get_args(tp)
        pick = next((m.discriminator for m in meta if isinstance(m, Discriminator) and callable(m.discriminator)), pick)
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        if pick is not None:  # a callable discriminator: the member whose tag the data selects
            try:
                tag = pick(node)
            except Exception:  # noqa: BLE001 - a discriminator is the model's code; no tag, no choice
                tag = None
            chosen = [a for a in args if get_origin(a) is Annotated
                      and any(isinstance(m, Tag) and m.tag == tag for m in get_args(a)[1:])]
            args = tuple(chosen) or args
        return [m for a in args for m in _members(a, node)]
    return [tp]


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _types_at(path: YamlPath, data: Any) -> list[Any]:
    current: list[Any] = [Spec]
    node = data
    for part in path:
        child = _child(node, part)
        following: list[Any] = []
        for tp in current:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                field = tp.model_fields.get(str(part))
                if field is not None:
                    following += _members(Annotated[(field.annotation, *field.metadata)] if field.metadata
                                          else field.annotation, child)
            elif get_origin(tp) is dict:
                following += _members(get_args(tp)[1], child)
            elif get_origin(tp) is list and isinstance(part, int):
                following += _members(get_args(tp)[0], child)
        current, node = following, child
    return current


def keys_at(path: YamlPath, data: Any) -> set[str] | None:
    """The keys a mapping at ``path`` may have; None when it takes any key (a dict, an `Any`)."""
    keys: set[str] = set()
    for tp in _types_at(path, data):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            keys |= set(tp.model_fields)
        elif tp is Any or get_origin(tp) is dict:
            return None
    return keys


def _name(path: YamlPath) -> str:
    if len(path) >= 2 and path[-2] == "tasks":
        return f"task `{path[-1]}`"
    return f"`{path[-1]}`" if path else "the spec's top level"


def move_hint(path: YamlPath, data: Any) -> str:
    """"Move it one level up/down" when the key at ``path``, unknown where it is, is valid in the mapping
    above it or in one below it; empty when it is not."""
    if not path:
        return ""
    key, here = str(path[-1]), path[:-1]
    if here:
        above = keys_at(here[:-1], data)
        if above is not None and key in above:
            return (f"`{key}` is a key of {_name(here[:-1])}, not of `{here[-1]}`: move it one level up, "
                    f"in line with `{here[-1]}:`")
    node: Any = data
    for part in here:
        node = _child(node, part)
    siblings = [k for k in node if k != key] if isinstance(node, dict) else []
    before = list(node).index(key) if isinstance(node, dict) and key in node else len(siblings)
    # the mapping just above the key first (the one it was most likely meant to be in), then the others
    order = siblings[:before][::-1] + siblings[before:]
    model_fields = [f for tp in _types_at(here, data) if isinstance(tp, type) and issubclass(tp, BaseModel)
                    for f in tp.model_fields]
    for child in dict.fromkeys([*order, *model_fields]):
        if isinstance(node, dict) and child in node and not isinstance(node[child], dict):
            continue
        below = keys_at(here + (child,), data)
        if below is not None and key in below:
            owner = "a task, not a task" if here and here[-1] == "tasks" else \
                f"{_name(here + (child,))}, not of {_name(here)}"
            return f"`{key}` is a key of {owner}: move it one level down, under `{child}:`"
    return ""

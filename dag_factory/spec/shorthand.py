"""Shorthands of the spec language, each declared once for both the validator and the JSON Schema.

``Shorthand(expand, short)`` in a field's ``Annotated`` turns a short value into the long form
before validation (``bash: echo hi`` -> ``{command: echo hi}``) and adds ``short`` (the JSON Schema
of the short form) beside the long form in ``dagspec schema``, so editors accept exactly what
``validate`` accepts. ``short`` is a schema, or the string ``"items"`` for "one item of the list".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = ["Shorthand", "DURATION_TEXT", "VAR_REF"]

# text a duration may be written as (``spec/values.parse_duration``): ``90``, ``30s``, ``1h30m``, ``PT1H``
DURATION_TEXT = (r"^\s*(((\d+(\.\d+)?)\s*(ms|sec|min|s|m|h|d|w)\s*)+|\d+(\.\d+)?"
                 r"|[Pp]([0-9]+[Dd])?([Tt]([0-9]+[Hh])?([0-9]+[Mm])?([0-9]+(\.[0-9]+)?[Ss])?)?)\s*$")
# a value holding a variable (``${var.N}``, ``${env.N:-10}``): resolved before validation (``spec/compose.py``)
VAR_REF = r"\$\{[a-z]+\.[A-Za-z0-9_]+(:-[^}]*)?\}"


@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata
class Shorthand:
    """A short way to write a value: ``expand`` makes the long form of it, ``short`` is its schema."""

    expand: Callable[[Any], Any]
    short: dict[str, Any] | str
    title: str = ""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.expand, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        long = handler(schema)
        if isinstance(self.short, str):  # "items": one item of the list (the array may sit in an anyOf)
            resolved = handler.resolve_ref_schema(long)
            arrays = [s for s in (resolved, *resolved.get("anyOf", ())) if "items" in s]
            short = arrays[0]["items"] if arrays else {}
        else:
            short = dict(self.short)
        if self.title:
            short = {**short, "description": self.title}
        return {"anyOf": [short, long]}

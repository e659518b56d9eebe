"""Checks of typed DAG params at validate time: the schema is valid JSON Schema, its patterns compile and
cannot backtrack catastrophically, and the default satisfies the schema (as Airflow's ``Param`` will check).

Airflow validates a param with ``jsonschema`` (one of its own dependencies, importable without Airflow)
only when a run is triggered; a wrong default or a broken pattern would otherwise surface as a failed
trigger, or hang the API server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..spec import models
from .context import CompileContext
from .regex_risk import backtracking_risk

__all__ = ["check_param", "SCHEMA_CODE", "PATTERN_CODE", "BACKTRACKING_CODE"]

SCHEMA_CODE = "DSP014"  # the schema is not valid JSON Schema, or the default does not satisfy it
PATTERN_CODE = "DSP015"  # a `pattern` that is not a regular expression
BACKTRACKING_CODE = "DSP016"  # a `pattern` whose matching time can explode


def _patterns(schema: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every ``pattern`` keyword in a schema, nested ``items``/``properties`` included, with its path."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield path + (key,), value
            else:
                yield from _patterns(value, path + (key,))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _patterns(value, path + (i,))


def check_param(ctx: CompileContext, name: str, model: models.ParamModel, schema: dict[str, Any]) -> None:
    """Diagnostics for one typed param; ``schema`` is the JSON Schema the plan gives Airflow."""
    where = ("params", name)
    patterns_ok = True
    for path, pattern in _patterns(schema, where):
        try:
            re.compile(pattern)
        except re.error as exc:
            patterns_ok = False
            ctx.error(PATTERN_CODE, f"param `{name}`: `{pattern}` is not a regular expression: {exc}", path,
                      "fix the pattern (Python `re` syntax); quote it in YAML: pattern: '^[a-z]+$'")
            continue
        why = backtracking_risk(pattern)
        if why:
            patterns_ok = False
            ctx.error(BACKTRACKING_CODE, f"param `{name}`: pattern `{pattern}` can take exponential time on a bad "
                      f"value ({why})", path, "rewrite it without a quantifier inside a repeated group, "
                      "e.g. `^(a+)+$` -> `^a+$`, or `^(\\w+\\s?)*$` -> `^[\\w\\s]*$`")
    if not patterns_ok:
        return  # never match a default against a pattern that may not end
    import jsonschema  # type: ignore[import-untyped]  # Airflow's validator; pure Python; only for typed params

    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        at = where + tuple(exc.path)
        ctx.error(SCHEMA_CODE, f"param `{name}`: not a valid schema: {exc.message}", at,
                  "see https://json-schema.org/understanding-json-schema/ for the keywords and their values")
        return
    if "default" not in model.model_fields_set or model.default is None:
        return
    error = jsonschema.exceptions.best_match(  # as Param.resolve() checks: jsonschema.validate + FormatChecker()
        validator_cls(schema, format_checker=jsonschema.FormatChecker()).iter_errors(model.default))
    if error is not None:
        ctx.error(SCHEMA_CODE, f"param `{name}`: the default does not match the param's own schema: "
                  f"{error.message}", where + ("default", *error.absolute_path),
                  "change the default, or the schema (`type`, `enum`, `minimum`, `pattern` ...)")

"""Cron expressions checked field by field, so that an error names the field, its range and its place."""

from __future__ import annotations

import re

__all__ = ["cron_problem", "FIELDS_HINT"]

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_NUMBER = re.compile(r"(?<![/#\d])\d+")  # a value, not a step (`*/15`) nor an nth weekday (`1#2`)
FIELDS_HINT = "the fields are minute (0-59), hour (0-23), day of month (1-31), month (1-12), day of week (0-7, Sunday is 0 or 7)"


def cron_problem(expr: str) -> tuple[str, int] | None:
    """None when ``expr`` is a valid cron expression, else (why, the offset in ``expr`` of the bad part)."""
    from croniter import croniter  # pure Python, no Airflow

    fields = [(m.start(), m.group()) for m in re.finditer(r"\S+", expr)]
    if len(fields) not in (5, 6):
        return f"a cron expression has 5 fields (minute hour day month weekday), this one has {len(fields)}", 0
    if croniter.is_valid(expr):
        return None
    for (offset, text), (name, low, high) in zip(fields, _FIELDS, strict=False):  # a 6th field (seconds) has no range here
        for number in _NUMBER.finditer(text):
            if not low <= int(number.group()) <= high:
                return f"{name} `{number.group()}` is out of range ({low}-{high})", offset + number.start()
    for i, (offset, text) in enumerate(fields):  # the first field that alone makes the expression invalid
        probe = ["*"] * len(fields)
        probe[i] = text
        if not croniter.is_valid(" ".join(probe)):
            name = _FIELDS[i][0] if i < len(_FIELDS) else "seconds"
            return f"the {name} field `{text}` is malformed", offset
    return "a field is out of range or malformed", 0

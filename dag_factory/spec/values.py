"""Small value parsers shared by the spec models: durations, dotted import paths, identifiers."""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["parse_duration", "is_import_path", "IMPORT_PATH_RE", "TASK_ID_RE", "DAG_ID_RE"]

_MAX_SECONDS = 100 * 365 * 86400  # timedelta and Airflow's intervals overflow far above this; no real wait is longer
_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d|w)")
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")

IMPORT_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
TASK_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
DAG_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"``, ``"PT1H"``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like `30s`, `5m`, `1h30m`, `2d`")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        if not math.isfinite(value) or value > _MAX_SECONDS:
            raise ValueError("a duration must be a finite number of seconds (at most 100 years)")
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        text = value.strip().lower()
        iso = _ISO.match(value.strip().upper())
        if iso and value.strip().upper() != "P":
            d, h, m, s = (float(g) if g else 0.0 for g in iso.groups())
            return parse_duration(d * 86400 + h * 3600 + m * 60 + s)
        pos, total = 0, 0.0
        compact = text.replace(" ", "")
        for match in _PART.finditer(compact):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if compact and pos == len(compact):
            return parse_duration(total)  # the same bounds as a number
    raise ValueError(
        f"`{value}` is not a duration; write seconds (`90`) or text like `30s`, `5m`, `1h30m`, `2d`"
    )


def is_import_path(value: str) -> bool:
    return bool(IMPORT_PATH_RE.match(value))

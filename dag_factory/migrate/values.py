"""dag-factory's value conventions read as plain data: ``__type__`` objects, ``$ENV``, durations, dates.

dag-factory builds Python objects while loading (``__type__: datetime.timedelta`` → a timedelta,
``__and__``/``__or__`` → asset conditions) and expands ``$NAME`` over the raw text. Here the same
YAML becomes small marker values that the converter maps onto spec keys; nothing is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

__all__ = ["Typed", "AllOf", "AnyOf", "decode", "env_to_spec", "duration_text", "as_seconds",
           "ASSET_TYPES", "TIMEDELTA_TYPES", "is_timetable"]

ASSET_TYPES = {
    "airflow.sdk.Asset", "airflow.sdk.definitions.asset.Asset", "airflow.datasets.Dataset",
    "airflow.sdk.Dataset", "airflow.Dataset",
}
TIMEDELTA_TYPES = {"datetime.timedelta", "pendulum.duration", "pendulum.Duration"}
_ENV = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Typed:
    """A ``__type__`` object: its import path, positional and keyword arguments."""

    type: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AllOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Any, ...]


def env_to_spec(text: str) -> str:
    """``$NAME`` and ``${NAME}`` (expanded by dag-factory over the raw file) → ``${env.NAME}``."""
    if "$" not in text:
        return text
    return _ENV.sub(lambda m: "${env.%s}" % (m.group(1) or m.group(2)), text)


def decode(value: Any) -> Any:
    """Plain YAML data → the same data with dag-factory's markers (and ``$ENV``) decoded."""
    if isinstance(value, str):
        return env_to_spec(value)
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__and__" in value and len(value) == 1:
        return AllOf(tuple(decode(v) for v in value["__and__"] or []))
    if "__or__" in value and len(value) == 1:
        return AnyOf(tuple(decode(v) for v in value["__or__"] or []))
    if "__join__" in value and len(value) == 1:
        return "".join(str(decode(v)) for v in value["__join__"] or [])
    if value.get("__type__") == "builtins.list" and "items" in value:
        return [decode(v) for v in value["items"]]
    if "__type__" in value:
        args = value.get("__args__") or []
        kwargs = {k: decode(v) for k, v in value.items() if k not in ("__type__", "__args__")}
        return Typed(str(value["__type__"]), tuple(decode(a) for a in args), kwargs)
    return {k: decode(v) for k, v in value.items()}


def as_seconds(value: Any) -> float | None:
    """Seconds of a number or a ``timedelta`` marker; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Typed) and value.type in TIMEDELTA_TYPES:
        names = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
        try:
            kwargs = {k: float(v) for k, v in value.kwargs.items()}
            kwargs.update({names[i]: float(a) for i, a in enumerate(value.args)})
            return timedelta(**kwargs).total_seconds()
        except (TypeError, ValueError, IndexError):
            return None
    return None


def duration_text(seconds: float) -> str | int | float:
    """Seconds as dagspec's duration text (``1h30m``), or the number when it is not whole seconds."""
    if seconds != int(seconds) or seconds <= 0:
        return seconds
    rest, out = int(seconds), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def is_timetable(path: str) -> bool:
    return ".timetables." in f".{path}" or path.endswith("Timetable")

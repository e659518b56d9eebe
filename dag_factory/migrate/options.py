"""Operator options (retries, owner, callbacks, durations ...) from dag-factory's form to the spec's."""

from __future__ import annotations

from typing import Any

from ..spec.models import OperatorOptions
from ..spec.yaml_source import YamlPath
from .report import Collector
from .values import AllOf, AnyOf, Typed, as_seconds, duration_text

__all__ = ["OPTION_KEYS", "CALLBACK_KEYS", "options", "callback", "plain", "is_plain"]

OPTION_KEYS = frozenset(OperatorOptions.model_fields)
CALLBACK_KEYS = ("on_execute_callback", "on_success_callback", "on_failure_callback", "on_retry_callback",
                 "on_skipped_callback")
_DURATIONS = ("retry_delay", "max_retry_delay", "execution_timeout")


def is_plain(value: Any) -> bool:
    """True when ``value`` holds no dag-factory object (``__type__``, asset conditions)."""
    if isinstance(value, (Typed, AllOf, AnyOf)):
        return False
    if isinstance(value, dict):
        return all(is_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    return True


def plain(col: Collector, value: Any, path: YamlPath, what: str) -> tuple[bool, Any]:
    """(True, value) when it is plain data a spec can hold; else reports it as not converted."""
    if is_plain(value):
        return True, value
    col.add("not_converted", path, f"{what}: a Python object (`__type__`) that dagspec cannot pass as data",
            "give the value as plain YAML, or wrap the operator in a small Python operator class")
    return False, None


def callback(col: Collector, value: Any, path: YamlPath) -> Any:
    """A callback: a dotted path stays; ``{callback: Cls, **args}`` with a notifier class becomes a notifier."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("callback"), str):
        target = value["callback"]
        args = {k: v for k, v in value.items() if k != "callback"}
        if target.rsplit(".", 1)[-1][:1].isupper() and is_plain(args):
            return {"notifier": target, "args": args} if args else {"notifier": target}
        col.add("not_converted", path, f"callback `{target}` with arguments: dag-factory binds them with "
                "functools.partial, which a spec cannot express",
                "write a notifier class (BaseNotifier) taking these arguments, or a function without arguments")
        return None
    col.add("not_converted", path, "callback in a form dagspec cannot express (a dotted path or a notifier)")
    return None


def options(col: Collector, data: dict[str, Any], path: YamlPath) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the spec's option keys, everything else) from a task's or default_args' mapping."""
    out: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in data.items():
        here = path + (key,)
        name = key[: -len("_name")] if key.endswith("_callback_name") else key[: -len("_file")] \
            if key.endswith("_callback_file") else None
        if name in CALLBACK_KEYS:
            if key.endswith("_name"):
                col.add("not_converted", here, f"`{name}` loaded from a file path (`{key}` + `{name}_file`)",
                        f"make the function importable and write `{name}: module.function`")
            continue
        if key not in OPTION_KEYS:
            rest[key] = value
            continue
        if value is None:
            continue
        if key in CALLBACK_KEYS:
            converted = callback(col, value, here)
            if converted is not None:
                out[key] = converted
        elif key in _DURATIONS:
            seconds = as_seconds(value)
            if seconds is None:
                col.add("not_converted", here, f"`{key}` is not a number of seconds nor a timedelta")
            else:
                out[key] = duration_text(seconds)
        elif key == "retry_exponential_backoff" or is_plain(value):
            out[key] = value
        else:
            plain(col, value, here, f"`{key}`")
    return out, rest

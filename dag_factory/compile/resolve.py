"""Checks that dotted import paths resolve and which keyword arguments an operator class accepts.

Imports happen only when a check asks for them (never at module import), and every answer is
cached, so a dag_folder of many specs pays for each operator class once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["Resolver", "Policy"]


@dataclass(frozen=True)
class Policy:
    """What specs may use: fnmatch patterns of operator and callable import paths (None: anything).

    Administrators set it in Airflow's configuration, ``[dagspec] allowed_operators`` and
    ``allowed_callables`` (comma-separated), or the environment variables
    ``AIRFLOW__DAGSPEC__ALLOWED_OPERATORS`` / ``AIRFLOW__DAGSPEC__ALLOWED_CALLABLES``. ``allowed_buckets``
    (``AIRFLOW__DAGSPEC__ALLOWED_BUCKETS``) limits the buckets specs make dagspec write to (staging,
    cluster config and temp buckets, upload destinations).
    dagspec's own operators and runtime helpers are always allowed.
    """

    allowed_operators: tuple[str, ...] | None = None
    allowed_callables: tuple[str, ...] | None = None
    allowed_buckets: tuple[str, ...] | None = None  # fnmatch patterns of bucket names dagspec may write to

    ALWAYS = ("dagspec.*",)

    @classmethod
    def from_env(cls, env: Any) -> Policy:
        from .cache import parse_patterns

        return cls(parse_patterns(env.get("AIRFLOW__DAGSPEC__ALLOWED_OPERATORS")),
                   parse_patterns(env.get("AIRFLOW__DAGSPEC__ALLOWED_CALLABLES")),
                   allowed_buckets=parse_patterns(env.get("AIRFLOW__DAGSPEC__ALLOWED_BUCKETS")))

    def key(self, check_imports: bool = True) -> str:
        from .cache import policy_key

        return policy_key(self.allowed_operators, self.allowed_callables, check_imports,
                          allowed_buckets=self.allowed_buckets)

    def allows_bucket(self, bucket: str) -> bool:
        """Whether dagspec may write to bucket ``bucket`` (a name, no gs://): ``[dagspec] allowed_buckets``."""
        return self.allowed_buckets is None or any(fnmatchcase(bucket, p) for p in self.allowed_buckets)

    def allows(self, path: str, kind: str) -> bool:
        patterns = self.allowed_operators if kind == "operator" else self.allowed_callables
        if patterns is None:
            return True
        return any(fnmatchcase(path, p) for p in (*patterns, *self.ALWAYS))


@dataclass
class Resolver:
    """Imports objects by dotted path on demand and caches the answers."""

    _objects: dict[str, tuple[Any, str]] = field(default_factory=dict)
    _args: dict[str, frozenset[str] | None] = field(default_factory=dict)

    def resolve(self, path: str) -> tuple[Any, str]:
        """``(object, "")`` or ``(None, why it does not resolve)``."""
        if path not in self._objects:
            self._objects[path] = self._import(path)
        return self._objects[path]

    @staticmethod
    def _import(path: str) -> tuple[Any, str]:
        module_name, _, attr = path.rpartition(".")
        if not module_name:
            return None, f"`{path}` is not a dotted path"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            return None, f"cannot import module `{module_name}`: {exc}"
        except Exception as exc:  # a module that fails while importing is the user's bug, not ours
            return None, f"importing `{module_name}` failed: {type(exc).__name__}: {exc}"
        if not hasattr(module, attr):
            return None, f"module `{module_name}` has no attribute `{attr}`"
        return getattr(module, attr), ""

    def accepted_args(self, path: str) -> frozenset[str] | None:
        """Keyword arguments a class's constructor chain accepts (None: accepts anything)."""
        if path in self._args:
            return self._args[path]
        import inspect

        cls, _ = self.resolve(path)
        names: set[str] = set()
        result: frozenset[str] | None = None
        if isinstance(cls, type):
            open_ended = True
            for klass in cls.__mro__:
                init = klass.__dict__.get("__init__")
                if init is None:
                    continue
                try:
                    params = inspect.signature(init).parameters.values()
                except (TypeError, ValueError):
                    break
                open_ended = False
                for p in params:
                    if p.kind is p.VAR_KEYWORD:
                        open_ended = True
                    elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self":
                        names.add(p.name)
                if not open_ended:
                    break
            # BaseOperator ends the chain with **kwargs but rejects unknown ones itself
            result = frozenset(names) if names else None
        elif callable(cls):
            try:
                params = inspect.signature(cls).parameters.values()
                if not any(p.kind is p.VAR_KEYWORD for p in params):
                    result = frozenset(p.name for p in params)
            except (TypeError, ValueError):
                result = None
        self._args[path] = result
        return result

"""Checks that dotted import paths resolve and which keyword arguments an operator class accepts.

Imports happen only when a check asks for them (never at module import), and every answer is
cached, so a dag_folder of many specs pays for each operator class once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["Resolver", "Policy", "POLICY_OPTIONS"]


POLICY_OPTIONS = ("allowed_operators", "allowed_callables", "allowed_env", "allowed_buckets")


@dataclass(frozen=True)
class Policy:
    """What specs may use: fnmatch patterns per ``[dagspec]`` option (None: not restricted).

    Administrators set it in Airflow's configuration, section ``[dagspec]`` (comma-separated), or the
    matching ``AIRFLOW__DAGSPEC__<OPTION>`` environment variables; ``docs/security.md`` is the contract.

    Under a policy every operator class a plan uses is checked against ``allowed_operators``: the
    classes behind the built-in actions (``bash:`` is ``airflow.providers.standard.operators.bash.
    BashOperator``), dagspec's Dataproc operators (``dagspec.provider.operators.*``, also for the
    cluster create/delete tasks a spec's ``clusters:`` adds) and ``operator:`` paths alike. Every
    callable a spec names (python/branch/short_circuit callables, callbacks and notifiers,
    timetables, Jinja extensions) is checked against ``allowed_callables``. Nothing is allowed by
    name: only the runtime helpers that the compiler inserts on its own (``compile.tasks.HELPERS``)
    are used without a check, and only where the compiler inserts them.

    ``allowed_env`` lists the environment variables ``${env.NAME}`` may read. A policy is set when
    any option is set; then a name outside ``allowed_env`` is an error, and with ``allowed_env``
    unset no name resolves. ``allowed_buckets`` limits the buckets specs make dagspec write to
    (staging, cluster config and temp buckets, upload destinations).
    """

    allowed_operators: tuple[str, ...] | None = None
    allowed_callables: tuple[str, ...] | None = None
    allowed_env: tuple[str, ...] | None = None
    allowed_buckets: tuple[str, ...] | None = None

    @classmethod
    def from_env(cls, env: Any) -> Policy:
        from .cache import parse_patterns

        return cls(**{name: parse_patterns(env.get(f"AIRFLOW__DAGSPEC__{name.upper()}")) for name in POLICY_OPTIONS})

    @property
    def active(self) -> bool:
        """Whether the administrator set a policy (any of the options)."""
        return any(getattr(self, name) is not None for name in POLICY_OPTIONS)

    def key(self, check_imports: bool = True) -> str:
        from .cache import policy_key

        return policy_key(self.allowed_operators, self.allowed_callables, check_imports,
                          allowed_env=self.allowed_env, allowed_buckets=self.allowed_buckets)

    @property
    def env_patterns(self) -> tuple[str, ...] | None:
        """The environment variable names specs may read: None (any) without a policy; with a policy
        the ``allowed_env`` patterns, or none at all when it is unset."""
        if not self.active:
            return None
        return self.allowed_env or ()

    def allows_bucket(self, bucket: str) -> bool:
        """Whether dagspec may write to bucket ``bucket`` (a name, no gs://): ``[dagspec] allowed_buckets``."""
        return self.allowed_buckets is None or any(fnmatchcase(bucket, p) for p in self.allowed_buckets)

    def allows(self, path: str, kind: str) -> bool:
        patterns = self.allowed_operators if kind == "operator" else self.allowed_callables
        if patterns is None:
            return True
        return any(fnmatchcase(path, p) for p in patterns)


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

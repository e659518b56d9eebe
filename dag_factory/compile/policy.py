"""What specs may use (the administrator's ``[dagspec]`` policy) and the key a cached plan was checked under.

Below both the resolver (which checks paths against the policy) and the plan cache (which keys
plans by it); standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from .plan import Record  # standard library only; a record, not a dataclass: no code generated at import

__all__ = ["Policy", "POLICY_OPTIONS", "POLICY_RULES", "parse_patterns", "policy_key"]

POLICY_RULES = 2  # raise when the policy checks change
POLICY_OPTIONS = ("allowed_operators", "allowed_callables", "allowed_env", "allowed_buckets")


class Policy(Record):
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
        return cls(**{name: parse_patterns(env.get(f"AIRFLOW__DAGSPEC__{name.upper()}")) for name in POLICY_OPTIONS})

    @property
    def active(self) -> bool:
        """Whether the administrator set a policy (any of the options)."""
        return any(getattr(self, name) is not None for name in POLICY_OPTIONS)

    def key(self, check_imports: bool = True) -> str:
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


def parse_patterns(raw: str | None) -> tuple[str, ...] | None:
    """Comma-separated fnmatch patterns; None (anything goes) when empty."""
    if not raw or not raw.strip():
        return None
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def policy_key(allowed_operators: Sequence[str] | None, allowed_callables: Sequence[str] | None,
               check_imports: bool = True, *, allowed_env: Sequence[str] | None = None,
               allowed_buckets: Sequence[str] | None = None) -> str:
    """What a cached plan was checked against: the governance patterns, the import checks and the
    version of the policy rules (a plan checked under older, looser rules is never served)."""
    parts = {"operators": allowed_operators, "callables": allowed_callables, "env": allowed_env,
             "buckets": allowed_buckets}
    listed = ";".join(f"{name}={','.join(p) if p is not None else '*'}" for name, p in parts.items())
    return f"rules={POLICY_RULES};{listed};imports={check_imports}"

"""Checks that dotted import paths resolve and which keyword arguments an operator class accepts.

(``Policy``/``POLICY_OPTIONS`` live in ``compile/policy.py``; they are re-exported here for callers.)

Imports happen only when a check asks for them (never at module import), and every answer is
cached, so a dag_folder of many specs pays for each operator class once.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import sys
from dataclasses import dataclass, field
from typing import Any

from .policy import POLICY_OPTIONS, Policy

__all__ = ["Resolver", "Policy", "POLICY_OPTIONS"]


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

    def suggest(self, path: str) -> str:
        """For a path that does not resolve: ``did you mean `a.b.c`?`` with the first misspelt part replaced
        by the closest name its parent has, or an empty string. Looks only at the modules the failed import
        already loaded, and lists a package's modules without importing them."""
        parts = path.split(".")
        for i in range(len(parts) - 1, 0, -1):
            parent = sys.modules.get(".".join(parts[:i]))  # never imports again (a failing module would rerun)
            if parent is None:
                continue
            names = {n for n in dir(parent) if not n.startswith("_")}
            names |= {m.name for m in pkgutil.iter_modules(getattr(parent, "__path__", None) or [])}
            if parts[i] in names:  # the part exists; what fails is further on (or the import itself)
                return ""
            close = difflib.get_close_matches(parts[i], sorted(names), n=1, cutoff=0.6)
            return f"did you mean `{'.'.join([*parts[:i], close[0], *parts[i + 1:]])}`?" if close else ""
        return ""

    def accepted_args(self, path: str) -> frozenset[str] | None:
        """Keyword arguments a class's constructor chain accepts (None: accepts anything)."""
        if path in self._args:
            return self._args[path]
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

"""What compiling one spec shares: the spec, its source map, the diagnostics and the checks."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, did_you_mean
from ..spec.load import LoadedSpec
from ..spec.yaml_source import YamlPath
from .plan import SourceLoc
from .resolve import Policy, Resolver

__all__ = ["CompileContext"]

_CONFIG = {"operator": "allowed_operators", "callable": "allowed_callables"}


@dataclass
class CompileContext:
    loaded: LoadedSpec
    resolver: Resolver
    policy: Policy
    check_imports: bool = True
    diagnostics: list[Diagnostic] = field(default_factory=list)
    folders: tuple[Path, ...] = ()  # the dag_folder and the template folders: where spec files may point

    def error(self, code: str, message: str, path: YamlPath, hint: str = "", *, key: bool = False,
              severity: str = "error") -> None:
        loc = self.loaded.source.find(path, key=key)
        self.diagnostics.append(Diagnostic(code, message, loc.file, loc.line, loc.column, hint, severity))  # type: ignore[arg-type]

    def warn(self, code: str, message: str, path: YamlPath, hint: str = "", *, key: bool = False) -> None:
        self.error(code, message, path, hint, key=key, severity="warning")

    @property
    def roots(self) -> tuple[str, ...]:
        """Folders the files a spec names must be in (the dag folder and the template folders)."""
        return self.loaded.roots or (str(self.loaded.path.parent),)

    def loc(self, path: YamlPath) -> SourceLoc:
        return SourceLoc(*self.loaded.source.position(path, key=True))

    def item_path(self, path: YamlPath, i: int) -> YamlPath:
        """``path + (i,)`` when the YAML wrote a list there, else ``path`` (a single item that the
        model wrapped in a list, like a lone callback)."""
        return path + (i,) if self.loaded.source.find(path + (i,)) != self.loaded.source.find(path) else path

    def allowed(self, dotted: str, kind: str, path: YamlPath, *, what: str = "", key: bool = False) -> bool:
        """The policy check alone (no import): False, with a DSP042, when the policy refuses ``dotted``."""
        if self.policy.allows(dotted, kind):
            return True
        patterns = (self.policy.allowed_operators if kind == "operator" else self.policy.allowed_callables) or ()
        self.error("DSP042", f"{what or kind} `{dotted}` is not allowed here", path,
                   f"your administrator allows only {', '.join(patterns)}; to allow this one, the administrator "
                   f"adds `{dotted}` (or a pattern matching it) to `[dagspec] {_CONFIG[kind]}`", key=key)
        return False

    def check_import(self, dotted: str, kind: str, path: YamlPath, *, what: str = "") -> Any:
        """Policy and import checks for an operator or callable path named by the spec; returns the
        object or None. An operator must be an operator class, a callable must be callable."""
        if not self.allowed(dotted, kind, path, what=what):
            return None
        if not self.check_imports:
            return None
        obj, why = self.resolver.resolve(dotted)
        if obj is None:
            self.error("DSP040", f"{what or kind} `{dotted}` does not resolve: {why}", path,
                       self.resolver.suggest(dotted) or "check the spelling and that the package is installed "
                       "where Airflow runs")
            return None
        if kind == "operator" and not _is_operator_class(obj):
            self.error("DSP043", f"`{dotted}` is {_describe(obj)}, not an operator class", path,
                       "name a class that derives from Airflow's BaseOperator, e.g. "
                       "`airflow.providers.standard.operators.bash.BashOperator`")
            return None
        if kind == "callable" and not callable(obj):
            self.error("DSP043", f"{what or kind} `{dotted}` is {_describe(obj)}, not something that can be called",
                       path, "name a function or a class by its dotted path")
            return None
        return obj

    def check_call(self, dotted: str, obj: Any, args: dict[str, Any], path: YamlPath, args_path: YamlPath, what: str) -> None:
        """``obj(**args)`` must fit ``obj``'s signature (unknown and missing arguments), so that a
        notifier or timetable that the loader would fail to create fails validate instead."""
        if obj is None or not self.check_imports:
            return
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):  # a builtin without a signature: nothing to check
            return
        try:
            signature.bind(**args)
        except TypeError as exc:
            params = [p for p in signature.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            names = [p.name for p in params]
            unknown = [a for a in args if a not in signature.parameters]
            where = args_path + (unknown[0],) if unknown else (args_path if args else path)
            hint = did_you_mean(unknown[0], names) if unknown else ""
            why = f"takes no argument `{unknown[0]}`" if unknown else f"cannot be created with these `args`: {exc}"
            self.error("DSP044", f"{what} `{dotted}` {why}", where,
                       hint or f"it takes: {', '.join(names) or 'no arguments'}", key=bool(unknown))


def _is_operator_class(obj: Any) -> bool:
    """Duck-typed (this layer does not import Airflow): a class with ``execute`` and ``template_fields``."""
    return isinstance(obj, type) and callable(getattr(obj, "execute", None)) and hasattr(obj, "template_fields")


def _describe(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "a module"
    if isinstance(obj, type):
        return f"the class `{obj.__name__}`"
    if callable(obj):
        return "a function"
    return f"a value of type `{type(obj).__name__}`"

"""What compiling one spec shares: the spec, its source map, the diagnostics and the checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostic
from ..spec.load import LoadedSpec
from ..spec.yaml_source import Path_
from .plan import SourceLoc
from .resolve import Policy, Resolver

__all__ = ["Ctx"]


@dataclass
class Ctx:
    loaded: LoadedSpec
    resolver: Resolver
    policy: Policy
    check_imports: bool = True
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, path: Path_, hint: str = "", *, key: bool = False,
              severity: str = "error") -> None:
        loc = self.loaded.source.find(path, key=key)
        self.diagnostics.append(Diagnostic(code, message, loc.file, loc.line, loc.column, hint, severity))  # type: ignore[arg-type]

    def warn(self, code: str, message: str, path: Path_, hint: str = "", *, key: bool = False) -> None:
        self.error(code, message, path, hint, key=key, severity="warning")

    @property
    def roots(self) -> tuple[str, ...]:
        """Folders the files a spec names must be in (the dag folder and the template folders)."""
        return self.loaded.roots or (str(self.loaded.path.parent),)

    def loc(self, path: Path_) -> SourceLoc:
        loc = self.loaded.source.find(path, key=True)
        return SourceLoc(loc.file, loc.line, loc.column)

    def check_import(self, dotted: str, kind: str, path: Path_) -> Any:
        """Policy and import checks for an operator or callable path; returns the object or None."""
        if not self.policy.allows(dotted, kind):
            self.error("DSP042", f"{kind} `{dotted}` is not allowed here", path,
                       f"your administrator allows only: {', '.join(self._patterns(kind))}")
            return None
        if not self.check_imports:
            return None
        obj, why = self.resolver.resolve(dotted)
        if obj is None:
            self.error("DSP040", f"{kind} `{dotted}` does not resolve: {why}", path,
                       "check the spelling and that the package is installed where Airflow runs")
        return obj

    def _patterns(self, kind: str) -> tuple[str, ...]:
        return (self.policy.allowed_operators if kind == "operator" else self.policy.allowed_callables) or ()

"""Diagnostics as data: every problem dagspec finds in a spec, with its place and a remedy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

__all__ = [
    "Diagnostic", "SpecError", "did_you_mean", "render_text", "render_json", "has_errors", "snippet", "with_snippets",
]

Severity = Literal["error", "warning"]
SNIPPET_WIDTH = 120  # characters of a source line shown in a snippet


@dataclass(frozen=True)
class Diagnostic:
    """One problem: a stable ``code``, where it is, what is wrong and how to fix it."""

    code: str
    message: str
    file: str = ""
    line: int = 0
    column: int = 0
    hint: str = ""
    severity: Severity = "error"
    snippet: str = field(default="", compare=False)

    @property
    def location(self) -> str:
        if not self.file:
            return "<spec>"
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["column"] = data.pop("column")
        data.pop("snippet")
        return {k: data[k] for k in ("code", "severity", "message", "file", "line", "column", "hint")}

    def render(self) -> str:
        """Human text: ``file:line:col: error DSP101: message``, the source line with a caret, a hint."""
        out = [f"{self.location}: {self.severity} {self.code}: {self.message}"]
        if self.snippet:
            out.append(self.snippet)
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


class SpecError(Exception):
    """Raised when a spec cannot become a DAG; carries every diagnostic found, not only the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__(render_text(self.diagnostics))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``did you mean `x`?`` hint, or an empty string when nothing is close."""
    # lazy: difflib only when a hint is wanted (errors is on the worker's fast path)
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def render_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.render() for d in diagnostics)


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)


def snippet(lines: list[str], line: int, column: int) -> str:
    """The source line with a caret under the column, as compilers show it."""
    if not 0 < line <= len(lines):
        return ""
    text = "".join(c if c.isprintable() or c == "\t" else "\ufffd" for c in lines[line - 1].rstrip("\n"))
    column = max(column - 1, 0)
    if len(text) > SNIPPET_WIDTH:  # one window of the line, never all of a long one (a key, a token)
        start = max(0, min(column - SNIPPET_WIDTH // 2, len(text) - SNIPPET_WIDTH))
        text = ("…" if start else "") + text[start:start + SNIPPET_WIDTH] + "…"
        column = column - start + (1 if start else 0)
    gutter = f"{line:>5} | "
    return f"{gutter}{text}\n{' ' * (len(gutter) + column)}^"


def with_snippets(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics with their source line and caret filled in (each file read once)."""
    lines: dict[str, list[str]] = {}
    out = []
    for d in diagnostics:
        if not (d.file and d.line):
            out.append(d)
            continue
        if d.file not in lines:  # read as the spec loader does: regular files only, never blocking, capped
            # lazy: snippets are rare; errors stays free of the spec layer on the fast path
            from .spec.files import YAML_MAX, FileRefused, read_bytes

            try:
                lines[d.file] = read_bytes(d.file, d.file, YAML_MAX).decode("utf-8", errors="replace").splitlines()
            except FileRefused:
                lines[d.file] = []
        out.append(replace(d, snippet=snippet(lines[d.file], d.line, d.column)) if lines[d.file] else d)
    return out

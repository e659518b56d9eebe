"""What a conversion could not carry over exactly: issues with the dag-factory file and line, as data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..spec.yaml_source import YamlPath
from .read import DagSource

__all__ = ["Issue", "Collector", "CODES", "Status"]

Status = Literal["not_converted", "approximate", "dropped"]
# DSP100 not converted (the command fails without --allow-partial); DSP101 converted approximately;
# DSP102 dropped because dag-factory ignores it too on Airflow 3.
CODES: dict[str, str] = {"not_converted": "DSP100", "approximate": "DSP101", "dropped": "DSP102"}


@dataclass(frozen=True)
class Issue:
    status: Status
    message: str
    file: str
    line: int
    dag_id: str = ""
    hint: str = ""

    @property
    def code(self) -> str:
        return CODES[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, **asdict(self)}

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        dag = f" [{self.dag_id}]" if self.dag_id else ""
        text = f"{where}: {self.status.replace('_', ' ')} {self.code}{dag}: {self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


@dataclass
class Collector:
    """Issues of one DAG, and the original YAML of what was not converted (to write commented out)."""

    dag: DagSource
    issues: list[Issue] = field(default_factory=list)
    blocks: list[tuple[Issue, str]] = field(default_factory=list)

    def add(self, status: Status, path: YamlPath, message: str, hint: str = "") -> Issue:
        file, line = self.dag.where(path)
        issue = Issue(status, message, file, line, self.dag.dag_id, hint)
        self.issues.append(issue)
        if status == "not_converted":
            self.blocks.append((issue, _block(file, line)))
        return issue


def _block(file: str, line: int) -> str:
    """The YAML lines of the item starting at ``line``: that line and the more indented ones below it."""
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    if not 0 < line <= len(lines):
        return ""
    first = lines[line - 1]
    indent = len(first) - len(first.lstrip(" "))
    out = [first]
    for text in lines[line:]:
        if text.strip() and len(text) - len(text.lstrip(" ")) <= indent and not text.lstrip().startswith("#"):
            break
        out.append(text)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)

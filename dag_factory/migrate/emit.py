"""Spec data → YAML text: a header naming the source, the spec, then what was not converted, commented out."""

from __future__ import annotations

from typing import Any

import yaml

from .report import Issue

__all__ = ["spec_text"]


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the order the converter wrote them, long text as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def spec_text(data: dict[str, Any], blocks: list[tuple[Issue, str]], source: str) -> str:
    """The spec file: ``data`` as YAML, then each unconverted item as a commented-out block."""
    out = [f"# Converted by `dagspec import-dag-factory` from {source}"]
    if blocks:
        out.append("# Some items were NOT converted: see the commented-out blocks at the end.")
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=110)
    out.append(body.rstrip("\n"))
    for issue, text in blocks:
        out += ["", f"# NOT CONVERTED ({issue.code}) {issue.file}:{issue.line}: {issue.message}"]
        if issue.hint:
            out.append(f"#   hint: {issue.hint}")
        out += [f"#   {line}" for line in text.splitlines()]
    return "\n".join(out) + "\n"

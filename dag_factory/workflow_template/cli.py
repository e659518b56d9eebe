"""The ``import-template`` and ``export-template`` commands: files in, YAML/JSON out, exit codes.

``import_template``: a workflow template file -> spec (YAML, or JSON with ``--format json``). The
template is also compiled as a spec, so every problem (template structure, parameters, and what the
spec compiler finds) is reported once, on the template's lines, like ``dagspec validate``.
``export_template``: a spec -> workflow template; DSP088 errors name the tasks that prevent it.
Exit codes: 0 done, 1 the input has errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from ..compile.api import compile_paths
from ..errors import Diagnostic, has_errors, render_json, render_text, with_snippets
from ..spec.discover import find_root, is_spec_file
from ..spec.load import SpecLoader
from .export import export_plan
from .to_spec import is_workflow_template, template_to_spec

__all__ = ["import_template", "export_template", "dump_yaml", "convert_file"]


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the order given, long strings kept on one line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any, header: str = "") -> str:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
    return (header + text) if header else text


def _show(diagnostics: list[Diagnostic], fmt: str, stream: Any) -> None:
    if diagnostics:
        print(render_json(diagnostics) if fmt == "json" else render_text(diagnostics), file=stream)


def convert_file(path: Path) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """(spec data, diagnostics) for a template file; the spec is also compiled to find every problem."""
    loader = SpecLoader(find_root(path))
    doc, diags = loader.read(path)
    if doc is None:
        return None, with_snippets(diags)
    if not is_workflow_template(doc.data):
        loc = loader.display(Path(path).resolve())
        return None, [Diagnostic("DSP080", "not a Dataproc workflow template: it needs `jobs` whose items have "
                                 "`stepId`", loc, 1, 1, "see `gcloud dataproc workflow-templates export`")]
    converted = template_to_spec(doc.data, doc.source, use_id=True)
    diagnostics = list(converted.diagnostics)
    if not has_errors(diagnostics) and is_spec_file(path):
        result = compile_paths([path], root=find_root(path), check_imports=False)
        diagnostics = [d for d in result.all_diagnostics if d not in diagnostics] + diagnostics
    diagnostics = sorted(with_snippets(diagnostics), key=lambda d: (d.line, d.column, d.code))
    return (None if has_errors(diagnostics) else converted.data), diagnostics


def import_template(args: argparse.Namespace) -> int:
    data, diagnostics = convert_file(args.template)
    if data is None:
        _show(diagnostics, args.format, sys.stdout if args.format == "json" else sys.stderr)
        return 1
    _show(diagnostics, "text", sys.stderr)
    return _write(args, data, f"# Converted from the Dataproc workflow template {args.template.name} "
                              "by `dagspec import-template`.\n", f" ({len(data.get('tasks', {}))} task(s))")


def export_template(args: argparse.Namespace) -> int:
    if not args.spec.is_file():
        print(f"dagspec export-template: {args.spec}: no such file", file=sys.stderr)
        return 2
    result = compile_paths([args.spec], root=args.root or find_root(args.spec), check_imports=False)
    diagnostics = result.all_diagnostics
    plans = [p for p in result.plans if not args.dag_id or p.dag_id == args.dag_id]
    if has_errors(diagnostics) or not plans:
        _show(diagnostics, "text", sys.stderr)
        if not has_errors(diagnostics):
            print(f"dagspec export-template: no DAG {args.dag_id or ''} in {args.spec}".replace("  ", " "), file=sys.stderr)
        return 1
    if len(plans) > 1:
        print(f"dagspec export-template: {args.spec} defines {len(plans)} DAGs "
              f"({', '.join(p.dag_id for p in plans)}); choose one with --dag-id", file=sys.stderr)
        return 2
    exported = export_plan(plans[0])
    problems = sorted(with_snippets(exported.diagnostics), key=lambda d: (d.file, d.line, d.column))
    if exported.template is None:
        _show(problems, "text", sys.stderr)
        blockers = exported.blockers
        print(f"\ncannot export {plans[0].dag_id}: {len([d for d in problems if d.severity == 'error'])} problem(s)"
              + (f"; tasks that prevent it: {', '.join(blockers)}" if blockers else ""), file=sys.stderr)
        return 1
    _show(problems, "text", sys.stderr)
    return _write(args, exported.template, f"# Exported from {args.spec.name} by `dagspec export-template`; "
                                           "run it with `gcloud dataproc workflow-templates instantiate-from-file`.\n")


def _write(args: argparse.Namespace, data: dict[str, Any], header: str, summary: str = "") -> int:
    """Write ``data`` as JSON or YAML (after ``header``) to ``--output`` or standard output."""
    text = json.dumps(data, indent=2) + "\n" if args.format == "json" else dump_yaml(data, header)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}{summary}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0

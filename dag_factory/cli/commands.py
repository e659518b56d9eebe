"""The CLI's commands: each runs the shared compile path and prints its result as text or JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..compile.api import CompileResult, compile_paths
from ..compile.lines import target_line
from ..compile.plan import DagPlan, Duration, ImportRef, TaskOutput, to_data
from ..compile.pydags import python_dag_ids
from ..errors import has_errors, render_json, render_text
from ..spec.discover import LOADER_FILE, find_root, find_spec_files, is_spec_file, walk_dag_folder
from ..spec.secrets import redact

__all__ = ["validate", "render", "schema", "UsageError", "collect"]


class UsageError(Exception):
    """The command line itself is wrong (exit 2)."""


def collect(paths: list[Path], root: Path | None) -> tuple[list[Path], Path]:
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        files += [p for p in find_spec_files(path) if is_spec_file(p)] if path.is_dir() else [path]
    return files, (root or find_root(paths[0])).resolve()


def python_dags(root: Path) -> dict[str, str]:
    """DAG ids the dag folder's Python files define (static scan): a spec may not take them."""
    return python_dag_ids((p for p in walk_dag_folder(root) if p.suffix == ".py"), skip=[root / LOADER_FILE])


def validate(args: argparse.Namespace) -> int:
    try:
        line = target_line(args.airflow_version, os.environ)
    except ValueError as exc:
        print(f"dagspec validate: --airflow-version: {exc}", file=sys.stderr)
        return 2
    files, root = collect(args.paths, args.root)
    result = compile_paths(files, root=root, check_imports=not args.no_imports, taken=python_dags(root),
                           airflow_line=line)
    diagnostics = result.all_diagnostics
    if any(p.resolve() == root for p in args.paths):  # the whole dag folder: does it fit its parse units?
        from ..spec.units import check_units

        diagnostics += check_units(root, len(files))
    if args.format == "json":
        print(render_json(diagnostics))
    else:
        if diagnostics:
            print(render_text(diagnostics))
            print()
        errors = sum(d.severity == "error" for d in diagnostics)
        warnings = len(diagnostics) - errors
        bad = sum(1 for diags in result.diagnostics.values() if has_errors(diags))
        print(f"{len(files)} spec file(s), {len(result.plans)} DAG(s) ok; "
              f"{errors} error(s), {warnings} warning(s) in {bad} file(s)")
    return 1 if has_errors(diagnostics) else 0


def _one(args: argparse.Namespace) -> CompileResult:
    files, root = collect([args.spec], args.root)
    return compile_paths(files, root=root)


def render(args: argparse.Namespace) -> int:
    result = _one(args)
    diagnostics = result.all_diagnostics
    if has_errors(diagnostics):
        print(render_text(diagnostics), file=sys.stderr)
        return 1
    # values read from the environment print as their ${env.NAME} reference, never as themselves
    from ..spec.secrets import redact

    if args.format == "json":
        print(json.dumps(_redacted([to_data(p) for p in result.plans], result.secrets), indent=2, default=str))
    else:
        if diagnostics:
            print(render_text(diagnostics), file=sys.stderr)
        print(redact("\n\n".join(render_plan_text(p) for p in result.plans), result.secrets))
    return 0


def _redacted(data: object, secrets: tuple[tuple[str, str], ...]) -> object:
    if not secrets:
        return data
    if isinstance(data, str):
        return redact(data, secrets)
    if isinstance(data, dict):
        return {_redacted(k, secrets): _redacted(v, secrets) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_redacted(v, secrets) for v in data]
    return data if isinstance(data, (int, float, bool, type(None))) else redact(str(data), secrets)


def _short(value: object) -> str:
    if isinstance(value, ImportRef):
        return value.path
    if isinstance(value, Duration):
        return f"{value.seconds:g}s"
    if isinstance(value, TaskOutput):
        return f"output of {value.task_id}"
    text = json.dumps(to_data(value), default=str)
    return text if len(text) <= 90 else text[:87] + "..."


def render_plan_text(plan: DagPlan) -> str:
    """A readable outline of a plan: the DAG's settings, then each task with its edges."""
    sched = plan.schedule
    lines = [f"DAG {plan.dag_id}  ({plan.source.file})",
             f"  schedule: {sched.kind}{'' if sched.value is None else ' ' + _short(sched.value)}",
             f"  spec hash: {plan.spec_hash[:12]}"]
    for key, value in plan.dag_kwargs.items():
        lines.append(f"  {key}: {_short(value)}")
    if plan.params:
        lines.append("  params: " + ", ".join(f"{k}={p.default!r}" for k, p in plan.params.items()))
    for group in plan.groups:
        mapped = " (mapped)" if group.expand or group.expand_kwargs else ""
        lines.append(f"  group {group.group_id}{mapped}")
    lines.append(f"  tasks ({len(plan.tasks)}):")
    for task in plan.tasks:
        flags = [f for f, on in (("setup", task.setup), ("teardown", task.teardown), ("mapped", bool(task.expand or
                 task.expand_kwargs))) if on]
        if task.compensates:
            flags.append("compensates " + ", ".join(task.compensates))
        head = f"    {task.task_id}  [{task.kind}] {task.operator.rpartition('.')[2]}"
        lines.append(head + (f"  ({'; '.join(flags)})" if flags else ""))
        if task.upstream:
            lines.append(f"      after: {', '.join(task.upstream)}")
        for key, value in task.args.items():
            if key != "doc_md":
                lines.append(f"      {key}: {_short(value)}")
        if task.expand:
            lines.append(f"      expand: {_short(task.expand)}")
    return "\n".join(lines)


def schema(args: argparse.Namespace) -> int:
    if args.markdown:
        from ..spec.reference import render_reference  # lazy: only `schema` pays for the reference

        text = render_reference().rstrip("\n")
    elif args.dir:
        from ..spec.schemas import FILE_NAMES, build

        args.dir.mkdir(parents=True, exist_ok=True)
        for kind, name in FILE_NAMES.items():
            (args.dir / name).write_text(json.dumps(build(kind), indent=2) + "\n", encoding="utf-8")
            print(f"wrote {args.dir / name}", file=sys.stderr)
        return 0
    else:
        from ..spec.schemas import build

        text = json.dumps(build(args.kind), indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0

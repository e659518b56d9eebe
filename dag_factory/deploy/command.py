"""``dagspec deploy``: arguments to options, the plan and the outcome as text or JSON, and the exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ..airflow.importer_default import (
    DEPLOY_CODE,
    ImporterModeError,
    composer_command,
    importer_configs_value,
    importer_is_default,
    importer_mode,
)
from ..compile.lines import LINE_ENV, LINE_HELP, target_line
from ..errors import Diagnostic, render_json, render_text
from .bucket import DeployError, normalise_prefix, parse_bucket
from .plan import Change, DeployPlan, format_size
from .run import DeployOptions, Outcome, Prepared, apply, prepare

__all__ = ["add_arguments", "run", "render_plan"]

EPILOG = """\
examples:
  dagspec deploy --bucket gs://europe-west1-prod-1234-bucket --dry-run     show what would change
  dagspec deploy --bucket gs://europe-west1-prod-1234-bucket               validate, then upload
  dagspec deploy --bucket gs://my-bucket --prefix dags/team-a --format json

Run it from the project root: it deploys dags/ (the loader, the specs, every file the specs use, such
as job scripts and SQL, even where .airflowignore hides them from Airflow, and the rest of the folder)
and the templates/ the specs use, to gs://BUCKET/PREFIX/; --dry-run shows why each file goes. Nothing
is uploaded when a spec has an error. Only files an earlier deploy uploaded (listed in
PREFIX/.dagspec-manifest.json) are ever deleted; nothing outside PREFIX is touched.
Credentials: application default credentials (gcloud auth application-default login);
STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT sends everything to a local GCS emulator instead.
When --airflow-version is 3.4.0 final or later (or [dagspec] dag_importer = on), dagspec's DAG importer
is the environment's parse path: deploy prints (DSP104) the `gcloud composer environments update
--update-airflow-configs` command that registers it; the loader file is deployed as before and builds
the specs until then.
exit codes: 0 deployed (or nothing to do), 1 invalid specs or the deploy failed, 2 bad usage
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", required=True, metavar="gs://BUCKET",
                        help="the Composer environment's bucket (see `gcloud composer environments describe`)")
    parser.add_argument("--prefix", default="dags/dagspec", metavar="PATH",
                        help="folder of the bucket that deploy owns (default: %(default)s; Composer syncs dags/)")
    parser.add_argument("--dags", type=Path, default=Path("dags"), metavar="DIR",
                        help="local dag folder holding dagspec_loader.py (default: %(default)s)")
    parser.add_argument("--templates", type=Path, default=Path("templates"), metavar="DIR",
                        help="local templates folder; the templates specs use go to PREFIX/templates (default: %(default)s)")
    parser.add_argument("--project", help="Google Cloud project for the storage client (default: from the credentials)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--no-imports", action="store_true",
                        help="validate without importing operators and callables (as `dagspec validate --no-imports`)")
    parser.add_argument("--airflow-version", metavar="X.Y", help=LINE_HELP.replace("the one that", "the environment's, which"))
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


_MARK = {"new": "+", "changed": "~", "stale": "-"}


def render_plan(plan: DeployPlan, url: str, *, show_unchanged: bool = False) -> str:
    """The plan as a table with counts, e.g. ``+ new      examples/hello.yaml  320 B``."""
    lines = [f"Plan for {url}"]
    rows: list[tuple[str, str, str, str]] = [(f"{_MARK[c.reason]} {c.reason}", c.key, format_size(c.size), c.why)
                                              for c in (*plan.uploads, *plan.deletes)]
    if show_unchanged:
        rows += [("= unchanged", key, "", plan.why.get(key, "")) for key in plan.unchanged]
    rows += [("? foreign", key, "kept: not uploaded by dagspec", "") for key in plan.foreign]
    width = max((len(r[1]) for r in rows), default=0)
    size_width = max((len(r[2]) for r in rows if r[3]), default=0)
    lines += [f"  {a:<11} {k:<{width}}  {s:<{size_width}}  {w}".rstrip() for a, k, s, w in rows]
    n = plan.counts()
    lines.append(f"{n['new'] + n['changed']} to upload ({n['new']} new, {n['changed']} changed), "
                 f"{n['delete']} to delete, {n['unchanged']} unchanged, {n['foreign']} foreign kept")
    return "\n".join(lines)


def _progress(stream: TextIO) -> Any:
    def report(index: int, total: int, action: str, change: Change) -> None:
        size = f" ({format_size(change.size)})" if action == "upload" else ""
        print(f"  [{index:>{len(str(total))}}/{total}] {action} {change.key}{size}", file=stream, flush=True)

    return report


def importer_note(version: str | None, dags: Path, env: Any = os.environ) -> Diagnostic | None:
    """DSP104 (a warning): the target environment's Airflow parses specs with dagspec's importer once it is
    registered, and the gcloud command that registers it; None where the loader files are the parse path.
    Deploy writes only to the bucket, so it says what to run rather than changing the environment.
    ImporterModeError for ``[dagspec] dag_importer = on`` with a target older than 3.4."""
    if not importer_is_default(version, importer_mode(env)):
        return None
    return Diagnostic(
        DEPLOY_CODE, f"on Airflow {version or '(version not given)'} dagspec's DAG importer is the default parse path "
        "(one parse unit per spec); register it on the environment once (the deployed loader file builds the specs "
        "until then, and nothing afterwards)", str(dags),
        hint=f"{composer_command()}   (airflow.cfg: [dag_processor] dag_importer_configs = {importer_configs_value()})",
        severity="warning")


def _json(prepared: Prepared, dry_run: bool, outcome: Outcome | None, note: Diagnostic | None = None) -> str:
    data: dict[str, Any] = {
        "bucket": prepared.options.bucket, "prefix": prepared.target.prefix if prepared.target else prepared.options.prefix,
        "dry_run": dry_run, "ok": prepared.local.ok and (outcome is None or outcome.ok),
        "specs": prepared.local.spec_count, "dags": prepared.local.dag_count,
        "diagnostics": json.loads(render_json(prepared.local.diagnostics)),
        "plan": prepared.plan.to_data() if prepared.plan else None,
        "result": outcome.to_data() if outcome else None,
        "dag_importer": None if note is None else {
            **note.to_dict(), "airflow_configs": {"dag_processor-dag_importer_configs": importer_configs_value()},
            "command": composer_command()},
    }
    return json.dumps(data, indent=2)


def run(args: argparse.Namespace) -> int:
    """The command: 0 deployed or nothing to do, 1 invalid specs or a failed deploy, 2 bad usage."""
    text = args.format == "text"
    try:
        bucket = parse_bucket(args.bucket)
    except ValueError as exc:
        print(f"dagspec deploy: {exc}", file=sys.stderr)
        return 2
    if not args.dags.is_dir():
        print(f"dagspec deploy: {args.dags}: no such folder (run from the project root or pass --dags)", file=sys.stderr)
        return 2
    templates_given = args.templates != Path("templates")
    if templates_given and not args.templates.is_dir():
        print(f"dagspec deploy: {args.templates}: no such folder", file=sys.stderr)
        return 2
    try:
        prefix = normalise_prefix(args.prefix)
    except ValueError as exc:
        print(f"dagspec deploy: --prefix must name a folder of the bucket: {exc}", file=sys.stderr)
        return 2
    try:
        line = target_line(args.airflow_version, os.environ)
    except ValueError as exc:
        print(f"dagspec deploy: --airflow-version: {exc}", file=sys.stderr)
        return 2
    version = args.airflow_version or os.environ.get(LINE_ENV) or None
    try:
        note = importer_note(version, args.dags)
    except ImporterModeError as exc:
        print(f"dagspec deploy: {exc}", file=sys.stderr)
        return 2
    options = DeployOptions(bucket, prefix, args.dags, args.templates, args.project, not args.no_imports, line)
    try:
        prepared = prepare(options)
    except DeployError as exc:
        if text:
            print(f"dagspec deploy: {exc}", file=sys.stderr)
        else:
            print(json.dumps({"bucket": bucket, "prefix": options.prefix, "dry_run": args.dry_run, "ok": False,
                              "error": str(exc)}, indent=2))
        return 1
    if not prepared.local.ok or prepared.plan is None or prepared.target is None:
        if text:
            print(render_text(prepared.local.diagnostics), file=sys.stderr)
            print(f"\nnothing uploaded: {len(prepared.local.diagnostics)} problem(s) in the specs", file=sys.stderr)
        else:
            print(_json(prepared, args.dry_run, None, note))
        return 1
    plan, target = prepared.plan, prepared.target
    if text:
        if prepared.local.diagnostics:
            print(render_text(prepared.local.diagnostics), file=sys.stderr)
        print(f"{prepared.local.spec_count} spec file(s), {prepared.local.dag_count} DAG(s) valid; "
              f"{len(prepared.local.files)} file(s) to keep in sync")
        print(render_plan(plan, target.url, show_unchanged=getattr(args, "verbose", False)))
        if note is not None:
            print(note.render())
    if args.dry_run or plan.is_noop:
        if text:
            print("dry run: nothing changed" if args.dry_run else "up to date: nothing to do")
        else:
            print(_json(prepared, args.dry_run, None, note))
        return 0
    outcome = apply(prepared, _progress(sys.stderr))
    if text:
        summary = (f"{len(outcome.uploaded)} uploaded, {len(outcome.deleted)} deleted, {len(plan.unchanged)} unchanged "
                   f"in {outcome.seconds:.1f} s")
        if outcome.ok:
            print(f"deployed to {target.url}: {summary}")
        else:
            print(f"dagspec deploy: FAILED: {outcome.error}", file=sys.stderr)
            print(f"partial deploy to {target.url}: {summary}", file=sys.stderr)
    else:
        print(_json(prepared, False, outcome, note))
    return 0 if outcome.ok else 1

"""``dagspec import-dag-factory``: arguments, writing the converted specs, the report and the exit code."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from .convert import convert_paths
from .report import Issue

__all__ = ["DESCRIPTION", "EPILOG", "add_arguments", "run"]

DESCRIPTION = (
    "Convert astronomer dag-factory (1.x) YAML configurations into dagspec specs, one spec per DAG named after "
    "its DAG id. dag-factory's semantics are kept: several DAGs per file, the `default:` block, defaults.yml / "
    "defaults.yaml merged up the folder tree, list and dict tasks, task groups, expand/partial, `__type__` "
    "objects, `$ENV` (becomes ${env.NAME}). Built-in actions (bash:, python:, empty:, branch:) replace the "
    "standard operators; groups stay groups; a folder's defaults.yml becomes its _defaults.yaml. Anything that "
    "cannot be converted is reported with its file:line and written commented out at the end of the spec; the "
    "command then exits 1 unless --allow-partial."
)
EPILOG = """\
examples:
  dagspec import-dag-factory dags/ -o converted/          a whole dag folder (defaults.yml -> _defaults.yaml)
  dagspec import-dag-factory dags/etl.yml -o converted/   one file (several DAGs -> several specs)
  dagspec import-dag-factory dags/ -o out/ --format json  the report as JSON, for CI
  dagspec validate converted/                             then check the result

report codes: DSP100 not converted (commented out; exit 1 unless --allow-partial),
DSP101 converted approximately (says how), DSP102 dropped (dag-factory ignores it too).
guide: docs/migrating-from-dag-factory.md
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="dag-factory YAML files or folders")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                        help="folder to write the specs into (a folder source keeps its sub-folders)")
    parser.add_argument("--defaults-root", type=Path, metavar="DIR",
                        help="the highest folder searched for defaults.yml (dag-factory's defaults_config_path; "
                             "default: the source folder, or a file's own folder)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="exit 0 even when some items could not be converted")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    many = args.format == "text" and not args.quiet

    def progress(n: int, total: int, path: Path) -> None:
        if many and total > 1:
            print(f"[{n}/{total}] {path}", file=sys.stderr)

    result = convert_paths(list(args.sources), args.defaults_root, progress)
    out: Path = args.output
    for rel, text in result.files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for rel, source in result.copies.items():
        try:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out / rel)
        except OSError as exc:
            result.issues.append(_missing(str(source), exc))
    failed = bool(result.not_converted)
    if args.format == "json":
        print(json.dumps({"written": sorted([*result.files, *result.copies]), "dags": result.dags, "ok": not failed,
                          "issues": [i.to_dict() for i in result.issues]}, indent=2, default=str))
    else:
        for issue in result.issues:
            print(issue.render())
        counts = {s: sum(i.status == s for i in result.issues) for s in ("not_converted", "approximate", "dropped")}
        print(f"{len(result.dags)} DAG(s) -> {len(result.files)} file(s) in {out}; {counts['not_converted']} not "
              f"converted, {counts['approximate']} approximate, {counts['dropped']} dropped")
        if failed and not args.allow_partial:
            print("some items were not converted (commented out in the specs); --allow-partial accepts that",
                  file=sys.stderr)
    return 1 if failed and not args.allow_partial else 0


def _missing(source: str, exc: OSError) -> Issue:
    return Issue("not_converted", f"doc file could not be copied: {exc}", source, 0)

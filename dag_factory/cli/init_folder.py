"""``dagspec init-dag-folder``: write (or rewrite) the loader files that share a dag folder's specs into parse units."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..airflow.importer_default import (
    MODE_ENV,
    ImporterModeError,
    config_line,
    importer_is_default,
    importer_mode,
    installed_airflow_version,
)
from ..compile.lines import LINE_ENV
from ..spec.units import (
    MAX_SPECS_PER_UNIT,
    SINGLE_LOADER,
    SPECS_PER_UNIT,
    auto_units,
    is_ours,
    read_units,
    unit_file_name,
    unit_file_text,
    unit_of,
)

__all__ = ["DESCRIPTION", "EPILOG", "add_arguments", "plan_folder", "run", "FolderPlan"]

DESCRIPTION = f"""\
Write the loader files of a dag folder. Airflow 3.3 parses each Python file of the dag folder in one
process under `[core] dagbag_import_timeout` (30 s by default); one loader that builds every spec has a
folder size past which it runs out of time. Parse units split the specs over N small loader files,
dagspec_unit_<i>_of_<N>.py: each builds only the specs whose path (relative to the folder) hashes to it,
so a spec keeps its unit when others come and go, the dag processor parses the units in parallel
(`[dag_processor] parsing_processes`), and a spec that is too big or too slow is reported as its own
import error while the rest of its unit loads. One unit is the single loader, {SINGLE_LOADER}.

--auto sizes the folder at about {SPECS_PER_UNIT} specs per unit (one unit up to {SPECS_PER_UNIT} specs);
`dagspec validate` and `dagspec deploy` warn (DSP095) once a folder averages more than
{MAX_SPECS_PER_UNIT} specs per unit. Running the command again is safe: files already right are left
alone, loader files dagspec wrote for another layout are replaced, and any other file in the way is
never overwritten (exit 1). Deploy afterwards: `dagspec deploy` uploads the new unit files and deletes
the old ones it had uploaded. For the first setup of a project (the single loader, an example spec,
editor schemas), run `dagspec init` instead.

On Airflow 3.4.0 final and later, dagspec's DAG importer (one parse unit per spec) is the default
parse path ([dagspec] dag_importer = auto): without --units or --auto the command writes nothing and
prints the airflow.cfg line that registers the importer. --units/--auto still write loader files
(for a 3.3 environment, or the importer switched off with {MODE_ENV}=off).
The Airflow version is --airflow-version, else ${LINE_ENV}, else the installed Airflow's."""

EPILOG = f"""\
examples:
  dagspec init-dag-folder dags/ --auto        size the units for the specs in dags/ now
  dagspec init-dag-folder dags/ --units 8     eight units (about {8 * SPECS_PER_UNIT} specs)
  dagspec init-dag-folder dags/ --units 1     back to the single {SINGLE_LOADER}
  dagspec init-dag-folder dags/ --dry-run     show what would change
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="DIR", help="the dag folder (where the loader files go)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--units", type=int, metavar="N", help="exactly N parse units (1: the single loader)")
    how.add_argument("--auto", action="store_true",
                     help=f"as many units as the specs need, about {SPECS_PER_UNIT} each "
                          "(the default before Airflow 3.4.0 final)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")
    parser.add_argument("--airflow-version", metavar="VERSION",
                        help=f"the Airflow that will parse the folder (e.g. 3.4.0, 3.3.2; default: ${LINE_ENV}, else "
                             "the installed one): from 3.4.0 final on, dagspec's importer replaces the loader files")


@dataclass
class FolderPlan:
    """What ``init-dag-folder`` will do to a folder."""

    folder: Path
    units: int
    specs: int
    per_unit: list[int]
    write: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # foreign files in the way: nothing is done


def _spec_paths(folder: Path) -> list[str]:
    from ..compile.api import template_dirs
    from ..spec.discover import find_spec_files, is_spec_file

    dirs = template_dirs(folder, os.environ)
    top = folder.resolve()  # the walk lists paths below the resolved folder
    out = []
    for path in find_spec_files(folder):
        if is_spec_file(path) and not any(d == path or d in path.parents for d in dirs):
            out.append(Path(os.path.relpath(path, top)).as_posix())  # as the loader sees it: links below not resolved
    return out


def plan_folder(folder: Path, units: int | None) -> FolderPlan:
    """The files to write, keep and delete so that ``folder`` holds exactly ``units`` units (None: auto)."""
    specs = _spec_paths(folder)
    count = auto_units(len(specs)) if units is None else units
    shares = Counter(unit_of(rel, count) for rel in specs)
    plan = FolderPlan(folder, count, len(specs), [shares.get(i, 0) for i in range(count)])
    wanted = {unit_file_name(i, count): unit_file_text(i, count) for i in range(count)}
    for name, text in wanted.items():
        path = folder / name
        if not path.exists():
            plan.write.append(name)
        elif path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
            plan.keep.append(name)
        elif path.is_file() and is_ours(path):
            plan.write.append(name)
        else:
            plan.refused.append(name)
    for name in read_units(folder).files:
        if name not in wanted:
            (plan.delete if is_ours(folder / name) else plan.refused).append(name)
    return plan


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _importer_text(version: str | None, folder: Path) -> str:
    """What to do instead of writing loader files, where dagspec's importer is the default parse path."""
    indented = config_line().replace("\n", "\n    ")
    return (f"Airflow {version or '(version unknown)'}: dagspec's DAG importer is the default parse path (each spec "
            "its own parse unit), so no loader files are written. Register the importer in airflow.cfg:\n\n"
            f"    {indented}\n\n"
            "(or the environment variable AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS; on Composer `dagspec deploy` "
            "prints the gcloud command)."
            + (f" Until then {SINGLE_LOADER} keeps building the specs; once the importer is registered it builds "
               "nothing (delete it then)." if (folder / SINGLE_LOADER).exists() else "") + "\n"
            "--auto or --units N still write loader files (parse units) if asked for explicitly, e.g. for an "
            f"Airflow 3.3 environment; {MODE_ENV}=off makes them the default again.")


def run(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        print(f"dagspec init-dag-folder: {folder}: no such folder", file=sys.stderr)
        return 2
    if args.units is not None and not 1 <= args.units <= 10000:
        print("dagspec init-dag-folder: --units must be between 1 and 10000", file=sys.stderr)
        return 2
    explicit = args.units is not None or args.auto
    version = getattr(args, "airflow_version", None) or os.environ.get(LINE_ENV) or installed_airflow_version()
    try:
        importer = importer_is_default(version, importer_mode(os.environ))
    except ImporterModeError as exc:
        print(f"dagspec init-dag-folder: {exc}", file=sys.stderr)
        return 2
    if importer and not explicit:
        print(_importer_text(version, folder))
        return 0
    if importer:
        print(f"note: on Airflow {version or '(version unknown)'} dagspec's DAG importer is the default parse path; "
              "these loader files serve a 3.3 environment or one without the importer registered", flush=True)
    print(f"counting the specs of {folder} ...", flush=True)
    plan = plan_folder(folder, args.units)
    spread = f", {min(plan.per_unit)}-{max(plan.per_unit)} per unit" if plan.units > 1 else ""
    print(f"{plan.specs} spec(s) -> {plan.units} parse unit(s){spread}", flush=True)
    if plan.refused:
        for name in plan.refused:
            print(f"dagspec init-dag-folder: {folder / name} is not a loader file dagspec wrote: not touching it "
                  "(move it away or delete it, then run again)", file=sys.stderr)
        return 1
    if plan.units > 1 and plan.specs > plan.units * MAX_SPECS_PER_UNIT:
        print(f"warning: more than {MAX_SPECS_PER_UNIT} specs per unit; a cold parse may not fit Airflow's import "
              f"timeout (--units {auto_units(plan.specs)} would not)", file=sys.stderr)
    if not plan.write and not plan.delete:
        print(f"up to date: {len(plan.keep)} loader file(s) unchanged")
        return 0
    verb = "would " if args.dry_run else ""
    total = len(plan.write) + len(plan.delete)
    steps = [(name, "write") for name in plan.write] + [(name, "delete") for name in plan.delete]
    for n, (name, action) in enumerate(steps, 1):  # new units first: no spec is ever without a unit
        if not args.dry_run:
            if action == "write":
                index = int(name.split("_")[2]) if plan.units > 1 else 0
                _write(folder / name, unit_file_text(index, plan.units))
            else:
                (folder / name).unlink()
        print(f"  [{n:>{len(str(total))}}/{total}] {verb}{action} {name}", flush=True)
    done = "dry run: nothing changed" if args.dry_run else "done"
    print(f"{done}: {len(plan.write)} written, {len(plan.delete)} deleted, {len(plan.keep)} unchanged; "
          "deploy with `dagspec deploy` to upload them")
    return 0

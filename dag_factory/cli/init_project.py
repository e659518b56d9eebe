"""``dagspec init``: the first setup of dagspec in an existing Airflow project (loader, examples, editor settings)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..spec.schemas import FILE_NAMES, SCHEMA_DIR, build, vscode_mapping
from ..spec.units import LOADER_TEXT, SINGLE_LOADER, read_units

__all__ = ["DESCRIPTION", "EPILOG", "add_arguments", "plan_init", "run", "InitPlan", "EXAMPLE_SPEC", "DEFAULTS",
           "PROFILE", "IGNORE_LINES", "Layout"]

DESCRIPTION = """\
Set up dagspec in an existing Airflow project: the first thing to run. Writes into DIR (the dag folder,
default ./dags) the loader file that turns every spec of the folder into a DAG, a commented example spec,
_defaults.yaml and .airflowignore entries for job scripts; beside DIR a templates/clusters/ folder with one
commented cluster profile; and at the project root the JSON Schemas (.dagspec/, as `dagspec schema --dir
.dagspec` writes them) and .vscode/settings.json mapping them to the files (the Red Hat YAML extension
then completes and checks specs as you type).

The project root is DIR's parent (DIR itself when DIR is `.`), or --project; templates/ goes beside DIR
(inside it when DIR is the project root), where the loader looks for it, as does `dagspec deploy` run from
DIR's parent (elsewhere, pass it --dags and --templates).

Nothing that exists and differs is overwritten: such a file is named with what to do, and the exit code is 1.
Running it again is safe: files already there are reported as such and left alone; .airflowignore only gains
the lines it lacks. When the folder later holds hundreds of specs, `dagspec init-dag-folder` splits the
single loader into parse units."""

EPILOG = """\
examples:
  dagspec init                       set up ./dags (project root: .)
  dagspec init airflow/dags          dag folder airflow/dags; project root airflow/
  dagspec init dags --project .      the same root, said explicitly
  dagspec init dags --dry-run        show what would be written

then:
  dagspec validate dags/             check every spec
  dagspec up --dags dags             run them on a local Airflow with the Dataproc/GCS emulators
  dagspec deploy --bucket gs://your-composer-bucket --dags dags --dry-run
"""

EXAMPLE_NAME = "dagspec_example.yaml"
EXAMPLE_SPEC = """\
# An example spec written by `dagspec init`: its DAG id is the file name, `dagspec_example`.
# Check it with `dagspec validate`, see what it compiles to with `dagspec render`, delete it when
# you have specs of your own. Every key is described in dagspec's docs/spec-reference.md.
description: Two shell steps in sequence, written by `dagspec init`.
schedule: "@daily"               # a cron line ("0 6 * * *"), a preset, or null to run only when triggered
start_date: 2024-06-01
catchup: false
tags: [example]
params:                           # DAG params, shown in the trigger form
  day: {type: string, default: "2024-06-01"}
# An ephemeral Dataproc cluster, created before the first task that uses it and deleted after the
# last: uncomment these two lines and the `report` task below (templates/clusters/single-node.yaml).
# clusters:
#   etl: {extends: single-node}
tasks:
  extract:
    bash: echo "extracting {{ params.day }}"       # shorthand for BashOperator(bash_command=...)
  load:
    bash: echo "loading {{ params.day }}"
    depends_on: extract                            # one task, or a list
    retries: 2                                     # any operator argument: retries, retry_delay, pool, ...
  # report:                                        # a Spark SQL job on the cluster `etl`
  #   spark_sql: {query: "SELECT 1"}
  #   cluster: etl
  #   depends_on: load
"""

DEFAULTS = """\
# Defaults for every spec in this folder and below (written by `dagspec init`). A spec's own keys win;
# a _defaults.yaml in a sub-folder overrides this one for its specs. Mappings merge key by key, tags add up.
default_args:
  owner: data
  retries: 1
  retry_delay: 5m
tags: [dagspec]
"""

PROFILE_NAME = "single-node.yaml"
PROFILE = """\
# A cluster profile (written by `dagspec init`): a spec uses it with
#   clusters: {etl: {extends: single-node}}
# and may override any field. One node, no workers: the cheapest shape, for development and small jobs.
description: Single-node Dataproc cluster for development.
config:
  master_config:
    num_instances: 1
    machine_type_uri: n2-standard-4
    disk_config: {boot_disk_type: pd-balanced, boot_disk_size_gb: 100}
  software_config:
    image_version: "2.2-debian12"
    properties:
      "dataproc:dataproc.allow.zero.workers": "true"
labels:
  profile: single-node
idle_delete_ttl: 30m      # deleted after 30 minutes without jobs, should the delete task never run
auto_delete_ttl: 4h       # and after 4 hours whatever happens
"""

IGNORE_NAME = ".airflowignore"
IGNORE_LINES = (
    "# dagspec: job scripts run on Dataproc, not in Airflow; keep the dag processor from parsing them",
    "jobs/",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, nargs="?", default=Path("dags"), metavar="DIR",
                        help="the dag folder (default: %(default)s); created when missing")
    parser.add_argument("--project", type=Path, metavar="ROOT",
                        help="the project root, where .vscode/ and .dagspec/ go (default: DIR's parent, or DIR "
                             "when DIR is `.`); it must contain DIR")
    parser.add_argument("--dry-run", action="store_true", help="print what would be written and write nothing")


@dataclass(frozen=True)
class Layout:
    """Where ``init`` puts things: the dag folder, the project root and the templates folder."""

    dags: Path
    project: Path
    templates: Path

    @classmethod
    def of(cls, folder: Path, project: Path | None) -> Layout:
        dags = Path(os.path.abspath(folder))
        if project is None:
            root = dags if dags == Path(os.path.abspath(".")) else dags.parent
        else:
            root = Path(os.path.abspath(project))
        if root != dags and root not in dags.parents:
            raise ValueError(f"the project root {project} must contain the dag folder {folder}")
        return cls(dags, root, dags / "templates" if root == dags else dags.parent / "templates")

    def rel(self, path: Path) -> str:
        text = Path(os.path.relpath(path, self.project)).as_posix()
        return "" if text == "." else text


@dataclass
class InitPlan:
    """What ``init`` will do: per file (path relative to the current folder), and the conflicts."""

    layout: Layout
    files: dict[Path, str] = field(default_factory=dict)  # every file init owns, with its wanted text
    write: list[Path] = field(default_factory=list)
    there: list[Path] = field(default_factory=list)
    append: dict[Path, list[str]] = field(default_factory=dict)  # .airflowignore: the lines it lacks
    conflicts: dict[Path, str] = field(default_factory=dict)  # path -> how to proceed
    notes: list[str] = field(default_factory=list)


def _settings_text(layout: Layout) -> str:
    mapping = vscode_mapping(layout.rel(layout.dags), layout.rel(layout.templates))
    return json.dumps({"yaml.schemas": mapping}, indent=2) + "\n"


def wanted_files(layout: Layout) -> dict[Path, str]:
    """Every file ``init`` writes, with its text."""
    files = {}
    if read_units(layout.dags).units <= 1:  # a folder already split into parse units keeps them
        files[layout.dags / SINGLE_LOADER] = LOADER_TEXT
    files[layout.dags / EXAMPLE_NAME] = EXAMPLE_SPEC
    files[layout.dags / "_defaults.yaml"] = DEFAULTS
    files[layout.templates / "clusters" / PROFILE_NAME] = PROFILE
    for kind, name in FILE_NAMES.items():
        files[layout.project / SCHEMA_DIR / name] = json.dumps(build(kind), indent=2) + "\n"
    files[layout.project / ".vscode" / "settings.json"] = _settings_text(layout)
    return files


def _how(path: Path, layout: Layout) -> str:
    if path.name == "settings.json":
        return ("it holds settings of yours: add the `yaml.schemas` entry below to it by hand\n"
                + _settings_text(layout).rstrip("\n"))
    if path.parent.name == SCHEMA_DIR:
        return f"a schema of another dagspec version: refresh them with `dagspec schema --dir {path.parent}`"
    if path.name == SINGLE_LOADER:
        return "not the loader dagspec writes: move it away (or delete it), then run `dagspec init` again"
    return "yours, not the one dagspec writes: keep it (nothing to do), or move it away and run again for the example"


def plan_init(layout: Layout) -> InitPlan:
    """Compare the wanted files with the disk; nothing is written."""
    plan = InitPlan(layout, wanted_files(layout))
    if read_units(layout.dags).units > 1:
        plan.notes.append(f"{layout.dags.name}/ is split into parse units: its loader files are kept")
    for path, text in plan.files.items():
        if not path.exists():
            plan.write.append(path)
        elif path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
            plan.there.append(path)
        else:
            plan.conflicts[path] = _how(path, layout)
    ignore = layout.dags / IGNORE_NAME
    present = ignore.read_text(encoding="utf-8", errors="replace").splitlines() if ignore.is_file() else []
    missing = [line for line in IGNORE_LINES if line not in present]
    if ignore.exists() and not ignore.is_file():
        plan.conflicts[ignore] = "not a file: move it away, then run `dagspec init` again"
    elif missing:
        plan.append[ignore] = missing
    else:
        plan.there.append(ignore)
    return plan


def _show(path: Path) -> str:
    text = os.path.relpath(path)
    return text if not text.startswith("..") else str(path)


def _apply(plan: InitPlan) -> None:
    for path in plan.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(plan.files[path], encoding="utf-8")
        os.replace(tmp, path)
    for path, lines in plan.append.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        sep = "" if not old or old.endswith("\n") else "\n"
        path.write_text(old + sep + "".join(f"{line}\n" for line in lines), encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    try:
        layout = Layout.of(args.folder, args.project)
    except ValueError as exc:
        print(f"dagspec init: {exc}", file=sys.stderr)
        return 2
    if layout.dags.exists() and not layout.dags.is_dir():
        print(f"dagspec init: {args.folder} is not a folder", file=sys.stderr)
        return 2
    plan = plan_init(layout)
    verb = "would write" if args.dry_run else "wrote"
    for note in plan.notes:
        print(f"note: {note}")
    for path in sorted(plan.files.keys() | plan.append.keys() | set(plan.there)):
        if path in plan.conflicts:
            continue
        if path in plan.write:
            print(f"  {verb:<15} {_show(path)}")
        elif path in plan.append:
            print(f"  {'would add to' if args.dry_run else 'added to':<15} {_show(path)}  "
                  f"({', '.join(line for line in plan.append[path] if not line.startswith('#'))})")
        else:
            print(f"  {'already there':<15} {_show(path)}")
    if not args.dry_run:
        _apply(plan)
    for path, how in plan.conflicts.items():
        print(f"dagspec init: {_show(path)} exists and differs: not touching it; {how}", file=sys.stderr)
    changed = len(plan.write) + len(plan.append)
    dags = _show(layout.dags)
    if args.dry_run:
        print(f"dry run: nothing changed ({changed} to write, {len(plan.there)} already there, "
              f"{len(plan.conflicts)} in the way)")
    elif changed:
        print(f"done: {changed} written, {len(plan.there)} already there"
              + (f", {len(plan.conflicts)} left as they were" if plan.conflicts else "")
              + f". Next: `dagspec validate {dags}`, then `dagspec up --dags {dags}`")
    else:
        print(f"nothing to do: {len(plan.there)} already there"
              + (f", {len(plan.conflicts)} left as they were" if plan.conflicts else ""))
    return 1 if plan.conflicts else 0

"""The ``dagspec`` command: argument parsing, output formats and exit codes; the work lives elsewhere.

Exit codes: 0 success, 1 the input has errors (or the command failed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from ..compile.lines import LINE_HELP

__all__ = ["main", "build_parser"]

_EPILOG = """\
examples:
  dagspec init dags/                     first setup in your Airflow project: loader, example, editor schemas
  dagspec validate dags/                 check every spec under dags/ (exit 1 on errors)
  dagspec validate dags/sales.yaml --format json
  dagspec render dags/sales.yaml         show the tasks, edges and clusters a spec compiles to
  dagspec schema --dir .dagspec         JSON Schemas for editor completion (see `dagspec schema --help`)
  dagspec emulator                       local Dataproc + GCS emulators on 127.0.0.1
  dagspec up                             local Airflow + emulators, UI on http://127.0.0.1:8080 (admin/admin)
  dagspec import-template wft.yaml -o dags/etl.yaml   Dataproc workflow template -> spec
  dagspec export-template dags/etl.yaml  spec -> Dataproc workflow template
  dagspec import-dag-factory old_dags/ -o dags/   dag-factory YAML -> specs
  dagspec deploy --bucket gs://B --dry-run   what a deploy to a Composer bucket would change
  dagspec init-dag-folder dags/ --auto   split a large dag folder into parse units (Airflow 3.3)

docs: README.md (five-minute tour), docs/spec-reference.md (every key and diagnostic code)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagspec",
        description="Declarative YAML specs for Airflow 3 DAGs, with ephemeral Google Cloud Dataproc clusters.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    v = sub.add_parser("validate", help="check specs and report every problem with file:line:column",
                       description="Check spec files or folders. Reports every problem of every file at once: "
                                   "a code, the place, what is wrong and a hint. Exit 0 when there are no errors, "
                                   "1 when there are.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  dagspec validate dags/\n  dagspec validate a.yaml b.yaml --format json")
    v.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="spec files or folders (searched recursively)")
    v.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    v.add_argument("--root", type=Path, help="the dag_folder (default: the folder holding dagspec_loader.py)")
    v.add_argument("--no-imports", action="store_true",
                   help="skip checks that import operators and callables (faster; no Airflow needed)")
    v.add_argument("--airflow-version", metavar="X.Y", help=LINE_HELP)

    r = sub.add_parser("render", help="print the plan a spec compiles to",
                       description="Print the compiled plan of a spec: DAG settings, tasks, operators, edges, "
                                   "mapping and cluster lifecycles. The Airflow loader builds DAGs from this same plan.")
    r.add_argument("spec", type=Path, metavar="SPEC")
    r.add_argument("--format", choices=("text", "json"), default="text")
    r.add_argument("--root", type=Path, help="the dag_folder (default: the folder holding dagspec_loader.py)")

    from ..spec.schemas import KINDS, SCHEMA_DIR, VSCODE_MAPPING

    mapping = json.dumps({"yaml.schemas": VSCODE_MAPPING}, indent=2)
    s = sub.add_parser("schema", help="print the JSON Schemas of specs, defaults, templates, profiles (for editors)",
                       description="Print the JSON Schema of one kind of dagspec file (--kind), write all of them "
                                   "to a folder (--dir), or print the spec reference (--markdown).",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=f"examples:\n  dagspec schema --dir {SCHEMA_DIR}\n  dagspec schema --kind template\n\n"
                              f"then, for the VS Code YAML extension, in .vscode/settings.json:\n{mapping}\n")
    s.add_argument("--kind", choices=KINDS, default="spec",
                   help="spec (a file in the dag folder, default), defaults (_defaults.yaml), template "
                        "(templates/*.yaml), profile (templates/clusters/*.yaml), workflow-template")
    s.add_argument("--dir", type=Path, help=f"write every kind as KIND.schema.json into this folder (e.g. {SCHEMA_DIR})")
    s.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    s.add_argument("--markdown", action="store_true", help="print the spec reference as Markdown instead")

    # each of these packages declares its own arguments; imported here so `dagspec emulator` never pays for them
    from ..deploy.command import EPILOG as DEPLOY_EPILOG
    from ..deploy.command import add_arguments as deploy_arguments

    d = sub.add_parser("deploy", help="validate, then sync dags/ and the templates they use to a Composer bucket",
                       description="Validate every spec, then make gs://BUCKET/PREFIX/ hold the dag folder and the "
                                   "templates its specs use: upload new and changed files (with generation "
                                   "preconditions), delete files an earlier deploy uploaded that are gone locally.",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=DEPLOY_EPILOG)
    deploy_arguments(d)

    from ..cli.init_project import DESCRIPTION as SETUP_DESCRIPTION
    from ..cli.init_project import EPILOG as SETUP_EPILOG
    from ..cli.init_project import add_arguments as setup_arguments

    setup = sub.add_parser("init", help="set up dagspec in an existing Airflow project (loader, example, editor)",
                           description=SETUP_DESCRIPTION, epilog=SETUP_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    setup_arguments(setup)

    from ..cli.init_folder import DESCRIPTION as INIT_DESCRIPTION
    from ..cli.init_folder import EPILOG as INIT_EPILOG
    from ..cli.init_folder import add_arguments as init_arguments

    ini = sub.add_parser("init-dag-folder", help="write the loader files: one, or parse units for large folders",
                         description=INIT_DESCRIPTION, epilog=INIT_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    init_arguments(ini)

    it = sub.add_parser("import-template", help="convert a Dataproc workflow template into a spec",
                        description="Convert a Dataproc workflow template (the YAML of `gcloud dataproc "
                                    "workflow-templates instantiate-from-file`, camelCase or snake_case) into a spec: "
                                    "steps become tasks, placement a cluster, parameters DAG params. Problems are "
                                    "reported on the template's lines; exit 1 when there are errors.",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="examples:\n  dagspec import-template etl-template.yaml -o dags/etl.yaml\n"
                               "  dagspec import-template etl-template.yaml --format json")
    it.add_argument("template", type=Path, metavar="FILE", help="workflow template YAML")
    it.add_argument("-o", "--output", type=Path, help="write the spec here instead of standard output")
    it.add_argument("--format", choices=("yaml", "json"), default="yaml",
                    help="yaml (default) or json; with json, errors are printed as JSON too")

    et = sub.add_parser("export-template", help="write the Dataproc workflow template equivalent to a spec",
                        description="Write the Dataproc workflow template equivalent to a spec made only of Dataproc "
                                    "jobs on one cluster. Exit 1, naming the tasks that prevent it, when the spec "
                                    "cannot be expressed as a template.",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="examples:\n  dagspec export-template dags/etl.yaml -o etl-template.yaml\n"
                               "  gcloud dataproc workflow-templates instantiate-from-file --file etl-template.yaml")
    et.add_argument("spec", type=Path, metavar="SPEC")
    et.add_argument("-o", "--output", type=Path, help="write the template here instead of standard output")
    et.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default: yaml)")
    et.add_argument("--dag-id", help="the DAG to export when the spec defines several (instances)")
    et.add_argument("--root", type=Path, help="the dag_folder (default: the folder holding dagspec_loader.py)")

    from ..migrate import command as migrate

    sub.add_parser("import-dag-factory", help="convert dag-factory YAML DAGs into specs (one per DAG)",
                   description=migrate.DESCRIPTION, epilog=migrate.EPILOG,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    migrate.add_arguments(sub.choices["import-dag-factory"])

    # lazy, like deploy's above: `dagspec emulator` never pays for the stack package
    from ..stack.up import DESCRIPTION as UP_DESCRIPTION
    from ..stack.up import add_arguments as up_arguments

    up = sub.add_parser("up", help="run Airflow 3 and the emulators locally to use the UI (Ctrl-C stops)",
                        description=UP_DESCRIPTION)
    up_arguments(up)

    e = sub.add_parser("emulator", help="run the local Dataproc and GCS emulators", add_help=False)
    e.add_argument("args", nargs=argparse.REMAINDER)
    return parser


# Commands whose code lives in other packages, named by "module:function" so that this core imports
# none of them until one runs. A pass-through command gets its own arguments (it parses them itself).
_PASSTHROUGH = {"emulator": "dagspec.provider.emulator.cli:main"}
_RUNNERS = {
    "up": "dagspec.dag_factory.stack.up:run",
    "deploy": "dagspec.dag_factory.deploy.command:run",
    "init": "dagspec.dag_factory.cli.init_project:run",
    "init-dag-folder": "dagspec.dag_factory.cli.init_folder:run",
    "import-dag-factory": "dagspec.dag_factory.migrate.command:run",
    "import-template": "dagspec.dag_factory.workflow_template.cli:import_template",
    "export-template": "dagspec.dag_factory.workflow_template.cli:export_template",
}


def _command(target: str) -> Callable[..., int]:
    module, _, name = target.partition(":")
    return cast("Callable[..., int]", getattr(importlib.import_module(module), name))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in _PASSTHROUGH:
        return _command(_PASSTHROUGH[argv[0]])(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from . import commands  # after parsing: `--help` and usage errors stay instant

    try:
        if args.command in _RUNNERS:
            return int(_command(_RUNNERS[args.command])(args))
        return int(getattr(commands, args.command)(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `dagspec render ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except commands.UsageError as exc:
        print(f"dagspec {args.command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the CLI's last line of defence: a clean message, traceback on request
        if args.verbose:
            raise
        print(f"dagspec {args.command}: unexpected error: {type(exc).__name__}: {exc} (use --verbose for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

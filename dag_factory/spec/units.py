"""Parse units: how a large dag folder's specs are shared out over several small loader files.

Airflow 3.3's dag processor parses one Python file per process under ``[core] dagbag_import_timeout``
(30 s); a single loader that builds every spec of a folder has a size at which every DAG disappears
at once. A folder of parse units instead holds ``n`` tiny loader files, ``dagspec_unit_<i>_of_<n>.py``;
each builds only the specs whose path (relative to the folder, ``/``-separated) hashes to its index,
so the work is bounded per file, spread over ``[dag_processor] parsing_processes``, and a spec keeps
its unit when other specs come and go. ``dagspec_loader.py`` alone is the one-unit folder.

Pure: no Airflow import; the loader, ``dagspec init-dag-folder``, ``validate`` and ``deploy`` use it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic

__all__ = ["unit_of", "unit_file_name", "unit_file_text", "read_units", "FolderUnits", "SINGLE_LOADER",
           "SPECS_PER_UNIT", "MAX_SPECS_PER_UNIT", "auto_units", "check_units", "OUTGROWN_CODE",
           "MIXED_CODE", "MARKER", "is_ours", "LOADER_TEXT"]

SINGLE_LOADER = "dagspec_loader.py"
SPECS_PER_UNIT = 200  # what `--auto` aims at: ~2-5 s of cold compile + build per unit on one core
MAX_SPECS_PER_UNIT = 400  # above this average, validate/deploy warn: a cold unit nears the 30 s import timeout
MARKER = "# dagspec parse unit: written by `dagspec init-dag-folder`"
OUTGROWN_CODE = "DSP095"  # the folder has more specs than its units are sized for
MIXED_CODE = "DSP096"  # the loader files of a folder disagree (two layouts, or a unit missing)

# The single loader: the one text `dagspec init`, `dagspec init-dag-folder --units 1`, dags/dagspec_loader.py
# and the README show (tests/unit/test_cli_init.py compares them). It names airflow and dag, as it must.
LOADER_TEXT = '''"""dagspec loader: builds an Airflow DAG from every YAML spec of this dag folder.

Airflow's safe-mode discovery parses this file because it names airflow and dag. Broken specs show up in
Airflow's import errors under their own paths; the good ones still load. Written by `dagspec init`;
`dagspec init-dag-folder` replaces it with parse units when the folder grows large.
"""

from dagspec.dag_factory.airflow.loader import load_dag_folder

load_dag_folder(globals())
'''

_UNIT_NAME = re.compile(r"^dagspec_unit_(\d+)_of_(\d+)\.py$")


def unit_of(relative: str, units: int) -> int:
    """The unit (0 .. units-1) that owns the spec at ``relative`` (a ``/``-separated path relative
    to the dag folder): a hash of the path, stable across machines, Python runs and other specs."""
    if units <= 1:
        return 0
    digest = hashlib.blake2b(relative.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % units


def unit_file_name(index: int, units: int) -> str:
    if units <= 1:
        return SINGLE_LOADER
    width = len(str(units - 1))
    return f"dagspec_unit_{index:0{width}d}_of_{units}.py"


def unit_file_text(index: int, units: int) -> str:
    """A unit's loader file. It names airflow and dag (Airflow's safe-mode discovery parses only such files)."""
    if units <= 1:
        return LOADER_TEXT
    what = f"the specs of this dag folder whose path hashes to unit {index} of {units}"
    call = f"load_dag_folder(globals(), unit=({index}, {units}))"
    return (f'"""dagspec loader: builds an Airflow DAG for {what}.\n\n'
            "Broken specs show up in Airflow's import errors under their own paths; the good ones still load.\n"
            '"""\n'
            f"{MARKER}; run it again to change the number of units, do not edit.\n\n"
            "from dagspec.dag_factory.airflow.loader import load_dag_folder\n\n"
            f"{call}\n")


def is_ours(path: Path) -> bool:
    """A loader file dagspec wrote (or the README's single loader): safe to replace or delete."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    if MARKER in text:
        return True
    code = [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    # the README's loader: a docstring, the import and the call, nothing else
    return ("from dagspec.dag_factory.airflow.loader import load_dag_folder" in code
            and code[-1] == "load_dag_folder(globals())"
            and all(not line.startswith(("import ", "def ", "class ")) for line in code))


@dataclass(frozen=True)
class FolderUnits:
    """The loader files found at the top of a dag folder: ``units`` (0 when there is none), the files,
    and whether they form one complete layout."""

    units: int
    files: tuple[str, ...]
    complete: bool
    problem: str = ""


def read_units(folder: Path) -> FolderUnits:
    """The parse-unit layout of ``folder`` from its file names (no file is read)."""
    single = (folder / SINGLE_LOADER).is_file()
    found: dict[int, set[int]] = {}
    names: list[str] = []
    try:
        entries = sorted(p.name for p in folder.iterdir())
    except OSError:
        entries = []
    for name in entries:
        match = _UNIT_NAME.match(name)
        if match:
            found.setdefault(int(match.group(2)), set()).add(int(match.group(1)))
            names.append(name)
    if single:
        names.insert(0, SINGLE_LOADER)
    if not found:
        return FolderUnits(1 if single else 0, tuple(names), single)
    if single or len(found) > 1:
        layouts = ([SINGLE_LOADER] if single else []) + [f"{n} units" for n in sorted(found)]
        return FolderUnits(max(found), tuple(names), False,
                           f"more than one loader layout ({', '.join(layouts)}): specs would be built twice")
    units, indexes = next(iter(found.items()))
    missing = sorted(set(range(units)) - indexes)
    if missing or units < 2:
        return FolderUnits(units, tuple(names), False,
                           f"unit file(s) {', '.join(unit_file_name(i, units) for i in missing)} missing: "
                           "their specs would never load" if missing else "a unit layout of one file")
    return FolderUnits(units, tuple(names), True)


def auto_units(spec_count: int, per_unit: int = SPECS_PER_UNIT) -> int:
    """How many units a folder of ``spec_count`` specs needs: one (the single loader) up to
    ``per_unit`` specs, then enough for ``per_unit`` specs each."""
    return max(1, math.ceil(spec_count / per_unit))


def check_units(folder: Path, spec_count: int, max_per_unit: int = MAX_SPECS_PER_UNIT) -> list[Diagnostic]:
    """Warnings for ``validate`` and ``deploy``: loader files that disagree, or a folder that has
    outgrown its units (each with the command that fixes it)."""
    layout = read_units(folder)
    if layout.units == 0:
        return []
    fix = f"dagspec init-dag-folder {folder} --auto"
    if not layout.complete:
        return [Diagnostic(MIXED_CODE, f"the loader files of {folder} disagree: {layout.problem}", str(folder / layout.files[0]),
                           severity="warning", hint=f"run `{fix}` to write one consistent set")]
    if spec_count > layout.units * max_per_unit:
        need = auto_units(spec_count)
        return [Diagnostic(OUTGROWN_CODE, f"{spec_count} specs in {layout.units} parse unit(s): more than "
                           f"{max_per_unit} per unit, so a cold parse of a unit may not fit Airflow's "
                           "`[core] dagbag_import_timeout` and its specs would be reported as not built (DSP066)",
                           str(folder / layout.files[0]), severity="warning",
                           hint=f"run `dagspec init-dag-folder {folder} --units {need}` (or `--auto`), then deploy")]
    return []


def specs_of_unit(relatives: Iterable[str], index: int, units: int) -> list[str]:
    return [r for r in relatives if unit_of(r, units) == index]

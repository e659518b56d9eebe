"""The dag_folder loader: compile the folder's specs into DAGs in the loader module, report broken specs.

``dags/dagspec_loader.py`` calls ``load_dag_folder(globals())``. Airflow imports that file like any DAG
file (dag processor, ``DagBag``, and on a worker before each task); the loader lists the spec files
below the folder that ``.airflowignore`` does not exclude (Airflow's own walker and
``[core] dag_ignore_file_syntax``), compiles them, builds each good DAG and binds it in the module's
namespace, where Airflow's importer finds it.

Worker path. When Airflow sets a parsing context (``get_parsing_context().dag_id``: a worker about
to run a task, or ``airflow tasks``/``dags`` commands), only the spec(s) that can define that dag_id
are compiled and built.

Per-spec import errors. A broken spec must show up in Airflow's import errors under *its own*
path, with the diagnostics as text, and must not hide the good DAGs of the same folder. Airflow
3.3 parses one DAG file per ``DagBag.process_file``: the Python importer executes the module, then
``process_file`` copies the importer's errors into ``DagBag.import_errors`` (keyed by path relative
to the bundle). Everything downstream reads that dict: the dag processor sends it to the manager
in ``DagFileParsingResult.import_errors`` (``processor._parse_file``), which stores one
``ParseImportError`` row per key (``collection._update_import_errors``); ``sync_bag_to_db`` (used by
``dag.test()`` and ``airflow dags reserialize``) and ``airflow dags list-import-errors --local`` do
the same from a ``DagBag``. So the loader finds the ``DagBag`` that is importing it (the nearest
caller frame whose ``self`` is a ``DagBag``; the loader runs inside ``process_file``) and adds one
entry per broken spec, keyed by the spec's path relative to the bag's bundle.

Clearing. ``sync_bag_to_db`` clears the errors of every file listed in ``DagBag.file_last_changed``
that has no error now, so the loader records each spec it compiled there (it did read it): a fixed
spec's row disappears on the next sync. The dag processor clears only the file it parsed (the
loader) and, at each bundle refresh (``[dag_processor] refresh_interval``, 300 s by default), every
error row whose file is not a DAG file of the bundle (``clear_orphaned_import_errors``): a fixed
spec's error disappears at that sweep, and a still-broken spec's error is written again by the
next parse of the loader. No DB access happens from the loader.

DAG ids owned elsewhere. A spec never replaces a DAG that another file defines: before compiling,
the loader collects the DAG ids of the folder's Python files (a static scan, ``compile.pydags``; no
user code is imported) and of the DAGs the importing ``DagBag`` already holds from other files, and
a spec claiming one of them gets its own import error (DSP046, naming the other file) instead of a
DAG. Airflow's ``DagBag.bag_dag`` would otherwise reject whichever of the two files it meets second
(``AirflowDagDuplicatedIdException``), and the dag processor, which parses each file in its own
process, has no such check at all: both files would serialize the same dag_id in turn.

Timeouts. Airflow times the whole loader file as one DAG file: ``[core] dagbag_import_timeout``
(30 s) and ``[dag_processor] dag_file_processor_timeout`` (50 s) must cover compiling and building
the whole folder (about 8 ms per 20-task spec on one core).

When no ``DagBag`` is importing the module (plain ``python dagspec_loader.py``), diagnostics are
logged instead.
"""

from __future__ import annotations

import keyword
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterable, MutableMapping
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the worker's fast path never needs diagnostics: import them on use
    from ..errors import Diagnostic

__all__ = ["load_dag_folder", "list_spec_files", "SPEC_SUFFIXES", "BUILD_ERROR_CODE"]

log = logging.getLogger(__name__)

SPEC_SUFFIXES = (".yaml", ".yml")
BUILD_ERROR_CODE = "DSP900"  # a compiled plan that Airflow refused, or a crash in dagspec itself


def _conf_get(section: str, key: str, fallback: str) -> str:
    from airflow.sdk import conf

    value = conf.get(section, key, fallback=fallback)
    return fallback if value is None else str(value)


def list_spec_files(root: str | Path) -> list[Path]:
    """Spec candidates (``*.yaml``/``*.yml``) below ``root`` that ``.airflowignore`` does not exclude,
    outside hidden folders (``.git``, ``.github`` ...), as the CLI's discovery lists them."""
    return _list_folder(root)[0]


def _list_folder(root: str | Path) -> tuple[list[Path], list[Path]]:
    """The spec candidates and the Python files below ``root``, in one walk."""
    from airflow.sdk._shared.module_loading.file_discovery import find_path_from_directory

    syntax = _conf_get("core", "dag_ignore_file_syntax", "glob")
    specs: list[Path] = []
    python: list[Path] = []
    for found in find_path_from_directory(root, ".airflowignore", syntax):
        path = Path(found)
        if found.endswith((*SPEC_SUFFIXES, ".py")) and not any(
                part.startswith(".") for part in path.relative_to(root).parts):
            (python if found.endswith(".py") else specs).append(path)
    return sorted(specs), sorted(python)


def _taken_ids(root: Path, python: list[Path], loader_file: str | None, bag: Any) -> dict[str, str]:
    """DAG ids defined outside the loader: by the Python files of the folder, or of the whole bundle
    when the loader sits in a subfolder of it (static scan, no import), and by DAGs that the
    ``DagBag`` running the loader has already bagged from other files."""
    from ..compile.pydags import python_dag_ids

    bundle = Path(bag.bundle_path).resolve() if bag is not None and bag.bundle_path else None
    if bundle is not None and bundle != root.resolve() and root.resolve().is_relative_to(bundle):
        python = _list_folder(bundle)[1]
    taken = python_dag_ids(python, skip=[Path(loader_file)] if loader_file else [])
    if bag is not None:
        for dag_id, dag in bag.dags.items():
            fileloc = getattr(dag, "fileloc", None)
            if fileloc and (loader_file is None or os.path.abspath(fileloc) != os.path.abspath(loader_file)):
                taken.setdefault(dag_id, str(fileloc))
    return taken


def _policy() -> Any:
    from ..compile.api import Policy

    return Policy.from_env({
        "AIRFLOW__DAGSPEC__ALLOWED_OPERATORS": _conf_get("dagspec", "allowed_operators", ""),
        "AIRFLOW__DAGSPEC__ALLOWED_CALLABLES": _conf_get("dagspec", "allowed_callables", ""),
        "AIRFLOW__DAGSPEC__ALLOWED_ENV": _conf_get("dagspec", "allowed_env", ""),
    })


def _collecting_dagbag() -> Any:
    """The ``DagBag`` whose ``process_file`` is importing the caller, or None."""
    module = sys.modules.get("airflow.dag_processing.dagbag")
    if module is None:
        return None
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, module.DagBag):
            return candidate
        frame = frame.f_back
    return None


def _bag_key(bag: Any, path: Path) -> str:
    """The key ``DagBag`` uses for ``path``: relative to its bundle, else the path itself."""
    if not bag.bundle_path:
        return str(path)
    bundle = Path(bag.bundle_path)
    for candidate, base in ((path, bundle), (path.resolve(), bundle.resolve())):
        try:
            return str(candidate.relative_to(base))
        except ValueError:
            continue
    return str(path)  # outside the bundle (an explicit root elsewhere): keyed by its absolute path


class _Report:
    """Diagnostics by spec path, kept until they are handed to the DagBag (or the log)."""

    def __init__(self, listed: Iterable[Path]):
        self._listed = listed
        self._by_resolved: dict[Path, Path] | None = None
        self.errors: dict[Path, list[Diagnostic]] = {}
        self.secrets: list[tuple[str, str]] = []  # values read from the environment: never logged

    def spec_path(self, key: str) -> Path:
        if self._by_resolved is None:  # only when there is something to report
            self._by_resolved = {p.resolve(): p for p in self._listed}
        path = Path(key)
        if not path.is_absolute():
            path = Path.cwd() / path
        return self._by_resolved.get(path.resolve(), path)

    def add(self, key: str, diagnostics: list[Diagnostic]) -> None:
        if self.secrets:
            from ..spec.secrets import redact_diagnostics

            diagnostics = redact_diagnostics(diagnostics, self.secrets)
        errors = [d for d in diagnostics if d.severity == "error"]
        for d in diagnostics:
            if d.severity != "error":
                log.warning("%s", d.render())
        if errors:
            self.errors.setdefault(self.spec_path(key), []).extend(errors)

    def crash(self, key: str, message: str, line: int = 0, column: int = 0) -> None:
        from ..errors import Diagnostic

        self.add(key, [Diagnostic(BUILD_ERROR_CODE, message, key, line, column)])


def _compile(paths: list[Path], root: Path, only: str | None, report: _Report,
             taken: dict[str, str] | None = None) -> list[Any]:
    from ..compile.api import compile_paths

    policy = _policy()
    try:
        result = compile_paths(paths, root=root, policy=policy, only_dag_id=only, cache=True, taken=taken)
        groups = [result]
    except Exception:  # a dagspec bug must not hide the other specs: retry file by file
        log.exception("dagspec: compiling %s failed; compiling spec by spec", root)
        groups = []
        for path in paths:
            try:
                groups.append(compile_paths([path], root=root, policy=policy, only_dag_id=only, taken=taken))
            except Exception as exc:
                report.crash(str(path), f"dagspec crashed compiling this spec: {type(exc).__name__}: {exc}\n"
                             + traceback.format_exc(limit=-3))
    plans = []
    for result in groups:
        report.secrets += result.secrets
        for key, diagnostics in result.diagnostics.items():
            report.add(key, diagnostics)
        plans.extend(result.plans)
    return plans


def _var_name(dag_id: str, namespace: MutableMapping[str, Any]) -> str:
    base = re.sub(r"\W", "_", dag_id)
    if not base or base[0].isdigit() or keyword.iskeyword(base):
        base = "dag_" + base
    name, n = base, 2
    while name in namespace:
        name, n = f"{base}_{n}", n + 1
    return name


def load_dag_folder(namespace: MutableMapping[str, Any], root: str | Path | None = None) -> None:
    """Compile the specs below ``root`` (default: the folder of the calling loader file, else Airflow's
    ``[core] dags_folder``) and bind each built DAG in ``namespace``; register broken specs as
    import errors of the DagBag importing the loader."""
    from airflow.sdk import get_parsing_context

    from .build import BuildError, build_dag

    loader_file = namespace.get("__file__")
    if root is None:
        root = Path(loader_file).parent if loader_file else Path(_conf_get("core", "dags_folder", "."))
    root = Path(root)
    bag = _collecting_dagbag()
    owner = _yaml_owner(bag)
    if owner == "dagspec":  # Airflow 3.4 with dagspec's importer: each spec is its own parse unit
        log.info("dagspec: DagspecImporter parses the specs of this bundle; %s builds nothing (delete it)", loader_file)
        return
    only = get_parsing_context().dag_id
    if only is not None and _bind_from_cache(namespace, root, only, loader_file, build_dag):
        return  # a worker: the plan cache knew the spec, and it is unchanged
    paths, python = _list_folder(root)
    if owner == "airflow":  # Airflow's own YAML importer builds the files in its format
        paths = [p for p in paths if not _airflow_format(p)]
    taken = _taken_ids(root, python, loader_file, bag)  # a spec never replaces a DAG defined elsewhere
    report = _Report(paths)
    plans = _compile(paths, root, only, report, taken)
    if only is not None:
        plans = [p for p in plans if p.dag_id == only]
        if not plans and not report.errors:  # the cheap index missed it: compile everything, keep one
            plans = [p for p in _compile(paths, root, None, report, taken) if p.dag_id == only]

    broken = set(report.errors)
    for plan in plans:
        if broken and report.spec_path(plan.source.file) in broken:  # a file with errors gives no DAG
            continue
        try:
            dag = build_dag(plan, fileloc=loader_file)
        except BuildError as exc:
            src = exc.source or plan.source
            from ..errors import Diagnostic

            report.add(plan.source.file, [Diagnostic(BUILD_ERROR_CODE, f"Airflow rejected DAG `{plan.dag_id}`: {exc}",
                                                     src.file, src.line, src.column)])
            continue
        namespace[_var_name(plan.dag_id, namespace)] = dag

    from ..errors import has_errors, render_text

    if bag is None:
        for path, diagnostics in report.errors.items():
            log.error("dagspec: %s is broken:\n%s", path, render_text(diagnostics))
        return
    for path, diagnostics in report.errors.items():
        if has_errors(diagnostics):
            bag.import_errors[_bag_key(bag, path)] = render_text(diagnostics)
    if only is None and bag.bundle_path:
        _mark_parsed(bag, paths)


def _yaml_owner(bag: Any) -> str | None:
    """On Airflow 3.4, the importer that owns ``.yaml`` in this bundle (see ``importer.yaml_importer_kind``)."""
    try:
        from .importer import yaml_importer_kind

        return yaml_importer_kind(getattr(bag, "bundle_name", None))
    except Exception:  # a broken importer configuration is Airflow's to report
        log.debug("dagspec: could not read the DAG importer configuration", exc_info=True)
        return None


def _airflow_format(path: Path) -> bool:
    from ..compile.airflow_yaml import is_airflow_yaml

    try:
        return is_airflow_yaml(path.read_bytes())
    except OSError:
        return False


def _bind_from_cache(namespace: MutableMapping[str, Any], root: Path, dag_id: str, loader_file: str | None,
                     build_dag: Any) -> bool:
    """The worker's fast path: build ``dag_id`` from the plan cache without listing the folder or
    loading the compiler."""
    from ..compile.cache import indexed_plans, parse_patterns, policy_key

    try:
        policy = policy_key(parse_patterns(_conf_get("dagspec", "allowed_operators", "")),
                            parse_patterns(_conf_get("dagspec", "allowed_callables", "")),
                            allowed_env=parse_patterns(_conf_get("dagspec", "allowed_env", "")))
        plans = indexed_plans(root, dag_id, policy)
        if not plans:
            return False
        if str(root) not in sys.path:  # modules beside the specs (callables) are importable, as in a full parse
            sys.path.append(str(root))
        if not plans:
            return False
        for plan in plans:
            namespace[_var_name(plan.dag_id, namespace)] = build_dag(plan, fileloc=loader_file)
    except Exception:  # anything odd: take the full path, which reports problems properly
        log.debug("dagspec: plan cache could not serve %s", dag_id, exc_info=True)
        return False
    return True


def _mark_parsed(bag: Any, paths: list[Path]) -> None:
    """Record the specs as read by this parse, so ``sync_bag_to_db`` clears errors of fixed ones."""
    bundle = Path(bag.bundle_path)
    for path in paths:
        if not path.is_relative_to(bundle):  # sync_bag_to_db relativizes these keys without a fallback
            continue
        try:
            bag.file_last_changed[str(path)] = datetime.fromtimestamp(os.path.getmtime(path))
        except OSError:
            continue

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

Timeouts and budgets. Airflow times the whole loader file as one DAG file: ``[core]
dagbag_import_timeout`` (30 s) and ``[dag_processor] dag_file_processor_timeout`` (50 s) must cover
compiling and building the whole folder (about 8 ms per 20-task spec on one core; compile and build
are linear in tasks). So that one spec cannot take the folder down: the compiler refuses a spec
over its size budget before it costs anything (``spec.limits``: ``[dagspec] max_tasks_per_dag``,
``max_instances_per_file``, ``max_tasks_per_file``), and each spec file builds under a time budget
(``[dagspec] max_build_seconds``, a third of the import timeout by default) nested inside Airflow's
timer (``deadline.time_limit``): a spec that overruns it is stopped and reported as its own error
(DSP066), and specs stop being built when too little of the import timeout is left, so the DAGs
built so far survive.

Parse units. A large folder holds several loader files (``dagspec init-dag-folder``, ``spec.units``),
each calling ``load_dag_folder(globals(), unit=(i, n))``: it lists the folder as above but compiles and
builds only the specs whose relative path hashes to ``i``, keeps its own dag_id index in the plan cache
(the worker's fast path), and runs under its own import timeout and budgets in its own dag-processor
process; errors are still keyed by each spec's own path.

When no ``DagBag`` is importing the module (plain ``python dagspec_loader.py``), diagnostics are
logged instead.
"""

from __future__ import annotations

import keyword
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Iterable, MutableMapping
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..compile.gcpause import gc_paused  # standard library only, as the line below
from .compat import AIRFLOW_LINE, DAGBAG_MODULE, bag_bundle  # importing compat imports no Airflow

if TYPE_CHECKING:  # the worker's fast path never needs diagnostics: import them on use
    from ..errors import Diagnostic

__all__ = ["load_dag_folder", "list_spec_files", "BUILD_ERROR_CODE", "BUILD_TIME_CODE"]

log = logging.getLogger(__name__)

BUILD_ERROR_CODE = "DSP900"  # a compiled plan that Airflow refused, or a crash in dagspec itself
BUILD_TIME_CODE = "DSP066"  # a spec whose build overran its time budget (or found none left)


def __getattr__(name: str) -> Any:
    if name == "SPEC_SUFFIXES":  # re-exported on use: a worker's cache hit never imports spec.discover
        from ..spec.discover import SPEC_SUFFIXES

        return SPEC_SUFFIXES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _conf_get(section: str, key: str, fallback: str) -> str:
    from .compat import conf  # lazy: the CLI lists specs through this module without Airflow's cost

    value = conf.get(section, key, fallback=fallback)
    return fallback if value is None else str(value)


def list_spec_files(root: str | Path) -> list[Path]:
    """Spec candidates (``*.yaml``/``*.yml``) below ``root`` that ``.airflowignore`` does not exclude,
    outside hidden folders (``.git``, ``.github`` ...), as the CLI's discovery lists them."""
    return _list_folder(root)[0]


def _list_folder(root: str | Path) -> tuple[list[Path], list[Path]]:
    """The spec candidates and the Python files below ``root``, in one walk."""
    from ..spec.discover import SPEC_SUFFIXES  # lazy: full parse only (standard library only)
    from .compat import find_path_from_directory

    syntax = _conf_get("core", "dag_ignore_file_syntax", "glob")
    specs: list[Path] = []
    python: list[Path] = []
    try:
        found_all = list(find_path_from_directory(root, ".airflowignore", syntax))
    except RuntimeError:  # Airflow's walker gives up on a symlink loop: list once per folder instead
        from ..spec.discover import walk_dag_folder  # lazy: only on a symlink loop

        real = Path(root).resolve()
        found_all = [str(Path(root) / p.relative_to(real))
                     for p in walk_dag_folder(Path(root), {"AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": syntax})]
    for found in found_all:
        path = Path(found)
        if found.endswith((*SPEC_SUFFIXES, ".py")) and not any(
                part.startswith(".") for part in path.relative_to(root).parts):
            (python if found.endswith(".py") else specs).append(path)
    return sorted(specs), sorted(python)


def _taken_ids(root: Path, python: list[Path], loader_file: str | None, bag: Any) -> dict[str, str]:
    """DAG ids defined outside the loader: by the Python files of the folder, or of the whole bundle
    when the loader sits in a subfolder of it (static scan, no import), and by DAGs that the
    ``DagBag`` running the loader has already bagged from other files."""
    from ..compile.pydags import python_dag_ids  # lazy: full parse only, never a worker's cache hit

    bundle = Path(bag_bundle(bag)).resolve() if bag is not None and bag_bundle(bag) else None
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
    """The administrator's ``[dagspec]`` policy (cheap: the worker's fast path calls it too)."""
    # lazy, and from compile.policy (standard library only), not compile.resolve, which re-exports it
    # but imports the resolver's helpers (difflib, pkgutil) a worker's cache hit never uses
    from ..compile.policy import POLICY_OPTIONS, Policy

    return Policy.from_env({f"AIRFLOW__DAGSPEC__{name.upper()}": _conf_get("dagspec", name, "")
                            for name in POLICY_OPTIONS})


def _budget() -> Any:
    from ..spec.limits import Budget  # lazy: full parse only

    try:
        return Budget.from_env({f"AIRFLOW__DAGSPEC__{key.upper()}": _conf_get("dagspec", key, "")
                                for key in Budget.KEYS})
    except ValueError as exc:  # a typo in the configuration must not take the folder down
        log.error("dagspec: %s; using the default budgets", exc)
        return Budget()


def _collecting_dagbag() -> Any:
    """The ``DagBag`` whose ``process_file`` is importing the caller, or None."""
    module = sys.modules.get(DAGBAG_MODULE)
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
    if not bag_bundle(bag):
        return str(path)
    bundle = Path(bag_bundle(bag))
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
            from ..spec.secrets import redact_diagnostics  # lazy: only when there is something to redact

            diagnostics = redact_diagnostics(diagnostics, self.secrets)
        errors = [d for d in diagnostics if d.severity == "error"]
        for d in diagnostics:
            if d.severity != "error":
                log.warning("%s", d.render())
        if errors:
            self.errors.setdefault(self.spec_path(key), []).extend(errors)

    def crash(self, key: str, message: str, line: int = 0, column: int = 0) -> None:
        from ..errors import Diagnostic  # lazy: diagnostics, not needed on a worker's cache hit

        self.add(key, [Diagnostic(BUILD_ERROR_CODE, message, key, line, column)])


def _compile(paths: list[Path], root: Path, only: str | None, report: _Report,
             taken: dict[str, str] | None = None, unit: tuple[int, int] | None = None,
             merge_index: bool = False) -> list[Any]:
    from ..compile.api import compile_paths  # lazy: the compiler and pydantic, never on a worker's cache hit

    policy, budget = _policy(), _budget()
    try:
        result = compile_paths(paths, root=root, policy=policy, only_dag_id=only, cache=True, taken=taken,
                               budget=budget, unit=unit, merge_index=merge_index)
        groups = [result]
    except Exception:  # a dagspec bug must not hide the other specs: retry file by file
        log.exception("dagspec: compiling %s failed; compiling spec by spec", root)
        groups = []
        for path in paths:
            try:
                groups.append(compile_paths([path], root=root, policy=policy, only_dag_id=only, taken=taken, budget=budget))
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


def load_dag_folder(namespace: MutableMapping[str, Any], root: str | Path | None = None,
                    unit: tuple[int, int] | None = None) -> None:
    """Compile the specs below ``root`` (default: the folder of the calling loader file, else Airflow's
    ``[core] dags_folder``) and bind each built DAG in ``namespace``; register broken specs as
    import errors of the DagBag importing the loader.

    ``unit=(i, n)``: this loader file is parse unit ``i`` of ``n`` (``spec.units``, written by
    ``dagspec init-dag-folder``) and builds only the specs whose path relative to ``root`` hashes to ``i``."""
    from .compat import get_parsing_context

    loader_file = namespace.get("__file__")
    if root is None:
        root = Path(loader_file).parent if loader_file else Path(_conf_get("core", "dags_folder", "."))
    root = Path(root)
    bag = _collecting_dagbag()
    owner = _yaml_owner(bag)
    if owner == "dagspec":  # Airflow 3.4 with dagspec's importer: each spec is its own parse unit
        log.info("dagspec: DagspecImporter parses the specs of this bundle; %s builds nothing (delete it)", loader_file)
        return
    unit = _checked_unit(unit)
    only = get_parsing_context().dag_id
    if owner is None and only is None and AIRFLOW_LINE >= (3, 4):  # the dag processor's parse, not a worker's
        _warn_importer_unregistered()
    if only is not None:
        # As for the whole folder below; the builder is imported inside the pause too (its objects live on,
        # as the DAG's do), so that a worker's parse runs one young collection at its end, not two.
        with gc_paused():
            from .build import build_dag  # lazy: the CLI imports this module without Airflow

            if _bind_from_cache(namespace, root, only, loader_file, build_dag, unit):
                return  # a worker: the plan cache knew the spec, and it is unchanged
    # The cyclic garbage collector is paused while the folder's DAGs are compiled and built: they
    # all stay alive, so each full collection would walk every object built so far for nothing (a
    # third or more of the parse; a hand-written DAG file pays it too). Unreachable cycles made
    # meanwhile wait for the collection that follows, once the unit's DAGs are handed to Airflow.
    with gc_paused():
        from .build import BuildError, build_dag

        clock = _Clock.from_conf()  # from the start of the parse: compiling spends the import timeout too
        paths, python = _list_folder(root)
        if unit is not None:
            paths = _unit_share(paths, root, unit)
        if owner == "airflow":  # Airflow's own YAML importer builds the files in its format
            paths = [p for p in paths if not _airflow_format(p)]
        taken = _taken_ids(root, python, loader_file, bag)  # a spec never replaces a DAG defined elsewhere
        report = _Report(paths)
        unbuilt: list[Path] = []  # specs never reached before the import timeout's reserve (cheaply reported)
        # A folder larger than a parse unit is compiled and built in chunks, the clock checked between
        # them, so that however large it is the DAGs built in time survive (``spec.units`` splits it).
        size = max(len(paths), 1) if only is not None or len(paths) <= _CHUNK else _CHUNK
        for start in range(0, max(len(paths), 1), size):  # one round for an empty folder too
            chunk = paths[start:start + size]
            if start and clock.out_of_time():
                unbuilt = paths[start:]
                break
            plans = _compile(chunk, root, only, report, taken, unit, merge_index=start > 0)
            if only is not None:
                plans = [p for p in plans if p.dag_id == only]
                if not plans and not report.errors:  # the cheap index missed it: compile everything, keep one
                    plans = [p for p in _compile(paths, root, None, report, taken, unit) if p.dag_id == only]
            broken = set(report.errors)
            files = _by_file(plans)
            for n, (file, file_plans) in enumerate(files):
                if broken and report.spec_path(file) in broken:  # a file with errors gives no DAG
                    continue
                if size < len(paths) and clock.out_of_time():
                    done = {Path(f).resolve() for f, _ in files[:n]}
                    unbuilt = [p for p in chunk if p.resolve() not in done] + paths[start + size:]
                    break
                for plan, dag in _build_file(file_plans, loader_file, report, clock, build_dag, BuildError):
                    namespace[_var_name(plan.dag_id, namespace)] = dag
            if unbuilt:
                break

    from ..errors import has_errors, render_text  # lazy: diagnostics, not needed on a worker's cache hit

    if bag is None:
        for path, diagnostics in report.errors.items():
            log.error("dagspec: %s is broken:\n%s", path, render_text(diagnostics))
        if unbuilt:
            log.error("dagspec: %d spec(s) not built, out of time:\n%s", len(unbuilt),
                      _unbuilt_text(unbuilt[0], root, len(paths), clock))
        return
    for path, diagnostics in report.errors.items():
        if has_errors(diagnostics):
            bag.import_errors[_bag_key(bag, path)] = render_text(diagnostics)
    for path in unbuilt:
        bag.import_errors.setdefault(_bag_key(bag, path), _unbuilt_text(path, root, len(paths), clock))
    if only is None and bag_bundle(bag):
        _mark_parsed(bag, paths)


_CHUNK = 100  # specs compiled and built between two looks at the clock, in a folder larger than this


def _unbuilt_text(path: Path, root: Path, count: int, clock: _Clock) -> str:
    """The import error of a spec the parse never reached (made without reading or resolving anything)."""
    from ..errors import Diagnostic  # lazy: diagnostics, not needed on a worker's cache hit

    return Diagnostic(
        BUILD_TIME_CODE, f"not built: this parse unit ({count} specs) ran out of `[core] dagbag_import_timeout` "
        f"({clock.import_timeout:g} s) before this spec's turn; the DAGs built before it still load",
        str(path), 1, 1,
        f"split the dag folder into more parse units: `dagspec init-dag-folder {root} --auto`, then deploy "
        "(or raise `[core] dagbag_import_timeout`)").render()


def _checked_unit(unit: Any) -> tuple[int, int] | None:
    """``(index, count)`` with 0 <= index < count, or None for the whole folder (a one-unit layout)."""
    if unit is None:
        return None
    index, count = (int(x) for x in unit)
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"dagspec: unit={unit!r} is not (index, count) with 0 <= index < count")
    return None if count == 1 else (index, count)


def _unit_share(paths: list[Path], root: Path, unit: tuple[int, int]) -> list[Path]:
    """The specs this parse unit owns: by a hash of each path relative to the dag folder."""
    from ..spec.units import unit_of  # lazy: parse units only

    index, count = unit
    return [p for p in paths if unit_of(p.relative_to(root).as_posix(), count) == index]


def _by_file(plans: list[Any]) -> list[tuple[str, list[Any]]]:
    """The plans grouped by spec file (instances of one file are consecutive), in order."""
    out: list[tuple[str, list[Any]]] = []
    for plan in plans:
        if out and out[-1][0] == plan.source.file:
            out[-1][1].append(plan)
        else:
            out.append((plan.source.file, [plan]))
    return out


class _Clock:
    """The loader's time budgets, kept well inside Airflow's ``[core] dagbag_import_timeout``:
    each spec file may build for ``per_spec`` seconds (``[dagspec] max_build_seconds``, by default
    a third of the import timeout, at most half of it), and no spec starts building once fewer than
    ``reserve`` seconds are left, so the DAGs built so far and the errors still reach Airflow."""

    SERIALIZE_FACTOR = 2.5  # after the import, Airflow serializes the built DAGs: up to ~2.5x their build time

    def __init__(self, import_timeout: float, per_spec: float | None, file_timeout: float = 0.0):
        self.start = time.monotonic()
        self.import_timeout = import_timeout
        self.per_spec = per_spec
        self.reserve = max(2.0, import_timeout * 0.15) if import_timeout > 0 else 0.0
        # ``[dag_processor] dag_file_processor_timeout`` kills the whole parse, serialization included
        self.file_timeout = file_timeout
        self.built_seconds = 0.0

    @classmethod
    def from_conf(cls) -> _Clock:
        try:
            timeout = float(_conf_get("core", "dagbag_import_timeout", "30"))
        except ValueError:
            timeout = 30.0
        raw = _conf_get("dagspec", "max_build_seconds", "").strip()
        try:
            per_spec: float | None = float(raw) if raw else (timeout / 3 if timeout > 0 else None)
        except ValueError:
            log.error("dagspec: [dagspec] max_build_seconds must be a number, not %r; using the default", raw)
            per_spec = timeout / 3 if timeout > 0 else None
        if per_spec is not None and per_spec <= 0:
            per_spec = None
        if timeout > 0:
            per_spec = min(per_spec or timeout / 2, timeout / 2)
        try:
            file_timeout = float(_conf_get("dag_processor", "dag_file_processor_timeout", "50"))
        except ValueError:
            file_timeout = 50.0
        return cls(timeout, per_spec, file_timeout)

    def out_of_time(self) -> bool:
        """True once no more spec should start: Airflow's import timer is into the reserve, or the DAGs
        built so far would need the rest of ``dag_file_processor_timeout`` to be serialized."""
        left = self.left()
        if left is not None and left <= self.reserve:
            return True
        if self.file_timeout <= 0 or not _usable_timer():
            return False
        elapsed = time.monotonic() - self.start
        return elapsed + self.SERIALIZE_FACTOR * self.built_seconds >= self.file_timeout - self.reserve

    def left(self) -> float | None:
        """Seconds left before Airflow's import timeout fires (its timer when armed, else an estimate)."""
        from .deadline import outer_time_left  # lazy: full parse only

        left = outer_time_left()
        if left is None and self.import_timeout > 0:
            left = self.import_timeout - (time.monotonic() - self.start)
        return left


def _usable_timer() -> bool:
    """Only inside Airflow's dag processor (a frame of ``dag_processing/processor.py`` calls the parse):
    a ``DagBag`` elsewhere has no ``dag_file_processor_timeout``."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("dag_processing", "processor.py")):
            return True
        frame = frame.f_back
    return False


def _build_file(plans: list[Any], loader_file: str | None, report: _Report, clock: _Clock, build_dag: Any,
                build_error: type[Exception]) -> list[tuple[Any, Any]]:
    """Build one spec file's DAGs within its time budget; report what Airflow rejects or what overran."""
    from ..errors import Diagnostic  # lazy: diagnostics and the alarm, full parse only
    from .deadline import OverBudget, time_limit

    first = plans[0]
    left = clock.left()
    if left is not None and left <= clock.reserve:
        report.add(first.source.file, [Diagnostic(
            BUILD_TIME_CODE, f"not built: the dag folder's parse had {max(left, 0):.1f} s left of "
            f"`[core] dagbag_import_timeout` ({clock.import_timeout:g} s), too little to build this spec",
            first.source.file, first.source.line, first.source.column,
            "the specs before it take too long to build; split the dag folder, or raise "
            "`[core] dagbag_import_timeout`")])
        return []
    budget = clock.per_spec
    if left is not None:  # never into the reserve: Airflow's own timer must not fire while a spec builds
        budget = min(budget, left - clock.reserve) if budget is not None else left - clock.reserve
    built: list[tuple[Any, Any]] = []
    begun = time.monotonic()
    try:
        with time_limit(budget):
            for plan in plans:
                try:
                    built.append((plan, build_dag(plan, fileloc=loader_file)))
                except build_error as exc:
                    src = getattr(exc, "source", None) or plan.source
                    report.add(plan.source.file, [Diagnostic(
                        BUILD_ERROR_CODE, f"Airflow rejected DAG `{plan.dag_id}`: {exc}", src.file, src.line,
                        src.column)])
        over = budget is not None and time.monotonic() - begun > budget
    except OverBudget:
        over = True
    clock.built_seconds += time.monotonic() - begun
    if over:
        assert budget is not None
        report.add(first.source.file, [Diagnostic(
            BUILD_TIME_CODE, f"building this spec's DAGs took more than {budget:.3g} s, the time it had (the budget "
            f"of one spec file is {clock.per_spec or 0:g} s); it was stopped so that the other specs still load",
            first.source.file,
            first.source.line, first.source.column,
            "make it smaller (fewer tasks or instances), look for operators or callbacks that do slow work when "
            "they are created, or ask your administrator to raise `[dagspec] max_build_seconds`")])
        return []
    return built


def _yaml_owner(bag: Any) -> str | None:
    """On Airflow 3.4, the importer that owns ``.yaml`` in this bundle (see ``importer.yaml_importer_kind``)."""
    if AIRFLOW_LINE < (3, 4):  # no DAG importers: skip importing the importer (about half a worker's parse)
        return None
    try:
        from .importer import yaml_importer_kind  # lazy: Airflow 3.4's importer registry, read only when needed

        return yaml_importer_kind(getattr(bag, "bundle_name", None))
    except Exception:  # a broken importer configuration is Airflow's to report
        log.debug("dagspec: could not read the DAG importer configuration", exc_info=True)
        return None


_warned_unregistered = False


def _warn_importer_unregistered() -> None:
    """Once per process: on an Airflow where dagspec's importer is the default parse path (importer_default.py)
    but no importer owns ``.yaml``, the loader builds the specs as before and says how to register it (DSP103)."""
    global _warned_unregistered
    if _warned_unregistered:
        return
    _warned_unregistered = True
    from . import importer_default as default  # lazy: only on Airflow 3.4, once per process

    version = default.installed_airflow_version()
    try:
        wanted = default.importer_is_default(version, default.importer_mode(
            {default.MODE_ENV: _conf_get("dagspec", "dag_importer", "")}))
    except default.ImporterModeError as exc:
        log.warning("dagspec: %s", exc)
        return
    if wanted:
        log.warning("dagspec: %s: on Airflow %s dagspec's DAG importer is the default parse path (one parse unit per "
                    "spec), but it is not registered; this loader builds the specs meanwhile. Register it with:\n%s",
                    default.UNREGISTERED_CODE, version, default.config_line())


def _airflow_format(path: Path) -> bool:
    from ..compile.airflow_yaml import is_airflow_yaml  # lazy: only beside Airflow's own YAML importer
    from ..spec.files import YAML_MAX, FileRefused, read_bytes

    try:  # never blocks on a FIFO, never reads past the cap
        return is_airflow_yaml(read_bytes(path, path.name, YAML_MAX))
    except FileRefused:
        return False


def _bind_from_cache(namespace: MutableMapping[str, Any], root: Path, dag_id: str, loader_file: str | None,
                     build_dag: Any, unit: tuple[int, int] | None = None) -> bool:
    """The worker's fast path: build ``dag_id`` from the plan cache without listing the folder or
    loading the compiler."""
    from ..compile.cache import indexed_plans  # lazy: the cache module, without the compiler

    try:
        plans = indexed_plans(root, dag_id, _policy().key(), unit=unit)
        if not plans:
            return False
        if str(root) not in sys.path:  # modules beside the specs (callables) are importable, as in a full parse
            sys.path.append(str(root))
        for plan in plans:
            namespace[_var_name(plan.dag_id, namespace)] = build_dag(plan, fileloc=loader_file)
    except Exception:  # anything odd: take the full path, which reports problems properly
        log.debug("dagspec: plan cache could not serve %s", dag_id, exc_info=True)
        return False
    return True


def _mark_parsed(bag: Any, paths: list[Path]) -> None:
    """Record the specs as read by this parse, so ``sync_bag_to_db`` clears errors of fixed ones."""
    bundle = Path(bag_bundle(bag))
    for path in paths:
        if not path.is_relative_to(bundle):  # sync_bag_to_db relativizes these keys without a fallback
            continue
        try:
            bag.file_last_changed[str(path)] = datetime.fromtimestamp(os.path.getmtime(path))
        except OSError:
            continue

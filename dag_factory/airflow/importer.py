"""Airflow 3.4's DAG importer (AIP-85) for dagspec: every spec file is its own parse unit.

Airflow registers importers only through its configuration (importer_default.py decides when dagspec
writes or recommends it: by itself from Airflow 3.4.0 final on)::

    [dag_processor]
    dag_importer_configs = [{"classpath": "dagspec.dag_factory.airflow.importer.DagspecImporter"}]

Airflow then lists the bundle through ``list_dag_definitions`` (in the manager loop, with no
timeout: names only, nothing is read) and parses each spec in its own process through
``import_definition``, under ``[core] dagbag_import_timeout``; import errors are stored under the
spec's own path, and a worker parses only the spec of the DAG it runs. ``_defaults.yaml``,
``dagspec.yaml``, files starting with ``_`` or ``.``, hidden folders and the template folders are
not DAG definitions. A spec compiles with the same plan cache as the 3.3 loader (a warm parse is a
stat and an unpickle), but writes no dag_id index (the worker needs none: it parses one file). A
worker's parse of a spec cached without a diagnostic builds it straight from the cache, importing
neither the compiler nor the spec models (``_cached_plans``), as the loader's worker path does.

Airflow's own YAML importer (``airflow.sdk.importers.yaml_importer.YamlDagImporter``) claims the
same extensions for a different format whose files declare ``$schema:
https://airflow.apache.org/schemas/dag/<date>.json``. Only one importer owns an extension in a
bundle, so this one tells the formats apart by that marker: an Airflow-format file is an import
error (DSP090, with the remedy) by default, or, with ``kwargs: {"airflow_yaml": "delegate"}``, is
handed to Airflow's importer, so both formats live in one bundle. ``preload`` (default true) imports
the compiler when the importer is built, before the dag processor forks its parse processes. Bundles can also be split: a
bundle's ``importers`` key (in ``[dag_processor] dag_bundle_config_list``) picks the importer for
that bundle alone.

On Airflow 3.3 (no ``airflow.sdk.importers``) this module still imports; instantiating the class
raises a clear error.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..compile.cache import PlanCache
    from ..errors import Diagnostic

try:
    from airflow.sdk.importers import (  # type: ignore[import-not-found,unused-ignore]
        AbstractDagImporter,
        DagImportError,
        DagImportResult,
        DagSourceCode,
        FileDagDefinition,
        find_file_dag_definitions,
        get_file_suffix,
    )

    HAS_DAG_IMPORTERS = True
except ImportError:  # Airflow 3.3: no pluggable importers; the loader file is the way there
    HAS_DAG_IMPORTERS = False

    class AbstractDagImporter:  # type: ignore[no-redef]
        """Stand-in base so this module imports on Airflow 3.3."""

        def __class_getitem__(cls, item: Any) -> Any:
            return cls

    FileDagDefinition = Any  # type: ignore[misc,assignment]

__all__ = ["DagspecImporter", "HAS_DAG_IMPORTERS", "TIMEOUT_CODE", "AIRFLOW_YAML_MODES"]

log = logging.getLogger(__name__)

TIMEOUT_CODE = "DSP091"
AIRFLOW_YAML_MODES = ("error", "delegate")
_STORES: dict[tuple[str, str, str], PlanCache | None] = {}


def _plan_cache() -> PlanCache | None:
    """One plan cache per process and cache location (it keeps its key and folder checks)."""
    from ..compile.cache import PlanCache

    env = os.environ
    where = (env.get("DAGSPEC_CACHE", ""), env.get("DAGSPEC_CACHE_DIR", ""), env.get("TMPDIR", ""))
    if where not in _STORES:
        _STORES[where] = PlanCache.default(env)
    return _STORES[where]


# The dag processor builds the importers before it forks a parse process per file (``warm_importers``):
# importing the compiler and the builder here lets every parse process share them instead of paying
# for the imports once per spec (far more than compiling a spec).
_PRELOAD = (
    "dagspec.dag_factory.compile.api", "dagspec.dag_factory.compile.compiler", "dagspec.dag_factory.spec.load",
    "dagspec.dag_factory.airflow.build", "dagspec.dag_factory.airflow.loader",
    "airflow.providers.standard.operators.bash", "airflow.providers.standard.operators.python",
    "airflow.providers.standard.operators.empty",
    # what a DAG's first timetable imports lazily (Airflow 3.4): ~80 ms in every parse process otherwise
    "airflow.sdk.definitions.timetables.interval", "airflow.sdk.definitions.timetables.trigger",
    "airflow.timetables.base", "airflow.serialization.definitions.assets", "airflow.serialization.dag_dependency",
)


def _parsing_dag_id() -> str | None:
    from airflow.sdk import get_parsing_context

    return get_parsing_context().dag_id


def _preload() -> None:
    import importlib

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # only costs time: the parse imports what it needs and reports failures
            log.debug("dagspec: could not preload %s", name, exc_info=True)


def _import_timeout(ref: str) -> float:
    """``[core] dagbag_import_timeout`` for this file, through Airflow's policy hook as for Python files."""
    try:
        from airflow import settings

        return float(settings.get_dagbag_import_timeout(ref))
    except Exception:
        from airflow.sdk import conf

        return conf.getfloat("core", "dagbag_import_timeout", fallback=30.0)


class DagspecImporter(AbstractDagImporter[FileDagDefinition]):
    """Builds the DAGs of one dagspec spec file per ``import_definition`` call."""

    supported_extensions = [".yaml", ".yml"]

    def __init__(self, extensions: list[str] | None = None, airflow_yaml: str = "error", preload: bool = True) -> None:
        if not HAS_DAG_IMPORTERS:
            raise RuntimeError("dagspec's DagspecImporter needs Airflow 3.4 or later (airflow.sdk.importers); "
                               "on Airflow 3.3 use the loader file (dags/dagspec_loader.py)")
        if airflow_yaml not in AIRFLOW_YAML_MODES:
            raise ValueError(f"DagspecImporter: airflow_yaml must be one of {', '.join(AIRFLOW_YAML_MODES)}, "
                             f"not {airflow_yaml!r}")
        if extensions is not None:
            self.supported_extensions = [e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions]
        self.airflow_yaml = airflow_yaml
        self._airflow_importer: Any = None
        if preload and _parsing_dag_id() is None:  # not on a worker, which needs no compiler on a cache hit
            _preload()

    def can_handle(self, definition: Any) -> bool:
        suffix = get_file_suffix(definition)
        return bool(suffix) and suffix in self.supported_extensions

    # --- listing: runs in the dag processor's manager loop, with no timeout -------------------------

    def list_dag_definitions(self, bundle: Any, *, safe_mode: bool = True) -> Iterator[Any]:
        """The spec files of the bundle, decided from their paths alone (no file is opened)."""
        root = Path(bundle.path)
        skip: tuple[Path, ...] = ()
        if root.is_dir():
            from ..compile.api import template_dirs

            skip = template_dirs(root, os.environ)
        for definition in find_file_dag_definitions(root, self.supported_extensions):
            path = Path(definition.path)
            if skip and any(path.is_relative_to(d) for d in skip):
                continue
            if root.is_dir() and path.is_relative_to(root) and any(
                    part.startswith(".") for part in path.relative_to(root).parts[:-1]):
                continue  # .git, .github ...: as the loader, never DAG folders
            if self.might_contain_dag(definition, safe_mode):
                yield definition

    def might_contain_dag(self, definition: Any, safe_mode: bool) -> bool:
        """By name: ``_defaults.yaml``, ``dagspec.yaml`` and other ``_``/``.`` files are no DAG definitions."""
        from ..spec.discover import is_spec_file  # lazy: the loader imports this module on a worker's parse too

        return is_spec_file(Path(repr(definition)))

    # --- parsing: runs in a parse process (or a worker), under the import timeout -------------------

    def import_definition(self, definition: Any, bundle: Any) -> Any:
        result = DagImportResult(definition=definition)
        ref = repr(definition)
        try:
            data = definition.read_bytes()
        except OSError as exc:
            result.errors.append(DagImportError(source_reference=ref, message=f"cannot read the spec: {exc}",
                                                error_type="read_error"))
            return result
        if self.airflow_yaml == "delegate":
            from ..compile.airflow_yaml import is_airflow_yaml  # lazy, as is_spec_file above

            if is_airflow_yaml(data):
                return self._airflow_yaml_importer().import_definition(definition, bundle)

        from airflow.sdk.execution_time.timeout import timeout

        seconds = _import_timeout(ref)
        with definition.as_file() as path:
            try:
                if seconds > 0:
                    with timeout(seconds=seconds, error_message=f"dagspec: {ref} timed out"):
                        dags, diagnostics = _build_spec(Path(path), Path(bundle.path))
                else:
                    dags, diagnostics = _build_spec(Path(path), Path(bundle.path))
            except BaseException as exc:
                if type(exc).__name__ != "AirflowTaskTimeout":
                    if not isinstance(exc, Exception):
                        raise  # KeyboardInterrupt, SystemExit
                    result.errors.append(DagImportError(
                        source_reference=ref, error_type="dagspec",
                        message=f"dagspec crashed on this spec: {type(exc).__name__}: {exc}",
                        stacktrace=f"[DSP900] dagspec crashed on this spec: {type(exc).__name__}: {exc}\n"
                                   + traceback.format_exc(limit=-5)))
                    return result
                from ..errors import Diagnostic

                dags, diagnostics = [], [Diagnostic(
                    TIMEOUT_CODE, f"compiling and building this spec took longer than {seconds:g} s "
                    "([core] dagbag_import_timeout)", ref, 1, 1,
                    "split the spec (fewer tasks or template instances per file), make the modules it imports "
                    "cheap to import, or raise [core] dagbag_import_timeout (and "
                    "[dag_processor] dag_file_processor_timeout above it)")]
        if diagnostics:
            result.errors.append(_import_error(ref, diagnostics))
            return result  # a spec with errors gives no DAG, as with the loader
        result.dags.extend(dags)
        return result

    def get_source_code(self, definition: Any, dag_id: str | None = None) -> Any:
        return DagSourceCode(source_code=definition.read_text(encoding="utf-8"), language="yaml")

    def _airflow_yaml_importer(self) -> Any:
        if self._airflow_importer is None:
            from airflow.sdk.importers.yaml_importer import YamlDagImporter  # type: ignore[import-not-found,unused-ignore]

            self._airflow_importer = YamlDagImporter(extensions=list(self.supported_extensions))
        return self._airflow_importer


def _build_spec(path: Path, root: Path) -> tuple[list[Any], list[Diagnostic]]:
    """Compile one spec (through the plan cache) and build its DAGs; the error diagnostics, if any."""
    from .build import build_dag
    from .loader import _policy

    store, policy = _plan_cache(), _policy()
    if store is not None and _parsing_dag_id() is not None:
        plans = _cached_plans(store, path, root, policy.key())
        if plans is not None:  # a worker's parse of a spec the dag processor compiled: no compiler, no spec models
            return [build_dag(plan, fileloc=str(path)) for plan in plans], []
    from ..compile.api import compile_paths
    from ..errors import Diagnostic
    from .build import BuildError
    from .loader import BUILD_ERROR_CODE, _budget

    try:  # the budgets as the loader reads them: Airflow's configuration, airflow.cfg included, not only the env
        compiled = compile_paths([path], root=root, policy=policy, cache=store, index=False, budget=_budget())
    finally:
        if store is not None:
            store.end_batch()  # the writer thread stops once the entry is on disk, even after a timeout
    diagnostics = compiled.all_diagnostics
    for d in diagnostics:
        if d.severity != "error":
            log.warning("%s", d.render())
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        return [], errors
    dags = []
    for plan in compiled.plans:
        try:
            dags.append(build_dag(plan, fileloc=str(path)))
        except BuildError as exc:
            src = exc.source or plan.source
            errors.append(Diagnostic(BUILD_ERROR_CODE, f"Airflow rejected DAG `{plan.dag_id}`: {exc}",
                                     src.file, src.line, src.column))
    if errors and compiled.secrets:
        from ..spec.secrets import redact_diagnostics

        errors = redact_diagnostics(errors, compiled.secrets)
    return ([], errors) if errors else (dags, [])


def _cached_plans(store: PlanCache, path: Path, root: Path, policy: str) -> list[Any] | None:
    """The worker's fast path (as the loader's ``_bind_from_cache``): the spec's plans straight from the plan
    cache when they are fresh and compiled without a diagnostic; None sends the parse the full way, which
    checks the budget, shows warnings and reports errors properly."""
    try:
        entry = store.get(os.path.abspath(path), os.environ, policy)
    except Exception:
        log.debug("dagspec: plan cache could not serve %s", path, exc_info=True)
        return None
    if entry is None or entry.diagnostics or not entry.plans:
        return None
    if str(root) not in sys.path:  # modules beside the specs (callables) are importable, as in a full parse
        sys.path.append(str(root))
    return list(entry.plans)


def _import_error(ref: str, diagnostics: list[Diagnostic]) -> Any:
    """One import error for the spec: Airflow keeps one text per file, so all diagnostics go in it."""
    from ..errors import render_text

    first = diagnostics[0]
    return DagImportError(source_reference=ref, message=render_text(diagnostics), error_type="dagspec",
                          line_number=first.line or None, column_number=first.column or None,
                          suggestion=first.hint or None)


def yaml_importer_kind(bundle_name: str | None) -> str | None:
    """Which importer owns ``.yaml`` files in the bundle on Airflow 3.4: ``"dagspec"`` (this one),
    ``"airflow"`` (Airflow's own YAML importer), or None (no importer, another one, or Airflow 3.3).
    The loader file uses it to step aside, or to leave Airflow-format files to Airflow."""
    if not HAS_DAG_IMPORTERS:
        return None
    from airflow.sdk.importers import get_importer_registry

    importer = get_importer_registry(bundle_name).get_importer(Path("spec.yaml"))
    if isinstance(importer, DagspecImporter):
        return "dagspec"
    if type(importer).__name__ == "YamlDagImporter":
        return "airflow"
    return None

"""Whether dagspec's DAG importer is an Airflow's parse path: the one decision read wherever dagspec sets up an Airflow.

``[dagspec] dag_importer`` (``AIRFLOW__DAGSPEC__DAG_IMPORTER``) is ``auto`` (the default), ``on`` or ``off``.
``auto`` makes the importer the default exactly on a final Airflow 3.4.0 or newer (not an alpha, beta,
release candidate or dev build; a post release counts as final), so the day 3.4.0 is released the
local stack, ``init-dag-folder``, ``deploy`` and the loader switch by themselves. ``on`` asks for the
importer on a 3.4 pre-release too (an error before 3.4: there are no DAG importers); ``off`` keeps the
loader files. Airflow has no way for a package to register an importer itself, so "the default" means:
dagspec writes ``[dag_processor] dag_importer_configs`` where it configures Airflow (the local stack) and
says which line to add where it cannot (Composer, a hand-made ``airflow.cfg``).

Imports no Airflow: the installed version is read from ``airflow/__init__.py`` (as ``compat`` does).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

__all__ = [
    "MODE_ENV", "CONFIGS_ENV", "IMPORTER_CLASSPATH", "MODES", "FIRST_VERSION", "UNREGISTERED_CODE", "DEPLOY_CODE",
    "MODE_CODE", "ImporterModeError", "ParsePath", "importer_mode", "importer_is_default", "is_final",
    "importer_configs_value", "config_line", "installed_airflow_version", "parse_version", "parse_path",
    "composer_command",
]

MODE_ENV = "AIRFLOW__DAGSPEC__DAG_IMPORTER"
CONFIGS_ENV = "AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS"
IMPORTER_CLASSPATH = "dagspec.dag_factory.airflow.importer.DagspecImporter"
MODES = ("auto", "on", "off")
FIRST_VERSION = Version("3.4.0")  # the first Airflow with DAG importers (AIP-85)

UNREGISTERED_CODE = "DSP103"  # loader: the importer is this Airflow's default parse path but is not registered
DEPLOY_CODE = "DSP104"  # deploy: the target environment's Airflow parses specs with the importer once configured
MODE_CODE = "DSP105"  # `[dagspec] dag_importer`: a value it does not take, or `on` before Airflow 3.4


class ImporterModeError(ValueError):
    """``[dagspec] dag_importer`` cannot be honoured: an unknown value, or ``on`` on an Airflow without importers."""


def importer_mode(env: Mapping[str, str]) -> str:
    """``auto``, ``on`` or ``off`` from ``AIRFLOW__DAGSPEC__DAG_IMPORTER`` in ``env`` (unset or empty: ``auto``)."""
    raw = env.get(MODE_ENV, "").strip().lower()
    if not raw:
        return "auto"
    aliases = {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}
    mode = aliases.get(raw, raw)
    if mode not in MODES:
        raise ImporterModeError(f"{MODE_CODE}: `[dagspec] dag_importer = {raw}` is not one of {', '.join(MODES)} "
                                f"(set {MODE_ENV}=auto, on or off)")
    return mode


def parse_version(text: str | Version | None) -> Version | None:
    """An Airflow version from ``3.4.0``, ``3.4.0b2``, ``3.4`` (a line: its first final release) or a Composer
    image (``composer-3-airflow-3.4.0-build.2``); None for None or text naming no version."""
    if text is None or isinstance(text, Version):
        return text
    found = re.search(r"airflow-(\d[^-\s]*)", text)
    candidate = found.group(1) if found else text.strip()
    try:
        return Version(candidate)
    except InvalidVersion:
        return None


def is_final(version: Version) -> bool:
    """A released version: no ``a``/``b``/``rc`` and no ``.dev`` part (``3.4.0.post1`` is final)."""
    return not version.is_prerelease and not version.is_devrelease


def importer_is_default(airflow_version: str | Version | None, mode: str = "auto") -> bool:
    """Whether dagspec's importer is the parse path on ``airflow_version`` under ``mode``.

    ``auto``: exactly on a final release >= 3.4.0 (an unknown version: no). ``off``: never. ``on``: on any 3.4 or
    later, pre-releases too (an unknown version: yes, as asked); on an earlier Airflow :class:`ImporterModeError`
    naming the version and the remedy."""
    version = parse_version(airflow_version)
    if mode == "off":
        return False
    if mode == "on":
        if version is not None and version.release[:2] < FIRST_VERSION.release[:2]:
            raise ImporterModeError(
                f"{MODE_CODE}: `[dagspec] dag_importer = on` needs Airflow 3.4 or later (DAG importers), but this "
                f"Airflow is {version}: upgrade Airflow, or set {MODE_ENV}=auto (the loader files on this Airflow)")
        return True
    if mode != "auto":
        raise ImporterModeError(f"{MODE_CODE}: unknown `[dagspec] dag_importer` mode {mode!r}")
    return version is not None and version >= FIRST_VERSION and is_final(version)


def importer_configs_value() -> str:
    """The value of ``[dag_processor] dag_importer_configs`` that registers dagspec's importer."""
    return json.dumps([{"classpath": IMPORTER_CLASSPATH}])


def config_line() -> str:
    """The ``airflow.cfg`` lines (section and key) that register dagspec's importer."""
    return f"[dag_processor]\ndag_importer_configs = {importer_configs_value()}"


def composer_command() -> str:
    """The ``gcloud`` command that sets the importer on a Composer environment (ENVIRONMENT, REGION to fill in)."""
    return ("gcloud composer environments update ENVIRONMENT --location REGION "
            f"--update-airflow-configs='dag_processor-dag_importer_configs={importer_configs_value()}'")


def installed_airflow_version() -> str | None:
    """The installed Airflow's full version (``3.4.0b2``): the loaded module's ``__version__`` when ``airflow`` is
    imported, else read from ``airflow/__init__.py`` without importing it (which sets Airflow up); None when Airflow
    is not installed or its version cannot be read. The one reader: ``compat.airflow_line`` uses it too."""
    loaded = getattr(sys.modules.get("airflow"), "__version__", None)
    if isinstance(loaded, str):
        return loaded
    try:
        found = importlib.util.find_spec("airflow")
    except (ImportError, ValueError):  # an import hook refusing it, or a half-imported module
        return None
    if found is None or found.origin is None:
        return None
    try:
        text = Path(found.origin).read_text(encoding="utf-8")
    except OSError:
        return None
    version = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    return version.group(1) if version else None


@dataclass(frozen=True)
class ParsePath:
    """How an Airflow parses the specs, and why: ``importer`` (dagspec's importer is registered or should be),
    ``by_user`` (the user's own ``dag_importer_configs`` stands), ``env`` (what to add to Airflow's environment)."""

    importer: bool
    reason: str
    env: Mapping[str, str]
    by_user: bool = False

    @property
    def line(self) -> str:
        """One line for a start-up banner: the parse path in use and why."""
        if self.by_user:
            what = "the DAG importers of your own dag_importer_configs"
        elif self.importer:
            what = "dagspec's DAG importer (one parse unit per spec)"
        else:
            what = "the loader file(s) in the dag folder"
        return f"parse path: {what}: {self.reason}"


def parse_path(airflow_version: str | None, env: Mapping[str, str]) -> ParsePath:
    """The parse path where dagspec writes Airflow's environment itself (the local stack): the importer's
    ``dag_importer_configs`` when :func:`importer_is_default` says so, unless ``env`` already sets one.
    Raises :class:`ImporterModeError` for a bad ``[dagspec] dag_importer``."""
    mode = importer_mode(env)
    name = f"Airflow {airflow_version or '(version unknown)'}"
    if env.get(CONFIGS_ENV, "").strip():
        return ParsePath(IMPORTER_CLASSPATH in env[CONFIGS_ENV], f"{CONFIGS_ENV} is set", {}, by_user=True)
    if importer_is_default(airflow_version, mode):
        why = (f"{MODE_ENV}=on on {name}" if mode == "on"
               else f"{name} is a final 3.4 or later and [dagspec] dag_importer is auto")
        return ParsePath(True, why, {CONFIGS_ENV: importer_configs_value()})
    if mode == "off":
        why = f"{MODE_ENV}=off"
    else:
        version = parse_version(airflow_version)
        if version is not None and version.release[:2] >= FIRST_VERSION.release[:2]:
            why = f"{name} is a pre-release (the importer becomes the default with 3.4.0 final; {MODE_ENV}=on uses it now)"
        else:
            why = f"{name} has no DAG importers (they come with 3.4.0)"
    return ParsePath(False, why, {})

"""Telling Airflow 3.4's own YAML DAG format apart from a dagspec spec, cheaply and without Airflow.

Airflow 3.4 ships an opt-in YAML importer for ``.yaml``/``.yml`` files of its own, much smaller
format. Its files declare ``$schema: https://airflow.apache.org/schemas/dag/<date>.json``; a dagspec
spec never has a ``$schema`` key (it would be an unknown key). This module finds that marker in a
file's bytes (no YAML parsing) so that such a file is reported as what it is, with a remedy, instead
of being compiled as a spec and misreported key by key.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import Diagnostic

__all__ = ["AIRFLOW_DAG_SCHEMA_PREFIX", "is_airflow_yaml", "airflow_yaml_diagnostic", "NOT_A_SPEC_CODE"]

AIRFLOW_DAG_SCHEMA_PREFIX = "https://airflow.apache.org/schemas/dag/"
NOT_A_SPEC_CODE = "DSP090"
# a `$schema:` key at the start of a line (block mapping) or after `{`/`,` (flow mapping), quoted or not
_SCHEMA_KEY = re.compile(rb"""(?:^|[{,])[ \t]*['"]?\$schema['"]?[ \t]*:[ \t]*['"]?"""
                         + re.escape(AIRFLOW_DAG_SCHEMA_PREFIX.encode()), re.MULTILINE)


def is_airflow_yaml(data: bytes) -> bool:
    """True when the file declares Airflow's YAML DAG ``$schema`` (the marker Airflow's importer keys on)."""
    return AIRFLOW_DAG_SCHEMA_PREFIX.encode() in data and _SCHEMA_KEY.search(data) is not None


def _schema_line(data: bytes) -> tuple[int, int]:
    match = _SCHEMA_KEY.search(data)
    if match is None:
        return 1, 1
    start = match.start() + len(match.group(0)) - len(match.group(0).lstrip(b"{, \t"))
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return line, column


def airflow_yaml_diagnostic(path: str | Path, data: bytes) -> Diagnostic:
    """The error for an Airflow-format YAML DAG met where a dagspec spec was expected."""
    line, column = _schema_line(data)
    return Diagnostic(
        NOT_A_SPEC_CODE,
        "this is an Airflow YAML DAG (it declares Airflow's `$schema`), not a dagspec spec; dagspec does not "
        "build it",
        str(path), line, column,
        "on Airflow 3.4 let Airflow build it: give dagspec's importer `\"kwargs\": {\"airflow_yaml\": \"delegate\"}` "
        "in `[dag_processor] dag_importer_configs`, or keep Airflow-format files in a bundle whose `importers` "
        "use Airflow's YamlDagImporter (README: \"Airflow 3.4: one parse unit per spec\")")

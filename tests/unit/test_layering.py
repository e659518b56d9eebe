"""Imports flow one way: spec and compile import no Airflow or Google library; provider operators and triggers no Google types."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import forked_python
import pytest

PURE = [
    "dagspec.dag_factory.errors",
    "dagspec.dag_factory.spec.load",
    "dagspec.dag_factory.spec.discover",
    "dagspec.dag_factory.compile.api",
    "dagspec.dag_factory.cli.commands",
]


def _loaded_after(module: str, code: str = "", airflow_loaded: bool = False) -> list[str]:
    """The modules a fresh interpreter holds after importing ``module`` and running ``code``; with
    ``airflow_loaded``, forked from one that imported Airflow first (cheaper; for modules that import Airflow)."""
    script = f"import importlib, json, sys\nimportlib.import_module({module!r})\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    if airflow_loaded:
        out = forked_python.run(script)
    else:
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", PURE)
def test_pure_layers_import_neither_airflow_nor_google(module: str) -> None:
    loaded = _loaded_after(module)
    assert not [m for m in loaded if m == "airflow" or m.startswith("airflow.")]
    assert not [m for m in loaded if m.startswith("google")]


def test_validating_without_import_checks_needs_no_airflow(tmp_path) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text("tasks:\n  hi: {bash: echo hi}\n")
    code = (f"from dagspec.dag_factory.compile.api import compile_paths\n"
            f"r = compile_paths([{str(spec)!r}], root={str(tmp_path)!r}, check_imports=False)\nassert r.plans")
    loaded = _loaded_after("dagspec.dag_factory.compile.api", code)
    assert "airflow" not in loaded and not [m for m in loaded if m.startswith("google")]


def _compile_in_fresh_interpreter(tmp_path, text: str) -> list[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    code = (f"from dagspec.dag_factory.compile.api import compile_paths\n"
            f"r = compile_paths([{str(spec)!r}], root={str(tmp_path)!r}, check_imports=False)\n"
            f"assert r.plans, r.all_diagnostics")
    return _loaded_after("dagspec.dag_factory.compile.api", code)


def test_checking_dataproc_configuration_imports_no_google_client(tmp_path) -> None:
    loaded = _compile_in_fresh_interpreter(tmp_path, (
        "clusters:\n  etl:\n    config:\n      worker_config: {num_instances: 2}\n"
        "      software_config: {optional_components: [JUPYTER]}\n"
        "tasks:\n  job: {pyspark: gs://b/job.py, cluster: etl}\n"))
    assert "dagspec.dag_factory.spec.dataproc_table" in loaded, "the spec's cluster config was checked"
    assert not [m for m in loaded if m.startswith("google") or m == "proto" or m.startswith("proto.")]


def test_a_spec_without_dataproc_never_loads_the_dataproc_table(tmp_path) -> None:
    loaded = _compile_in_fresh_interpreter(tmp_path, "tasks:\n  hi: {bash: echo hi}\n")
    assert "dagspec.dag_factory.spec.dataproc_table" not in loaded


# The provider: Google types stay inside the hooks (and the emulator, a separate program). Operators and
# triggers are read as source, so a function-level import would be caught as well as a module-level one.
PROVIDER = Path(__file__).resolve().parents[2] / "provider"
_GOOGLE_TYPES = re.compile(r"^\s*(?:from|import)\s+(?:google\.protobuf|google\.cloud\.dataproc_v1|google\.cloud "
                           r"import dataproc_v1|google\.cloud import .*\bdataproc_v1\b)", re.MULTILINE)


@pytest.mark.parametrize("module", sorted(p.relative_to(PROVIDER).as_posix() for folder in ("operators", "triggers")
                                          for p in (PROVIDER / folder).glob("*.py")))
def test_provider_operators_and_triggers_import_no_protobuf_or_dataproc_v1(module: str) -> None:
    text = (PROVIDER / module).read_text()
    assert not _GOOGLE_TYPES.findall(text), f"{module} imports Google types; ask a hook instead"
    assert "dataproc_v1" not in text and "protobuf" not in text


@pytest.mark.parametrize("module", ["dagspec.provider.operators.workflow", "dagspec.provider.triggers.workflow"])
def test_importing_provider_operators_and_triggers_loads_no_google_client(module: str) -> None:
    loaded = _loaded_after(module, airflow_loaded=True)  # Airflow itself loads no Google client either
    assert not [m for m in loaded if m.startswith("google.protobuf") or m.startswith("google.cloud")]


def test_the_workflow_field_path_module_is_pure() -> None:
    loaded = _loaded_after("dagspec.provider.fieldpath")
    assert not [m for m in loaded if m == "airflow" or m.startswith(("airflow.", "google"))]

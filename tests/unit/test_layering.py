"""Imports flow one way: the spec and compile layers never import Airflow or Google libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PURE = [
    "dagspec.dag_factory.errors",
    "dagspec.dag_factory.spec.load",
    "dagspec.dag_factory.spec.discover",
    "dagspec.dag_factory.compile.api",
    "dagspec.dag_factory.cli.commands",
]


def _loaded_after(module: str, code: str = "") -> list[str]:
    script = f"import importlib, json, sys\nimportlib.import_module({module!r})\n{code}\nprint(json.dumps(sorted(sys.modules)))"
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

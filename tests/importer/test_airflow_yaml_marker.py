"""Airflow 3.4's own YAML DAG format is told apart from a dagspec spec by its ``$schema`` marker, and
compiling such a file gives one clear DSP090 error (any Airflow version, the CLI included)."""

from __future__ import annotations

from pathlib import Path

from dagspec.dag_factory.compile.airflow_yaml import is_airflow_yaml
from dagspec.dag_factory.compile.api import compile_paths
from importer_kit import AIRFLOW_FORMAT, GOOD_SPEC, write_specs

URL = "https://airflow.apache.org/schemas/dag/2026-10-30.json"


def test_the_schema_marker_is_found_in_block_flow_and_quoted_form() -> None:
    assert is_airflow_yaml(f"$schema: {URL}\ndag_id: x\n".encode())
    assert is_airflow_yaml(f'# a comment\n"$schema": "{URL}"\n'.encode())
    assert is_airflow_yaml(f"{{dag_id: x, $schema: {URL}}}\n".encode())


def test_a_spec_that_only_mentions_the_schema_url_is_still_a_spec() -> None:
    assert not is_airflow_yaml(f"description: converted from {URL}\ntasks: {{}}\n".encode())
    assert not is_airflow_yaml(b"tasks:\n  a:\n    bash: echo '$schema: elsewhere'\n")


def test_compiling_an_airflow_format_file_gives_one_dsp090_naming_the_remedy(tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC, "theirs.yaml": "# Airflow's format\n" + AIRFLOW_FORMAT})
    result = compile_paths(sorted(folder.glob("*.yaml")), root=folder)
    assert [p.dag_id for p in result.plans] == ["good"]
    [(shown, diagnostics)] = result.diagnostics.items()
    assert shown.endswith("theirs.yaml")
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("DSP090", 2, 1)
    assert "Airflow YAML DAG" in d.message and "airflow_yaml" in d.hint

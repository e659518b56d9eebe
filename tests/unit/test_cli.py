"""The dagspec command: exit codes, text and JSON output, render and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main

SPECS = Path(__file__).resolve().parents[1] / "fixtures" / "specs"


def test_validate_good_folder_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SPECS / "good"), "--root", str(SPECS / "good")]) == 0
    out = capsys.readouterr().out
    assert "6 spec file(s), 7 DAG(s) ok; 0 error(s)" in out


def test_validate_reports_every_file_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SPECS / "bad")]) == 1
    out = capsys.readouterr().out
    assert "unknown_key.yaml:4:5: error DSP010: unknown key `bahs_env`" in out
    assert "hint: did you mean `bash_env`?" in out or "hint:" in out
    assert "cycle.yaml:3:3: error DSP021: dependency cycle: a -> b -> c -> a" in out


def test_validate_json_lists_diagnostic_objects(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SPECS / "bad" / "unknown_dependency.yaml"), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == [{
        "code": "DSP020", "severity": "error",
        "message": "task `load` refers to unknown task `extrct` in `depends_on`",
        "file": data[0]["file"], "line": 7, "column": 18, "hint": "did you mean `extract`?",
    }]
    assert data[0]["file"].endswith("unknown_dependency.yaml")


def test_validate_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such/dir"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_render_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    spec = SPECS / "good" / "team" / "dataproc.yaml"
    assert main(["render", str(spec), "--root", str(SPECS / "good")]) == 0
    text = capsys.readouterr().out
    assert "create_cluster_etl  [cluster_create] DataprocCreateClusterOperator  (setup)" in text
    assert main(["render", str(spec), "--root", str(SPECS / "good"), "--format", "json"]) == 0
    plans = json.loads(capsys.readouterr().out)
    delete = next(t for t in plans[0]["tasks"] if t["task_id"] == "delete_cluster_etl")
    assert delete["teardown"] and delete["teardown_of"] == ["create_cluster_etl"]


def test_render_of_a_broken_spec_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(SPECS / "bad" / "cycle.yaml")]) == 1
    assert "DSP021" in capsys.readouterr().err


def test_schema_is_a_json_schema_with_the_spec_keys(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["$schema"].startswith("https://json-schema.org/")
    spec = schema["$defs"]["Spec"]  # a dag folder file is a spec, or a workflow template when it has `jobs`
    assert {"tasks", "schedule", "clusters", "params", "default_args"} <= set(spec["properties"])
    assert spec["additionalProperties"] is False


def test_help_teaches_with_examples() -> None:
    out = subprocess.run([sys.executable, "-m", "dagspec.dag_factory.cli.main", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "examples:" in out and "dagspec validate dags/" in out
    out = subprocess.run([sys.executable, "-m", "dagspec.dag_factory.cli.main", "validate", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--format {text,json}" in out and "Exit 0 when there are no errors" in out


def test_spec_reference_doc_is_generated_from_the_models() -> None:
    from dagspec.dag_factory.spec.reference import render_reference

    doc = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"
    assert doc.read_text() == render_reference(), "run: .venv/bin/dagspec schema --markdown -o docs/spec-reference.md"

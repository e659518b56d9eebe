"""`validate --airflow-version X.Y` checks specs against the Airflow line that will parse them (compile.lines, pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile.lines import LINE_ENV, parse_line

SPEC = """\
schedule: null
airflow:
  allowed_run_types: [manual]
tasks:
  a:
    bash: echo a
  group:
    tasks:
      b:
        operator: airflow.providers.standard.operators.empty.EmptyOperator
        args:
          retry_policy: null
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "newer.yaml").write_text(SPEC)
    return tmp_path


def validate(folder: Path, capsys, *extra: str) -> tuple[int, list[tuple[str, int]]]:
    code = main(["validate", str(folder), "--no-imports", "--format", "json", *extra])
    found = json.loads(capsys.readouterr().out)
    return code, [(d["code"], d["line"]) for d in found]


def test_without_a_target_line_the_spec_is_valid(folder: Path, capsys) -> None:
    assert validate(folder, capsys) == (0, [])


def test_each_argument_newer_than_the_target_line_is_an_error_at_its_line(folder: Path, capsys) -> None:
    assert validate(folder, capsys, "--airflow-version", "3.3") == (0, [])
    assert validate(folder, capsys, "--airflow-version", "3.2.2") == (1, [("DSP092", 12)])
    assert validate(folder, capsys, "--airflow-version", "3.1") == (1, [("DSP092", 3), ("DSP092", 12)])


ASSETS = """\
schedule:
  assets: [gs://bucket/raw, {any: [orders_clean, {uri: gs://b/c, name: customers}]}]
tasks:
  a:
    bash: echo a
    outlets: [report]
  wait:
    wait_for_asset: gs://bucket/raw
    inlets: [gs://bucket/raw]
"""


def test_on_airflow_2_11_assets_without_a_uri_and_waiting_for_asset_events_are_errors(folder: Path, capsys) -> None:
    assert validate(folder, capsys, "--airflow-version", "2.11") == (1, [("DSP092", 3), ("DSP092", 12)])
    (folder / "newer.yaml").unlink()
    (folder / "assets.yaml").write_text(ASSETS)
    assert validate(folder, capsys, "--airflow-version", "3.1") == (0, [])
    assert validate(folder, capsys, "--airflow-version", "2.11") == (1, [("DSP093", 2), ("DSP093", 6), ("DSP093", 8)])


def test_the_target_line_defaults_to_the_dagspec_config(folder: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv(LINE_ENV, "3.1")
    assert validate(folder, capsys)[0] == 1


def test_an_unknown_airflow_version_is_a_usage_error(folder: Path, capsys) -> None:
    assert main(["validate", str(folder), "--airflow-version", "2.9"]) == 2
    assert "does not support Airflow 2.9" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not an Airflow version"):
        parse_line("three")


def test_a_composer_image_version_names_its_airflow_line(folder: Path, capsys) -> None:
    assert parse_line("composer-3-airflow-3.2.2-build.5") == (3, 2)
    assert parse_line("composer-2.9.7-airflow-2.11.1") == (2, 11)
    assert parse_line(" composer-3-airflow-3.1.8-build.3 ") == (3, 1)
    with pytest.raises(ValueError, match="does not support Airflow 2.10"):
        parse_line("composer-3-airflow-2.10.5-build.10")
    with pytest.raises(ValueError, match="nor a Composer image version"):
        parse_line("composer-3-build.5")
    on_image = validate(folder, capsys, "--airflow-version", "composer-3-airflow-3.1.8-build.3")
    assert on_image[0] == 1 and on_image == validate(folder, capsys, "--airflow-version", "3.1")

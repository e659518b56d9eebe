"""``dagspec deploy`` to an environment whose Airflow makes dagspec's DAG importer the default (3.4.0 final and later):
it says (DSP104) how to register the importer on the environment, and still deploys the loader meanwhile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagspec.dag_factory.airflow.importer_default import MODE_ENV, composer_command, importer_configs_value
from dagspec.dag_factory.cli.main import main
from deploy_kit import Bucket

PREFIX = "dags/dagspec"


def deploy(bucket: Bucket, *extra: str) -> int:
    return main(["deploy", "--bucket", f"gs://{bucket.name}", "--no-imports", *extra])


def test_a_final_3_4_target_prints_the_gcloud_override_and_deploys_the_loader_as_before(
        project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODE_ENV, raising=False)
    assert deploy(bucket, "--airflow-version", "3.4.0") == 0
    out = capsys.readouterr().out
    assert "warning DSP104" in out and composer_command() in out
    assert f"{PREFIX}/dagspec_loader.py" in bucket.names()  # it builds the specs until the importer is registered


def test_the_json_output_carries_the_airflow_config_override(
        project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODE_ENV, raising=False)
    capsys.readouterr()
    assert deploy(bucket, "--airflow-version", "3.4.1", "--dry-run", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dag_importer"]["code"] == "DSP104"
    assert data["dag_importer"]["airflow_configs"] == {"dag_processor-dag_importer_configs": importer_configs_value()}


@pytest.mark.parametrize("version", ["3.4.0b2", "3.3"])
def test_a_pre_release_or_older_target_gets_no_importer_note(
        project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        version: str) -> None:
    monkeypatch.delenv(MODE_ENV, raising=False)
    assert deploy(bucket, "--airflow-version", version, "--dry-run") == 0
    assert "DSP104" not in capsys.readouterr().out


def test_the_override_asks_for_the_importer_on_a_pre_release_and_refuses_it_before_3_4(
        project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "on")
    assert deploy(bucket, "--airflow-version", "3.4.0b2", "--dry-run") == 0
    assert "DSP104" in capsys.readouterr().out
    assert deploy(bucket, "--airflow-version", "3.3", "--dry-run") == 2
    assert "DSP105" in capsys.readouterr().err

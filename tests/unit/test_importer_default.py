"""dagspec's DAG importer becomes the parse path by itself on Airflow 3.4.0 final: the decision over version strings,
the `[dagspec] dag_importer` override, and what the local stack and `init-dag-folder` do with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagspec.dag_factory.airflow.importer_default import (
    CONFIGS_ENV,
    IMPORTER_CLASSPATH,
    MODE_ENV,
    ImporterModeError,
    composer_command,
    config_line,
    importer_configs_value,
    importer_is_default,
    importer_mode,
    installed_airflow_version,
    parse_version,
)
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.stack.config import StackConfig

ROOT = Path(__file__).resolve().parents[2]
SPEC = "schedule: '@daily'\nstart_date: 2024-01-01\ntasks:\n  hi:\n    bash: echo hi\n"


@pytest.mark.parametrize(("version", "default"), [
    ("3.3.2", False), ("3.4.0b2", False), ("3.4.0rc1", False), ("3.4.0", True), ("3.4.1", True),
    ("3.5.0.dev0", False), ("3.4.0.post1", True), ("4.0.0", True), ("3.4.0a1", False), (None, False),
])
def test_auto_makes_the_importer_the_default_exactly_on_a_final_airflow_3_4_0_or_later(
        version: str | None, default: bool) -> None:
    assert importer_is_default(version, "auto") is default
    assert importer_is_default(version, "off") is False


@pytest.mark.parametrize("version", ["3.4.0b2", "3.4.0rc1", "3.4.0", "3.5.0.dev0", None])
def test_on_uses_the_importer_on_every_airflow_that_has_importers_pre_releases_included(version: str | None) -> None:
    assert importer_is_default(version, "on") is True


def test_on_before_airflow_3_4_is_a_clear_error_naming_the_version_and_the_remedy() -> None:
    with pytest.raises(ImporterModeError) as caught:
        importer_is_default("3.3.2", "on")
    message = str(caught.value)
    assert "DSP105" in message and "3.3.2" in message and f"{MODE_ENV}=auto" in message


def test_the_mode_comes_from_the_environment_and_defaults_to_auto() -> None:
    assert importer_mode({}) == "auto"
    assert importer_mode({MODE_ENV: ""}) == "auto"
    assert importer_mode({MODE_ENV: "ON"}) == "on"
    assert importer_mode({MODE_ENV: "off"}) == "off"
    with pytest.raises(ImporterModeError, match="DSP105.*auto, on, off"):
        importer_mode({MODE_ENV: "sometimes"})


def test_a_composer_image_a_line_and_a_full_version_all_name_an_airflow_version() -> None:
    assert str(parse_version("composer-3-airflow-3.4.0-build.2")) == "3.4.0"
    assert importer_is_default("composer-3-airflow-3.4.0-build.2") is True
    assert importer_is_default("composer-3-airflow-3.2.2-build.5") is False
    assert importer_is_default("3.4") is True  # a line: its releases are final (Composer ships no pre-release)
    assert parse_version("not a version") is None


def test_the_classpath_is_spelled_once_and_every_form_of_the_setting_carries_it() -> None:
    assert json.loads(importer_configs_value()) == [{"classpath": IMPORTER_CLASSPATH}]
    assert config_line() == f"[dag_processor]\ndag_importer_configs = {importer_configs_value()}"
    assert f"dag_processor-dag_importer_configs={importer_configs_value()}" in composer_command()
    assert "," not in importer_configs_value()  # gcloud's --update-airflow-configs splits its pairs on commas


def test_the_installed_airflow_version_is_read_without_importing_airflow() -> None:
    import airflow

    assert installed_airflow_version() == airflow.__version__


def _stack(tmp_path: Path, version: str, **extra: str) -> StackConfig:
    return StackConfig(home=tmp_path / "home", dags_folder=ROOT / "dags", airflow_version=version, extra_env=extra)


def test_the_stack_registers_the_importer_on_a_final_3_4_and_says_why(tmp_path: Path) -> None:
    config = _stack(tmp_path, "3.4.0")
    env = config.airflow_env(18080, {}, {})
    assert env[CONFIGS_ENV] == importer_configs_value()
    line = config.parse_path({}).line
    assert line.startswith("parse path: dagspec's DAG importer") and "3.4.0" in line and "auto" in line


@pytest.mark.parametrize("version", ["3.3.2", "3.4.0b2"])
def test_the_stack_keeps_the_loader_before_3_4_0_final_and_says_how_to_switch(tmp_path: Path, version: str) -> None:
    config = _stack(tmp_path, version)
    assert CONFIGS_ENV not in config.airflow_env(18080, {}, {})
    line = config.parse_path({}).line
    assert line.startswith("parse path: the loader file") and version in line
    if version == "3.4.0b2":
        assert f"{MODE_ENV}=on" in line


def test_the_stack_override_switches_the_importer_on_a_pre_release_and_off_on_a_final(tmp_path: Path) -> None:
    # from the caller's environment (the stack drops its other Airflow settings) or from extra_env
    on = _stack(tmp_path, "3.4.0b2").airflow_env(18080, {}, {MODE_ENV: "on"})
    assert on[CONFIGS_ENV] == importer_configs_value() and on[MODE_ENV] == "on"
    off = _stack(tmp_path, "3.4.0", **{MODE_ENV: "off"})
    assert CONFIGS_ENV not in off.airflow_env(18080, {}, {})
    assert "=off" in off.parse_path({}).line
    with pytest.raises(ImporterModeError, match="3.3.2"):
        _stack(tmp_path, "3.3.2", **{MODE_ENV: "on"}).parse_path({})


def test_the_stack_keeps_importer_configs_the_user_set(tmp_path: Path) -> None:
    mine = json.dumps([{"classpath": "airflow.sdk.importers.yaml_importer.YamlDagImporter"}])
    env = _stack(tmp_path, "3.4.0").airflow_env(18080, {}, {CONFIGS_ENV: mine, "AIRFLOW__CORE__EXECUTOR": "x"})
    assert env[CONFIGS_ENV] == mine
    assert _stack(tmp_path, "3.4.0").parse_path({CONFIGS_ENV: mine}).line.startswith(
        f"parse path: the DAG importers of your own dag_importer_configs: {CONFIGS_ENV} is set")


def test_init_dag_folder_writes_no_loader_where_the_importer_is_the_default_and_prints_the_config_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODE_ENV, raising=False)
    (tmp_path / "a.yaml").write_text(SPEC)
    assert main(["init-dag-folder", str(tmp_path), "--airflow-version", "3.4.0"]) == 0
    out = capsys.readouterr().out
    assert config_line().replace("\n", "\n    ") in out
    assert "--auto or --units N still write loader files" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]
    # asked for explicitly, the units are still written (for a 3.3 environment)
    assert main(["init-dag-folder", str(tmp_path), "--airflow-version", "3.4.0", "--auto"]) == 0
    assert "dagspec's DAG importer is the default parse path" in capsys.readouterr().out
    assert (tmp_path / "dagspec_loader.py").exists()


def test_init_dag_folder_writes_loader_files_before_3_4_0_final_and_honours_the_override(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text(SPEC)
    monkeypatch.setenv(MODE_ENV, "off")
    assert main(["init-dag-folder", str(tmp_path), "--airflow-version", "3.4.1", "--dry-run"]) == 0
    assert "would write dagspec_loader.py" in capsys.readouterr().out
    monkeypatch.setenv(MODE_ENV, "on")
    assert main(["init-dag-folder", str(tmp_path), "--airflow-version", "3.3.2"]) == 2
    assert "DSP105" in capsys.readouterr().err
    monkeypatch.delenv(MODE_ENV)
    assert main(["init-dag-folder", str(tmp_path), "--airflow-version", "3.4.0b2"]) == 0
    assert (tmp_path / "dagspec_loader.py").exists()


def test_dagspec_up_refuses_on_before_airflow_3_4_before_starting_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    version = parse_version(installed_airflow_version())
    if version is None or version.release[:2] >= (3, 4):
        pytest.skip("`on` is valid on this Airflow: the stack would start")
    monkeypatch.setenv(MODE_ENV, "on")
    assert main(["up", "--dags", str(ROOT / "dags"), "--home", str(tmp_path / "home")]) == 2
    assert "DSP105" in capsys.readouterr().err
    assert not (tmp_path / "home").exists()

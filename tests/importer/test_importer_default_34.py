"""On the pinned Airflow 3.4 pre-release the loader stays the default parse path; `[dagspec] dag_importer = on`
makes the local stack and `init-dag-folder` register dagspec's importer, with a value Airflow's own registry takes;
the loader keeps working where the importer is wanted but not registered, and says so once (DSP103).

That the dag processor then parses every spec with the importer is test_dag_processor_importer.py (which takes
its ``dag_importer_configs`` from the same decision)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk.importers", reason="Airflow 3.4's DAG importers (airflow.sdk.importers) are not installed")

from dagspec.dag_factory.airflow import loader  # noqa: E402
from dagspec.dag_factory.airflow.importer import yaml_importer_kind  # noqa: E402
from dagspec.dag_factory.airflow.importer_default import (  # noqa: E402
    CONFIGS_ENV,
    MODE_ENV,
    importer_configs_value,
    importer_is_default,
    installed_airflow_version,
    parse_version,
)
from dagspec.dag_factory.cli.main import main  # noqa: E402
from dagspec.dag_factory.compile.lines import LINE_ENV  # noqa: E402
from dagspec.dag_factory.stack.config import StackConfig  # noqa: E402
from importer_kit import GOOD_SPEC, ROOT, write_specs  # noqa: E402


@pytest.fixture(autouse=True)
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from airflow.sdk.importers import reset_importer_registry

    monkeypatch.setenv("DAGSPEC_CACHE_DIR", str(tmp_path / "plan-cache"))
    for name in (MODE_ENV, CONFIGS_ENV, LINE_ENV):
        monkeypatch.delenv(name, raising=False)
    reset_importer_registry()
    yield
    monkeypatch.delenv(CONFIGS_ENV, raising=False)
    reset_importer_registry()


def test_the_pinned_pre_release_keeps_the_loader_as_the_default_parse_path(tmp_path: Path) -> None:
    version = installed_airflow_version()
    assert version is not None and parse_version(version).is_prerelease  # 3.4.0b2 until the pin moves to 3.4.0
    assert importer_is_default(version, "auto") is False
    config = StackConfig(home=tmp_path / "home", dags_folder=ROOT / "dags")
    assert CONFIGS_ENV not in config.airflow_env(18080, {}, {})
    assert config.parse_path({}).line.startswith("parse path: the loader file")


def test_on_makes_the_stack_register_an_importer_config_that_airflow_resolves_to_dagspecs_importer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.importers import reset_importer_registry

    config = StackConfig(home=tmp_path / "home", dags_folder=ROOT / "dags", extra_env={MODE_ENV: "on"})
    env = config.airflow_env(18080, {}, {})
    assert env[CONFIGS_ENV] == importer_configs_value()
    assert config.parse_path({}).line.startswith("parse path: dagspec's DAG importer")
    monkeypatch.setenv(CONFIGS_ENV, env[CONFIGS_ENV])
    reset_importer_registry()
    assert yaml_importer_kind("dags-folder") == "dagspec"


def test_on_makes_init_dag_folder_print_the_config_line_instead_of_writing_loaders(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC})
    monkeypatch.setenv(MODE_ENV, "on")
    assert main(["init-dag-folder", str(folder)]) == 0
    out = capsys.readouterr().out
    printed = next(line for line in out.splitlines() if "dag_importer_configs =" in line)
    assert json.loads(printed.split("=", 1)[1]) == json.loads(importer_configs_value())
    assert sorted(p.name for p in folder.iterdir()) == ["good.yaml"]
    monkeypatch.delenv(MODE_ENV)
    assert main(["init-dag-folder", str(folder)]) == 0  # auto on the pre-release: the loader, as before
    assert (folder / "dagspec_loader.py").exists()


def _bag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="dags-folder", safe_mode=True)


def test_the_loader_still_builds_the_specs_where_the_importer_is_wanted_but_not_registered_and_warns_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC})
    shutil.copy(ROOT / "dags" / "dagspec_loader.py", folder / "dagspec_loader.py")
    monkeypatch.setattr(loader, "_warned_unregistered", False)
    monkeypatch.setenv(MODE_ENV, "on")
    with caplog.at_level(logging.WARNING, logger=loader.__name__):
        first, second = _bag(folder), _bag(folder)
    for bag in (first, second):
        assert bag.import_errors == {}
        assert bag.dags["good"].relative_fileloc == "dagspec_loader.py"
    warnings = [r.getMessage() for r in caplog.records if "DSP103" in r.getMessage()]
    assert len(warnings) == 1 and importer_configs_value() in warnings[0]


def test_the_loader_does_not_warn_on_the_pre_release_by_default(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC})
    shutil.copy(ROOT / "dags" / "dagspec_loader.py", folder / "dagspec_loader.py")
    monkeypatch.setattr(loader, "_warned_unregistered", False)
    with caplog.at_level(logging.WARNING, logger=loader.__name__):
        assert "good" in _bag(folder).dags
    assert not [r for r in caplog.records if "DSP103" in r.getMessage()]

"""Airflow 3.4's DAG importer path (AIP-85): with DagspecImporter configured in
``[dag_processor] dag_importer_configs``, the real 3.4 DagBag parses every spec as its own unit.

Runs in the 3.4 environment (``make test-34``); skipped where ``airflow.sdk.importers`` is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk.importers", reason="Airflow 3.4's DAG importers (airflow.sdk.importers) are not installed")

from importer_kit import (  # noqa: E402
    AIRFLOW_FORMAT,
    AIRFLOW_YAML_IMPORTER,
    BROKEN_SPEC,
    EXAMPLE_IDS,
    GOOD_SPEC,
    HANGING_MODULE,
    HANGING_SPEC,
    ROOT,
    dagspec_entry,
    importer_configs,
    write_specs,
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSPEC_CACHE_DIR", str(tmp_path / "plan-cache"))


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch):
    """``configure(json_or_None)``: set ``dag_importer_configs`` and rebuild Airflow's importer registry."""
    from airflow.sdk.importers import reset_importer_registry

    def apply(configs: str | None) -> None:
        if configs is None:
            monkeypatch.delenv("AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS", raising=False)
        else:
            monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS", configs)
        reset_importer_registry()

    yield apply
    reset_importer_registry()
    monkeypatch.delenv("AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS", raising=False)
    reset_importer_registry()


def bag_of(folder: Path, bundle: str = "dags-folder"):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder), bundle_path=folder, bundle_name=bundle, safe_mode=True)


def test_the_repo_examples_load_one_spec_per_parse_unit_with_the_loaders_dag_ids(configure, tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    shutil.copytree(ROOT / "dags", folder)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")  # beside dags/, as in the repository
    configure(None)
    by_loader = bag_of(folder)
    assert by_loader.import_errors == {}
    assert {dag.fileloc for dag in by_loader.dags.values()} == {str(folder / "dagspec_loader.py")}

    configure(importer_configs(dagspec_entry()))
    by_importer = bag_of(folder)
    assert by_importer.import_errors == {}
    assert set(by_importer.dags) == set(by_loader.dags) == EXAMPLE_IDS
    # each DAG now belongs to its own spec; the loader file, still in the folder, stepped aside
    assert by_importer.dags["hello"].relative_fileloc == "examples/hello.yaml"
    assert by_importer.dags["regional_report_eu"].relative_fileloc == "examples/regional_reports.yaml"
    assert by_importer.dags["sales_pipeline"].relative_fileloc == "sales_pipeline/sales_pipeline.yaml"
    assert all(not dag.fileloc.endswith(".py") for dag in by_importer.dags.values())
    for dag_id, dag in by_importer.dags.items():
        assert set(dag.task_dict) == set(by_loader.dags[dag_id].task_dict), dag_id
    assert by_importer.dag_source_codes["hello"].language == "yaml"


def test_a_broken_spec_is_an_import_error_under_its_own_path_with_file_line_col_text(configure, tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC, "team/broken.yaml": BROKEN_SPEC})
    configure(importer_configs(dagspec_entry()))
    bag = bag_of(folder)
    assert set(bag.dags) == {"good"}
    assert set(bag.import_errors) == {"team/broken.yaml"}
    text = bag.import_errors["team/broken.yaml"]
    assert "broken.yaml:5:5: error DSP013" in text
    assert "did you mean `bash`?" in text


def test_defaults_templates_hidden_folders_and_project_files_are_not_dag_definitions(configure, tmp_path: Path) -> None:
    from airflow.dag_processing.bundles.local import LocalDagBundle
    from dagspec.dag_factory.airflow.importer import DagspecImporter

    folder = write_specs(tmp_path / "dags", {
        "good.yaml": GOOD_SPEC, "team/other.yml": GOOD_SPEC,
        "_defaults.yaml": "tags: [x]\n", "team/_defaults.yaml": "tags: [y]\n", "dagspec.yaml": "x: 1\n",
        "templates/nightly.yaml": "tasks: {}\n", ".github/workflow.yaml": "on: push\n", "team/.draft.yaml": "x\n",
    })
    bundle = LocalDagBundle(name="b", path=str(folder))
    listed = {Path(repr(d)).relative_to(folder).as_posix() for d in DagspecImporter().list_dag_definitions(bundle)}
    assert listed == {"good.yaml", "team/other.yml"}

    configure(importer_configs(dagspec_entry()))
    bag = bag_of(folder)
    assert set(bag.dags) == {"good", "other"}
    assert bag.import_errors == {}


def test_a_spec_that_hangs_while_compiling_times_out_alone_while_the_others_load(
        configure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_specs(tmp_path / "dags", {
        "one.yaml": GOOD_SPEC, "two.yaml": GOOD_SPEC, "hangs.yaml": HANGING_SPEC, "hangs_forever.py": HANGING_MODULE,
    })
    monkeypatch.setenv("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "2")
    configure(importer_configs(dagspec_entry()))
    bag = bag_of(folder)
    assert set(bag.dags) == {"one", "two"}
    assert set(bag.import_errors) == {"hangs.yaml"}
    assert "DSP091" in bag.import_errors["hangs.yaml"]
    assert "dagbag_import_timeout" in bag.import_errors["hangs.yaml"]


def test_a_worker_parses_only_the_spec_of_its_dag(configure, tmp_path: Path) -> None:
    """As the task runner does (BundleDagBag on the DAG's file, safe_mode off): the broken and the
    hanging neighbours are never compiled, so the worker sees neither their errors nor their cost."""
    from airflow.dag_processing.dagbag import BundleDagBag

    folder = write_specs(tmp_path / "dags", {
        "mine.yaml": GOOD_SPEC, "broken.yaml": BROKEN_SPEC, "hangs.yaml": HANGING_SPEC,
        "hangs_forever.py": HANGING_MODULE,
    })
    configure(importer_configs(dagspec_entry()))
    bag = BundleDagBag(dag_folder=str(folder / "mine.yaml"), safe_mode=False, load_op_links=False,
                       bundle_path=folder, bundle_name="dags-folder")
    assert list(bag.dags) == ["mine"]
    assert bag.import_errors == {}
    assert bag.dags["mine"].relative_fileloc == "mine.yaml"
    assert set(bag.dags["mine"].task_dict) == {"first", "second"}


def test_an_airflow_format_yaml_given_to_dagspec_is_a_clear_error_with_a_remedy(configure, tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC, "airflow_format.yaml": AIRFLOW_FORMAT})
    configure(importer_configs(dagspec_entry()))
    bag = bag_of(folder)
    assert set(bag.dags) == {"good"}
    text = bag.import_errors["airflow_format.yaml"]
    assert "airflow_format.yaml:1:1: error DSP090" in text
    assert "Airflow YAML DAG" in text and '"airflow_yaml": "delegate"' in text


def test_with_delegation_both_formats_live_in_one_bundle(configure, tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC, "airflow_format.yaml": AIRFLOW_FORMAT})
    configure(importer_configs(dagspec_entry(airflow_yaml="delegate")))
    bag = bag_of(folder)
    assert bag.import_errors == {}
    assert set(bag.dags) == {"good", "airflow_format"}
    assert bag.dags["airflow_format"].relative_fileloc == "airflow_format.yaml"


def test_an_unknown_airflow_yaml_mode_is_a_configuration_error(configure, tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowConfigException

    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC})
    configure(importer_configs(dagspec_entry(airflow_yaml="guess")))
    with pytest.raises(AirflowConfigException, match="airflow_yaml must be one of error, delegate"):
        bag_of(folder)


def test_with_airflows_yaml_importer_the_loader_builds_the_specs_and_leaves_airflow_files_to_airflow(
        configure, tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC, "airflow_format.yaml": AIRFLOW_FORMAT})
    shutil.copy(ROOT / "dags" / "dagspec_loader.py", folder / "dagspec_loader.py")
    configure(importer_configs({"classpath": AIRFLOW_YAML_IMPORTER}))
    bag = bag_of(folder)
    assert bag.import_errors == {}
    assert bag.dags["good"].relative_fileloc == "dagspec_loader.py"
    assert bag.dags["airflow_format"].relative_fileloc == "airflow_format.yaml"


def test_a_bundle_can_pick_dagspecs_importer_through_its_importers_key(
        configure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    folder = write_specs(tmp_path / "dags", {"good.yaml": GOOD_SPEC, "team/broken.yaml": BROKEN_SPEC})
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([{
        "name": "specs", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(folder)}, "importers": [dagspec_entry()]}]))
    configure(None)
    bag = bag_of(folder, bundle="specs")
    assert set(bag.dags) == {"good"}
    assert set(bag.import_errors) == {"team/broken.yaml"}


PRELOAD_PROBE = """
import json, os, sys
from pathlib import Path
from airflow.sdk.importers import find_file_dag_definitions
from dagspec.dag_factory.airflow.importer import DagspecImporter

importer = DagspecImporter()  # the dag processor builds it once, before it forks a parse process per file
folder = Path(sys.argv[1])

class Bundle:
    path, name = str(folder), "dags-folder"

before = set(sys.modules)
result = importer.import_definition(next(iter(find_file_dag_definitions(folder, [".yaml"]))), Bundle())
print(json.dumps({"dags": [d.dag_id for d in result.dags], "errors": len(result.errors),
                  "imported": sorted(m for m in set(sys.modules) - before if m.startswith("airflow"))}))
"""


def test_a_parse_process_imports_no_airflow_module_the_importer_could_have_preloaded_before_the_fork(
        tmp_path: Path) -> None:
    """Every spec is parsed in its own process forked after the importer is built: an Airflow module a
    spec's build imports lazily (the timetables, asset definitions) is paid again in every process."""
    import json
    import os
    import subprocess
    import sys

    folder = write_specs(tmp_path / "dags", {"daily.yaml": GOOD_SPEC})
    env = {**os.environ, "DAGSPEC_CACHE_DIR": str(tmp_path / "cold-cache")}
    out = subprocess.run([sys.executable, "-c", PRELOAD_PROBE, str(folder)], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe == {"dags": ["daily"], "errors": 0, "imported": []}

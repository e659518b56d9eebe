"""A spec never takes over a DAG id that a Python DAG file defines (issue 8, section 2, DAG id takeover):
the spec gets its own import error naming the other file, and the Python DAG keeps working."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dagspec.dag_factory.compile.api import compile_paths

ROOT = Path(__file__).resolve().parents[2]
LOADER = ROOT / "dags" / "dagspec_loader.py"

PYDAG = '''\
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG({dag_id}, schedule=None):
    EmptyOperator(task_id="settle")
'''

SPEC = "dag_id: payments\ntasks: {steal: {bash: echo stolen}}\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(autouse=True)
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSPEC_CACHE", "off")


def folder_with(tmp_path: Path, pyname: str, dag_id_expr: str = '"payments"') -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dagspec_loader.py").write_text(LOADER.read_text())
    write(folder, pyname, PYDAG.format(dag_id=dag_id_expr))
    write(folder, "payments.yaml", SPEC)
    write(folder, "other.yaml", "tasks: {ok: {bash: echo ok}}\n")
    return folder


def bag_of(folder: Path):
    from dagspec.dag_factory.airflow.compat import bundle_dagbag

    return bundle_dagbag(folder, folder)


@pytest.mark.parametrize("pyname", ["pydag.py", "a_pydag.py"], ids=["parsed-after-the-loader", "parsed-before"])
def test_a_spec_loses_to_a_python_dag_with_the_same_id_in_a_dagbag(tmp_path: Path, pyname: str) -> None:
    folder = folder_with(tmp_path, pyname)
    bag = bag_of(folder)
    assert set(bag.dags) == {"payments", "other"}
    payments = bag.dags["payments"]
    assert payments.fileloc == str(folder / pyname) and set(payments.task_dict) == {"settle"}
    assert set(bag.import_errors) == {"payments.yaml"}  # neither the Python file nor the loader is broken
    text = bag.import_errors["payments.yaml"]
    assert "DSP046" in text and pyname in text


def test_a_dynamic_python_dag_id_already_in_the_bag_still_wins(tmp_path: Path) -> None:
    from dagspec.dag_factory.airflow.compat import bundle_dagbag

    folder = folder_with(tmp_path, "a_pydag.py", '"pay" + "ments"')  # invisible to the static scan
    bag = bundle_dagbag(folder / "a_pydag.py", folder)
    bag.process_file(str(folder / "dagspec_loader.py"))  # the loader parsed after the Python file
    assert bag.dags["payments"].fileloc == str(folder / "a_pydag.py")
    assert "DSP046" in bag.import_errors["payments.yaml"]


def test_the_dag_processor_parsing_only_the_loader_does_not_serialize_the_stolen_id(tmp_path: Path) -> None:
    """The dag processor parses each file in its own process: the loader alone must not emit `payments`."""
    from dagspec.dag_factory.airflow.compat import bundle_dagbag

    folder = folder_with(tmp_path, "pydag.py")
    bag = bundle_dagbag(folder / "dagspec_loader.py", folder)
    assert set(bag.dags) == {"other"}
    assert "DSP046" in bag.import_errors["payments.yaml"]


@pytest.mark.airflow
def test_one_file_per_process_keeps_the_python_dag_in_the_metadata_db(tmp_path: Path, airflow_db: Path) -> None:
    """As the dag processor does: each file parsed by its own DagBag and synced, the loader after the
    Python file. The serialized `payments` stays the Python DAG; the spec's error is stored."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.models.dag import DagModel
    from airflow.models.errors import ParseImportError
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from dagspec.dag_factory.airflow.compat import bundle_dagbag, sync_bag_to_db
    from sqlalchemy import select

    DagBundlesManager().sync_bundles_to_db()
    folder = folder_with(tmp_path, "pydag.py")
    for name in ("pydag.py", "dagspec_loader.py"):
        bag = bundle_dagbag(folder / name, folder)
        sync_bag_to_db(bag, "dags-folder", None)
    with create_session() as session:
        assert session.get(DagModel, "payments").relative_fileloc == "pydag.py"
        errors = {r.filename: r.stacktrace for r in session.scalars(
            select(ParseImportError).where(ParseImportError.bundle_name == "dags-folder"))}
    assert set(SerializedDagModel.get_dag("payments").task_dict) == {"settle"}
    assert "DSP046" in errors["payments.yaml"]


def test_a_loader_in_a_subfolder_sees_python_dags_of_the_whole_bundle(tmp_path: Path) -> None:
    from dagspec.dag_factory.airflow.compat import bundle_dagbag

    folder = tmp_path / "dags"
    write(folder, "pydag.py", PYDAG.format(dag_id='"payments"'))
    (folder / "specs").mkdir()
    (folder / "specs" / "dagspec_loader.py").write_text(LOADER.read_text())
    write(folder, "specs/payments.yaml", SPEC)
    bag = bundle_dagbag(folder / "specs" / "dagspec_loader.py", folder)
    assert bag.dags == {} and "DSP046" in bag.import_errors["specs/payments.yaml"]


def test_validate_reports_a_spec_taking_a_python_dag_id(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "pydag.py")
    out = subprocess.run([sys.executable, "-m", "dagspec.dag_factory.cli.main", "validate", str(folder)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "payments.yaml:1:1: error DSP046" in out.stdout and "pydag.py" in out.stdout


def test_compile_paths_refuses_a_taken_id_even_from_the_plan_cache(tmp_path: Path) -> None:
    from dagspec.dag_factory.compile.cache import PlanCache

    spec = write(tmp_path, "payments.yaml", SPEC)
    store = PlanCache(tmp_path / "cache")
    assert compile_paths([spec], root=tmp_path, env={}, cache=store).plans
    store.flush()
    result = compile_paths([spec], root=tmp_path, env={}, cache=store, taken={"payments": str(tmp_path / "p.py")})
    assert result.plans == [] and [d.code for d in result.all_diagnostics] == ["DSP046"]


@pytest.mark.parametrize("text,ids", [
    ('with DAG("payments", schedule=None): pass', {"payments"}),
    ("with DAG(\n    dag_id='refunds',\n) as d: pass", {"refunds"}),
    ("@dag(schedule=None)\ndef ledger():\n    pass", {"ledger"}),
    ('@dag(dag_id="named")\ndef other():\n    pass', {"named"}),
    ("@task\ndef x(): pass\nExternalTaskSensor(external_dag_id='a')\nTriggerDagRunOperator(trigger_dag_id='b')", set()),
], ids=["call", "keyword", "decorator", "decorator-with-id", "references-are-not-definitions"])
def test_the_static_scan_finds_the_usual_dag_definitions(text: str, ids: set[str]) -> None:
    from dagspec.dag_factory.compile.pydags import dag_ids_in_text

    assert dag_ids_in_text(text) == ids

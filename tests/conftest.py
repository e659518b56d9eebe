"""Test-wide setup: a private AIRFLOW_HOME with a SQLite metadata DB, set before Airflow is imported.

Every test session gets its own AIRFLOW_HOME under pytest's temp folder, so tests never touch
~/airflow. The ``airflow_db`` fixture migrates the database once per session, for tests that
need a real metadata DB (``dag.test()``, DagBag syncing); ``migrated_db`` copies that freshly migrated DB
for tests whose own Airflow processes need an empty metadata DB of their own.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["emulator_fixtures"]

_home = Path(tempfile.mkdtemp(prefix="dagspec-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_home / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
# a plan cache of its own per session too: `make test` runs two pytest sessions side by side (Makefile: HEAVY)
os.environ.setdefault("DAGSPEC_CACHE_DIR", str(_home / "plan-cache"))
(_home / "dags").mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return _home


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """A migrated SQLite metadata DB for this test session (and a pristine copy of it for ``migrated_db``)."""
    from airflow.utils import db

    db.resetdb(skip_init=False)
    _copy_sqlite(airflow_home / "airflow.db", airflow_home / "migrated-template.db")
    return airflow_home


@pytest.fixture(scope="session")
def migrated_db(airflow_db: Path):
    """``migrated_db(path)``: writes at ``path`` a fresh copy of the session's just-migrated SQLite metadata DB
    (the same schema ``airflow db migrate`` gives, without paying a migration per test); returns ``path``."""

    def copy(path: Path) -> Path:
        _copy_sqlite(airflow_db / "migrated-template.db", path)
        return path

    return copy


def _copy_sqlite(source: Path, target: Path) -> None:
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="session")
def run_dag(airflow_db: Path):
    """``run_dag(folder, dag_id, **conf)``: parse ``folder`` with DagBag, sync it to the metadata DB
    (GUIDE §4: ``dag.test()`` needs a serialized DAG) and run the DAG in-process; returns the run."""
    from dagspec.dag_factory.airflow.compat import AIRFLOW_V_3_PLUS, DagBag

    if AIRFLOW_V_3_PLUS:  # Airflow 2 has no DAG bundles, and its dag.test() needs no serialized DAG
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        DagBundlesManager().sync_bundles_to_db()

    def run(folder: Path | str, dag_id: str, **conf: object):
        bag = DagBag(dag_folder=str(folder))
        assert bag.import_errors == {}, bag.import_errors
        if AIRFLOW_V_3_PLUS:
            from dagspec.dag_factory.airflow.compat import sync_bag_to_db

            sync_bag_to_db(bag, "dags-folder", None)
        return bag.dags[dag_id].test(run_conf=conf or None)

    return run


# Airflow-free test modules: their outcome cannot depend on the Airflow line, so `make test-line` skips them on
# the lines whose pins differ from uv.lock only in Airflow and Airflow's own web/API stack (Makefile:
# LINE_MARKS). A module belongs here only if it imports neither Airflow nor a package pinned differently
# on those lines, in process or in the Python subprocesses it starts: tests/unit/test_line_subsets.py proves
# it on every `make test` by running these modules with such imports blocked. A new test runs on every line
# unless its module is added here (and passes that proof). Not here: tests/unit/test_cli_init.py, as what `init-dag-folder`
# writes by default depends on the installed Airflow's version (dag_factory/airflow/importer_default.py).
AIRFLOW_FREE = {
    "tests/unit/test_cache.py",
    "tests/unit/test_dataproc_schema.py",
    "tests/unit/test_fieldpath.py",
    "tests/unit/test_gitref.py",
    "tests/unit/test_labels.py",
    "tests/unit/test_packaging.py",
    "tests/unit/test_schema_kinds.py",
    "tests/unit/test_values_compose.py",
    "tests/unit/test_yaml_source.py",
    "tests/unit/test_airflow_lines.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().relative_to(ROOT).as_posix() in AIRFLOW_FREE:
            item.add_marker(pytest.mark.airflow_free)

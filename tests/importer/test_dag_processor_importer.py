"""The real Airflow 3.4 dag processor (``airflow dag-processor -n 1`` on SQLite) with DagspecImporter:
each spec is parsed in its own process, a broken spec's error is stored under its own path, and a
spec that hangs is cut off by the import timeout alone while every other DAG reaches the database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk.importers", reason="Airflow 3.4's DAG importers (airflow.sdk.importers) are not installed")

from dagspec.dag_factory.airflow.importer_default import (  # noqa: E402
    CONFIGS_ENV,
    MODE_ENV,
    installed_airflow_version,
    parse_path,
)
from importer_kit import (  # noqa: E402
    BROKEN_SPEC,
    GOOD_SPEC,
    HANGING_MODULE,
    HANGING_SPEC,
    ROOT,
    write_specs,
)

pytestmark = pytest.mark.slow
SPECS = 12


def _airflow(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(airflow), *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_the_dag_processor_stores_each_spec_alone_and_times_out_only_the_hanging_one(tmp_path: Path) -> None:
    dags = write_specs(tmp_path / "dags", {
        **{f"team_{i % 3}/spec_{i}.yaml": GOOD_SPEC for i in range(SPECS)},
        "_defaults.yaml": "tags: [generated]\n",
        "team_0/broken.yaml": BROKEN_SPEC,
        "hangs.yaml": HANGING_SPEC, "hangs_forever.py": HANGING_MODULE,
    })
    (dags / "dagspec_loader.py").write_text((ROOT / "dags" / "dagspec_loader.py").read_text())
    db = tmp_path / "airflow.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update({
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # what the local stack writes with `[dagspec] dag_importer = on` (the default from 3.4.0 final)
        **parse_path(installed_airflow_version(), {MODE_ENV: "on"}).env,
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "3",
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "20",
        "DAGSPEC_CACHE_DIR": str(tmp_path / "plan-cache"),
    })
    assert CONFIGS_ENV in env
    migrate = _airflow(["db", "migrate"], env, timeout=240)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = _airflow(["dag-processor", "-n", "1"], env, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]

    with sqlite3.connect(db) as conn:
        dags_in_db = dict(conn.execute("select dag_id, relative_fileloc from dag").fetchall())
        serialized = {row[0] for row in conn.execute("select dag_id from serialized_dag")}
        errors = dict(conn.execute("select filename, stacktrace from import_error").fetchall())

    expected = {f"spec_{i}": f"team_{i % 3}/spec_{i}.yaml" for i in range(SPECS)}
    assert dags_in_db == expected  # one DAG per spec, owned by the spec: nothing from the loader file
    assert serialized == set(expected)
    assert set(errors) == {"team_0/broken.yaml", "hangs.yaml"}
    assert "broken.yaml:5:5: error DSP013" in errors["team_0/broken.yaml"]
    assert "DSP091" in errors["hangs.yaml"]

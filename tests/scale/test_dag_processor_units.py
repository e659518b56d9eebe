"""Airflow's real dag processor (``airflow dag-processor -n 1``) over a folder of parse units: every DAG is
serialized from the unit that owns its spec, and a broken and an oversized spec are import errors under
their own paths, not their units'."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.spec.units import unit_file_name, unit_of

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


def spec(i: int, tasks: int = 3) -> str:
    lines = ["start_date: 2024-01-01", "schedule: null", "tasks:", f"  t0: {{bash: echo {i}}}"]
    lines += [f"  t{j}: {{bash: echo {j}, depends_on: t0}}" for j in range(1, tasks)]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(420)
def test_the_dag_processor_serializes_every_dag_from_its_unit_and_reports_bad_specs_under_their_own_paths(
        tmp_path: Path, migrated_db):
    dags = tmp_path / "dags"
    dags.mkdir()
    ids = [f"unit_wf_{i:02d}" for i in range(15)]
    for dag_id in ids:
        (dags / f"{dag_id}.yaml").write_text(spec(len(dag_id)))
    (dags / "broken.yaml").write_text("start_date: 2024-01-01\ntasks:\n  a: {bash: echo, depends_on: nowhere}\n")
    (dags / "huge.yaml").write_text(spec(0, tasks=80))
    assert main(["init-dag-folder", str(dags), "--units", "3"]) == 0

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "_AIRFLOW_PARSING_CONTEXT"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                "AIRFLOW__DAGSPEC__MAX_TASKS_PER_DAG": "50", "DAGSPEC_CACHE_DIR": str(tmp_path / "cache")})
    airflow = str(Path(sys.executable).parent / "airflow")
    migrated_db(home / "airflow.db")  # what `airflow db migrate` would leave there, copied
    out = subprocess.run([airflow, "dag-processor", "-n", "1"], env=env, capture_output=True, text=True, timeout=400,
                         check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    con = sqlite3.connect(home / "airflow.db")
    try:
        serialized = {row[0] for row in con.execute("select dag_id from serialized_dag")}
        files = dict(con.execute("select dag_id, relative_fileloc from dag"))
        errors = {row[0]: row[1] for row in con.execute("select filename, stacktrace from import_error")}
    finally:
        con.close()
    assert set(ids) <= serialized
    for dag_id in ids:  # each DAG comes from the one unit that owns its spec
        assert files[dag_id] == unit_file_name(unit_of(f"{dag_id}.yaml", 3), 3)
    mine = {name: text for name, text in errors.items() if name in {"broken.yaml", "huge.yaml"}
            or name.startswith("dagspec_unit_")}
    assert set(mine) == {"broken.yaml", "huge.yaml"}  # no unit file failed
    assert "DSP063" in mine["huge.yaml"]

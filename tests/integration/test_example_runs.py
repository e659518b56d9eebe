"""The flagship example runs with ``dag.test()`` on the installed Airflow line: its ephemeral cluster and its
Dataproc jobs against the emulators, the jobs simulated (no local Spark), so every supported line runs it fast."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
JOB_KINDS = ("pyspark", "spark_sql")
JOB_TASKS = ("clean", "revenue_by_region", "top_products")


def simulated_flagship(folder: Path) -> str:
    """The flagship's folder and loader, its jobs simulated by the emulator (and the check of their outputs
    dropped: simulated jobs write none); returns its dag_id."""
    shutil.copytree(ROOT / "dags" / "sales_pipeline", folder / "sales_pipeline")
    shutil.copy(ROOT / "dags" / "dagspec_loader.py", folder / "dagspec_loader.py")
    shutil.copytree(ROOT / "templates", folder / "templates")  # the cluster profiles
    path = folder / "sales_pipeline" / "sales_pipeline.yaml"
    spec = yaml.safe_load(path.read_text())
    del spec["tasks"]["check_results"]
    for task in spec["tasks"].values():
        for kind in JOB_KINDS:
            if kind in task:
                task[kind]["properties"] = {"dataproc-emulator.simulate.seconds": "0.2"}
    spec["dataproc"]["deferrable"] = False  # the trigger path: tests/provider/test_triggers.py (cheaper than dag.test)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return "sales_pipeline"


def test_the_flagship_runs_its_cluster_and_jobs_with_dag_test(run_dag, emu, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSPEC_POLL_INTERVAL", "0.2s")
    dag_id = simulated_flagship(tmp_path / "dags")
    dag_run = run_dag(tmp_path / "dags", dag_id)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "success", states
    assert set(states.values()) == {"success"}, states
    assert {"create_cluster_etl", "clean", "revenue_by_region", "top_products", "delete_cluster_etl"} <= set(states)
    # The session emulator may still finish another test's background work, so count this run's jobs only.
    ours = [(job.rsplit("_", 1)[0], n) for job, n in emu.stats.jobs_started.items()
            if job.rsplit("_", 1)[0] in JOB_TASKS]
    assert sorted(ours) == [(task, 1) for task in sorted(JOB_TASKS)], "each job ran once"
    created, deleted = emu.stats.clusters_created, emu.stats.clusters_deleted
    assert created and all(deleted[name] == n for name, n in created.items()), "the teardown deleted the cluster"

"""The flagship spec runs end to end with ``dag.test()`` on the local Dataproc and GCS emulators:
an ephemeral cluster around three dependent PySpark / Spark SQL jobs, results in GCS, cluster gone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _rows(storage, bucket: str, prefix: str) -> list[dict[str, str]]:
    parts = [b for b in storage.list_blobs(bucket, prefix=prefix) if b.name.rsplit("/", 1)[-1].startswith("part-")]
    return [row for b in parts for row in csv.DictReader(io.StringIO(b.download_as_text()))]


def test_sales_pipeline_runs_on_an_ephemeral_cluster(warm_emu, emulator_clients, run_dag, monkeypatch) -> None:
    emu = warm_emu
    monkeypatch.setenv("DAGSPEC_POLL_INTERVAL", "0.5s")
    monkeypatch.setenv("DAGSPEC_DEMO_BUCKET", "flagship-test")
    monkeypatch.setenv("AIRFLOW__DAGSPEC__DEFAULT_DEFERRABLE", "False")
    run = run_dag(ROOT / "dags", "sales_pipeline")
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert set(states.values()) == {"success"}

    storage = emulator_clients.storage
    regions = _rows(storage, "flagship-test", "sales/out/revenue_by_region/")
    assert sorted(r["region"] for r in regions) == ["amer", "apac", "emea"]
    assert sum(int(r["orders"]) for r in regions) == 240  # 244 raw rows, 4 bad ones dropped
    products = _rows(storage, "flagship-test", "sales/out/top_products/")
    assert round(sum(float(p["revenue"]) for p in products), 2) == round(sum(float(r["revenue"]) for r in regions), 2)

    stats = emu.stats.snapshot()
    assert sorted(stats["clusters_created"].values()) == [1]
    assert stats["clusters_created"].keys() == stats["clusters_deleted"].keys()
    assert all(count == 1 for count in stats["jobs_started"].values()) and len(stats["jobs_started"]) == 3
    assert list(emulator_clients.clusters.list_clusters(project_id=emu.project, region="local-region")) == []

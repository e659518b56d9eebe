"""What Composer does with a deploy: the bucket's ``dags/`` copied to a fresh folder must load the same
DAGs and run them, so deploy ships every file the specs use, whatever ``.airflowignore`` says (issue 14)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.deploy import DeployOptions, apply, prepare
from deploy_kit import Bucket, write

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "dags/dagspec"


def copy_dags_prefix(bucket: Bucket, target: Path) -> Path:
    """Composer's one-way sync: every object below ``dags/`` becomes a file below ``target``."""
    for blob in bucket.client.list_blobs(bucket.name, prefix="dags/"):
        rel = blob.name[len("dags/"):]
        if not rel or rel.endswith("/"):
            continue
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(path))
    return target


def deploy_repository(bucket: Bucket) -> None:
    prepared = prepare(DeployOptions(bucket.name, PREFIX, ROOT / "dags", ROOT / "templates"))
    assert prepared.local.ok, prepared.local.diagnostics
    assert apply(prepared).ok


def dagbag(folder: Path) -> Any:
    from dagspec.dag_factory.airflow.compat import DagBag

    return DagBag(dag_folder=str(folder), safe_mode=True)


def test_files_airflowignore_hides_are_deployed_and_the_plan_says_why(project: Path, bucket: Bucket,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "dags/.airflowignore", "scratch/\nteam/jobs/\nteam/sql/\n")
    assert main(["deploy", "--bucket", f"gs://{bucket.name}", "--no-imports", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "team/jobs/clean.py" in out and "job main of etl.clean" in out
    assert "team/sql/totals.sql" in out and "query_file of etl.totals" in out
    assert "templates/etl-base.yaml" in out and "template of etl" in out
    assert main(["deploy", "--bucket", f"gs://{bucket.name}", "--no-imports", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    why = {c["key"]: c["why"] for c in data["plan"]["upload"]}
    assert why["team/jobs/clean.py"] == "job main of etl.clean"
    assert why["team/hello.yaml"] == "spec" and why["dagspec_loader.py"] == "the loader"
    assert bucket.read(f"{PREFIX}/team/jobs/clean.py") == b"print('clean')\n"
    assert "scratch/notes.yaml" not in why  # ignored and used by no spec: still not deployed


def test_a_spec_naming_a_missing_file_fails_validate_and_deploy_at_its_line(project: Path, bucket: Bucket,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    (project / "dags/team/jobs/clean.py").unlink()
    assert main(["validate", "dags", "--no-imports"]) == 1
    out = capsys.readouterr().out
    assert "dags/team/etl.yaml:7:21: error DSP072: main: `jobs/clean.py` not found" in out
    assert main(["deploy", "--bucket", f"gs://{bucket.name}", "--no-imports"]) == 1
    assert "nothing uploaded" in capsys.readouterr().err and bucket.names() == set()


def test_a_job_file_outside_the_dag_folder_stops_the_deploy(project: Path, bucket: Bucket,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "templates/jobs/shared.py", "print('shared')\n")
    write(project, "dags/team/shared.yaml", """\
        dataproc: {staging_bucket: gs://demo-staging}
        clusters: {c: {config: {}}}
        tasks:
          run: {pyspark: ../../templates/jobs/shared.py, cluster: c}
        """)
    assert main(["deploy", "--bucket", f"gs://{bucket.name}", "--no-imports"]) == 1
    err = capsys.readouterr().err
    assert "DSP094" in err and "job main of shared.run" in err and "would not exist on Composer" in err


def test_the_docs_no_longer_ask_users_to_work_around_airflowignore() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    assert "do not ignore the job scripts" not in text
    assert "whatever `.airflowignore` says" in text


def test_a_composer_copy_of_the_repository_loads_the_same_dags(bucket: Bucket, tmp_path: Path) -> None:
    deploy_repository(bucket)
    copy = copy_dags_prefix(bucket, tmp_path / "composer")
    folder = copy / "dagspec"
    assert (folder / "sales_pipeline" / "jobs" / "clean.py").read_bytes() == \
        (ROOT / "dags" / "sales_pipeline" / "jobs" / "clean.py").read_bytes()
    original, copied = dagbag(ROOT / "dags"), dagbag(folder)
    assert copied.import_errors == {}
    assert set(copied.dags) == set(original.dags) and len(copied.dags) >= 9


def _rows(storage: Any, bucket: str, prefix: str) -> list[dict[str, str]]:
    parts = [b for b in storage.list_blobs(bucket, prefix=prefix) if b.name.rsplit("/", 1)[-1].startswith("part-")]
    return [row for b in parts for row in csv.DictReader(io.StringIO(b.download_as_text()))]


@pytest.mark.slow
@pytest.mark.spark
def test_the_flagship_runs_to_success_from_the_composer_copy(bucket: Bucket, tmp_path: Path, warm_emu: Any,
                                                             emulator_clients: Any, run_dag: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The flagship end to end with ``dag.test()``, from what Composer would hold after a deploy (the job files
    are the repository's, byte for byte): an ephemeral cluster around three dependent PySpark / Spark SQL jobs,
    the right results in GCS, every job run once and the cluster gone. This is the suite's one in-process run of
    the flagship on real Spark (tests/stack runs it through the scheduler), on warm Spark: one JVM for the
    cluster instead of one per job."""
    emu = warm_emu
    deploy_repository(bucket)
    folder = copy_dags_prefix(bucket, tmp_path / "composer") / "dagspec"
    monkeypatch.setenv("DAGSPEC_POLL_INTERVAL", "0.5s")
    monkeypatch.setenv("DAGSPEC_DEMO_BUCKET", "composer-copy-flagship")
    monkeypatch.setenv("AIRFLOW__DAGSPEC__DEFAULT_DEFERRABLE", "False")
    run = run_dag(folder, "sales_pipeline")
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert set(states.values()) == {"success"}

    storage = emulator_clients.storage
    regions = _rows(storage, "composer-copy-flagship", "sales/out/revenue_by_region/")
    assert sorted(r["region"] for r in regions) == ["amer", "apac", "emea"]
    assert sum(int(r["orders"]) for r in regions) == 240  # 244 raw rows, 4 bad ones dropped
    products = _rows(storage, "composer-copy-flagship", "sales/out/top_products/")
    assert round(sum(float(p["revenue"]) for p in products), 2) == round(sum(float(r["revenue"]) for r in regions), 2)

    stats = emu.stats.snapshot()
    assert sorted(stats["clusters_created"].values()) == [1]
    assert stats["clusters_created"].keys() == stats["clusters_deleted"].keys()
    assert all(count == 1 for count in stats["jobs_started"].values()) and len(stats["jobs_started"]) == 3
    assert list(emulator_clients.clusters.list_clusters(project_id=emu.project, region="local-region")) == []

"""Whole DAG runs with ``dag.test()``: create -> submit -> delete (teardown) on the emulators, deferrable or not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from dagspec.provider.hooks.dataproc import DataprocHook
from dagspec.provider.naming import cluster_name, job_id
from provider_kit import write_scripts

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(300)]

WORDCOUNT = '''
import sys
from pyspark.sql import SparkSession

src, out = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("wordcount").getOrCreate()
words = spark.read.text(src).selectExpr("explode(split(value, ' ')) AS word").where("word != ''")
counts = words.groupBy("word").count()
counts.coalesce(1).write.mode("overwrite").json(out)
print("distinct words:", counts.count())
spark.stop()
'''

DAG_FILE = '''
"""A dagspec provider test DAG (airflow dag file written by tests/provider/test_dag_run.py)."""
from airflow.sdk import DAG
from dagspec.provider.operators.cluster import DataprocCreateClusterOperator, DataprocDeleteClusterOperator
from dagspec.provider.operators.job import DataprocSubmitJobOperator

with DAG({dag_id!r}, schedule=None, catchup=False) as dag:
    create = DataprocCreateClusterOperator(task_id="create_cluster_main", cluster="main", cluster_config={{}},
                                           deferrable={deferrable}, poll_interval=0.2)
    job = DataprocSubmitJobOperator(task_id="work", cluster="main", files_root={root!r},
                                    staging_bucket="gs://dagspec-dagtest-staging", deferrable={deferrable},
                                    poll_interval=0.2, job={job!r})
    delete = DataprocDeleteClusterOperator(task_id="delete_cluster_main", cluster="main", deferrable={deferrable},
                                           poll_interval=0.2)
    create >> job >> delete.as_teardown(setups=create)
'''


def run_dag(airflow_home: Path, dag_id: str, job: dict, root: Path, deferrable: bool):
    from dagspec.dag_factory.airflow.compat import DagBag

    path = airflow_home / "dags" / f"{dag_id}.py"
    path.write_text(textwrap.dedent(DAG_FILE).format(dag_id=dag_id, deferrable=deferrable, root=str(root), job=job))
    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    dag_run = bag.get_dag(dag_id).test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    return dag_run, states


def test_happy_path_deferrable(airflow_db, airflow_home, emu, tmp_path) -> None:
    root = write_scripts(tmp_path / "jobs")
    (root / "wordcount.py").write_text(WORDCOUNT)
    hook = DataprocHook()
    hook.call(hook.storage.create_bucket, "dagspec-dagtest-in")
    hook.storage.bucket("dagspec-dagtest-in").blob("words.txt").upload_from_string("a b a c\nb a\n")
    job = {"pyspark_job": {"main_python_file_uri": "wordcount.py",
                           "args": ["gs://dagspec-dagtest-in/words.txt", "gs://dagspec-dagtest-out/counts"]}}
    dag_run, states = run_dag(airflow_home, "dagspec_provider_happy", job, root, deferrable=True)
    assert states == {"create_cluster_main": "success", "work": "success", "delete_cluster_main": "success"}
    assert dag_run.state == "success"
    parts = [b for b in hook.storage.list_blobs("dagspec-dagtest-out", prefix="counts/") if b.name.endswith(".json")]
    text = b"".join(b.download_as_bytes() for b in parts).decode()
    assert '"word":"a","count":3' in text.replace(" ", "")
    assert hook.get_cluster(cluster_name("dagspec_provider_happy", dag_run.run_id, "main")) is None
    assert dict(emu.stats.jobs_started) == {job_id("dagspec_provider_happy", dag_run.run_id, "work", -1): 1}
    hook.close()


def test_failed_job_fails_the_run_and_teardown_deletes(airflow_db, airflow_home, emu, tmp_path) -> None:
    root = write_scripts(tmp_path / "jobs")
    job = {"pyspark_job": {"main_python_file_uri": "fail.py"}}
    dag_run, states = run_dag(airflow_home, "dagspec_provider_failing", job, root, deferrable=False)
    assert states == {"create_cluster_main": "success", "work": "failed", "delete_cluster_main": "success"}
    assert dag_run.state == "failed"
    hook = DataprocHook()
    assert hook.get_cluster(cluster_name("dagspec_provider_failing", dag_run.run_id, "main")) is None
    hook.close()

"""A Spark (jar + main class) job compiled at test time, and a Spark SQL job with a query file and variables."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from google.cloud import dataproc_v1 as d

from .helpers import PROJECT, REGION, driver_output, make_cluster, unique, wait_job

JAVA = """
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;

public class LongLines {
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().appName("long-lines").getOrCreate();
        Dataset<String> lines = spark.read().textFile(args[0]);
        Dataset<String> longOnes = lines.filter("length(value) > 3");
        longOnes.coalesce(1).write().mode("overwrite").text(args[1]);
        System.out.println("LONG LINES " + longOnes.count());
        spark.stop();
    }
}
"""

QUERY = """
-- a query file with script variables, reading and writing gs:// through the local mirror
CREATE TEMPORARY VIEW words USING csv OPTIONS (path '${src}', header 'true');
INSERT OVERWRITE DIRECTORY '${dst}' USING csv SELECT word, LENGTH(word) FROM words ORDER BY word;
SELECT COUNT(*) AS n FROM words;
"""


@pytest.fixture(scope="module")
def spark_cluster(emulator, emulator_clients, fast_polling):
    made = make_cluster(emulator_clients, fast_polling, unique("kinds"))
    yield made
    emulator_clients.clusters.delete_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": made.cluster_name}
    ).result(polling=fast_polling)


def _jar(tmp_path: Path) -> Path:
    from dagspec.provider.emulator.runner import spark_home

    if not (shutil.which("javac") and shutil.which("jar")):
        pytest.skip("javac/jar not installed")
    (tmp_path / "LongLines.java").write_text(JAVA)
    classpath = str(spark_home() / "jars" / "*")
    subprocess.run(["javac", "-cp", classpath, "-d", str(tmp_path / "classes"), str(tmp_path / "LongLines.java")],
                   check=True, capture_output=True)
    jar = tmp_path / "long-lines.jar"
    subprocess.run(["jar", "cf", str(jar), "-C", str(tmp_path / "classes"), "."], check=True, capture_output=True)
    return jar


@pytest.mark.spark
@pytest.mark.slow
def test_spark_jar_job(emu, emulator_clients, spark_cluster, tmp_path):
    jar = _jar(tmp_path)
    bucket = unique("jar")
    storage = emulator_clients.storage
    storage.create_bucket(bucket)
    storage.bucket(bucket).blob("lib/long-lines.jar").upload_from_filename(str(jar))
    storage.bucket(bucket).blob("in/text.txt").upload_from_string("a\nhello\nbb\nworld\n")
    job = emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION, "job": {
        "placement": {"cluster_name": spark_cluster.cluster_name},
        # main_jar_file_uri and main_class are one-of: with main_class the jar goes in jar_file_uris
        "spark_job": {"main_class": "LongLines", "jar_file_uris": [f"gs://{bucket}/lib/long-lines.jar"],
                      "args": [f"gs://{bucket}/in/text.txt", f"gs://{bucket}/out"]}}})
    done = wait_job(emulator_clients, job.reference.job_id)
    assert done.status.state == d.JobStatus.State.DONE, done.status.details
    assert "LONG LINES 2" in driver_output(emulator_clients, done)[1]
    parts = [b for b in storage.list_blobs(bucket, prefix="out/part-")]
    assert "".join(b.download_as_text() for b in parts).split() == ["hello", "world"]


@pytest.mark.spark
@pytest.mark.slow
def test_spark_sql_job_with_query_file_and_variables(emu, emulator_clients, spark_cluster):
    bucket = unique("sql")
    storage = emulator_clients.storage
    storage.create_bucket(bucket)
    storage.bucket(bucket).blob("words/w.csv").upload_from_string("word\nspark\nsql\n")
    storage.bucket(bucket).blob("q/report.sql").upload_from_string(QUERY)
    job = emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION, "job": {
        "placement": {"cluster_name": spark_cluster.cluster_name},
        "spark_sql_job": {"query_file_uri": f"gs://{bucket}/q/report.sql",
                          "script_variables": {"src": f"gs://{bucket}/words/", "dst": f"gs://{bucket}/lengths"}}}})
    done = wait_job(emulator_clients, job.reference.job_id)
    assert done.status.state == d.JobStatus.State.DONE, done.status.details
    assert "\n2\n" in "\n" + driver_output(emulator_clients, done)[1]  # the COUNT(*) row, printed like spark-sql
    parts = [b for b in storage.list_blobs(bucket, prefix="lengths/") if b.name.endswith(".csv")]
    rows = sorted(line for b in parts for line in b.download_as_text().splitlines())
    assert rows == ["spark,5", "sql,3"]

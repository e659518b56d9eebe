"""Warm Spark: jobs on a RUNNING cluster run on a driver started ahead, and one job cannot break the next."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import PROJECT, REGION, driver_output, make_cluster, unique, wait_job

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# prints whether Spark's JVM was already up when the job started (a warm driver), then does real work
PROBE = """
import sys
from pyspark import SparkContext
print("WARM", SparkContext._gateway is not None, flush=True)
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName(sys.argv[1]).getOrCreate()
print("APP", spark.sparkContext.appName)
print("PARTITIONS", spark.conf.get("spark.sql.shuffle.partitions"))
print("RDD", spark.sparkContext.parallelize(range(10), 2).map(lambda x: x * x).sum())
print("DF", sorted(r["k"] for r in spark.createDataFrame([("a",), ("b",)], ["k"]).collect()))
from helper import greet
print(greet())
mode = sys.argv[2]
if mode == "exit":
    sys.exit(3)
if mode == "raise":
    raise RuntimeError("job blew up")
if mode == "stop":
    spark.stop()
if mode == "hang":
    print("HANGING", flush=True)
    import time
    while True:
        time.sleep(1)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def warm() -> Iterator[Any]:
    from dagspec.provider.emulator import clients, start_emulators

    handle = start_emulators(spark=True, warm_spark=True)
    bundle = clients(handle.dataproc_host, handle.gcs_host, handle.project)
    bundle.storage.create_bucket("warm-code")
    bundle.storage.bucket("warm-code").blob("probe.py").upload_from_string(PROBE)
    bundle.storage.bucket("warm-code").blob("helper.py").upload_from_string("def greet():\n    return 'HELLO'\n")
    try:
        yield handle, bundle
    finally:
        bundle.close()
        pids = handle.backend.runner.warm.spare_pids()
        handle.stop()
        assert not [pid for pid in pids if _alive(pid)], "a warm driver outlived the emulator"


def _submit(bundle: Any, cluster: str, mode: str, props: dict[str, str] | None = None) -> str:
    job_id = unique(f"warm-{mode}")
    bundle.jobs.submit_job(project_id=PROJECT, region=REGION, job={
        "reference": {"job_id": job_id}, "placement": {"cluster_name": cluster},
        "pyspark_job": {"main_python_file_uri": "gs://warm-code/probe.py", "args": [job_id, mode],
                        "python_file_uris": ["gs://warm-code/helper.py"], "properties": props or {}}})
    return job_id


def test_each_job_runs_on_a_warm_driver_and_a_failing_or_stopping_job_never_breaks_the_next(warm, fast_polling):
    handle, bundle = warm
    cluster = make_cluster(bundle, fast_polling).cluster_name
    outcomes = {}
    for mode in ("exit", "raise", "stop", "ok"):
        job = wait_job(bundle, _submit(bundle, cluster, mode, {"spark.sql.shuffle.partitions": "3"}))
        outcomes[mode] = (job.status.state.name, driver_output(bundle, job)[1])
    for mode, (state, text) in outcomes.items():
        assert "WARM True" in text, (mode, text)
        assert "RDD 285" in text and "DF ['a', 'b']" in text and "HELLO" in text, (mode, text)
        assert "PARTITIONS 3" in text, (mode, text)  # the job's own properties apply on a warm driver
        assert state == ("ERROR" if mode in ("exit", "raise") else "DONE"), (mode, state, text)
    assert "RuntimeError: job blew up" in outcomes["raise"][1]
    assert "warm_driver" not in outcomes["raise"][1]  # the traceback starts at the job's own code
    assert "APP warm-ok" in outcomes["ok"][1]


def test_a_job_with_launch_properties_runs_cold_with_the_same_results(warm, fast_polling):
    handle, bundle = warm
    cluster = make_cluster(bundle, fast_polling).cluster_name
    job = wait_job(bundle, _submit(bundle, cluster, "ok", {"spark.driver.maxResultSize": "512m"}))
    text = driver_output(bundle, job)[1]
    assert job.status.state.name == "DONE", text
    assert "WARM False" in text and "RDD 285" in text and "HELLO" in text


def test_cancelling_a_warm_job_kills_its_driver_and_deleting_the_cluster_stops_its_spare(warm, fast_polling):
    handle, bundle = warm
    cluster = make_cluster(bundle, fast_polling).cluster_name
    pool = handle.backend.runner.warm
    job_id = _submit(bundle, cluster, "hang")
    deadline = time.monotonic() + 180
    while "HANGING" not in (driver_output(bundle, bundle.jobs.get_job(
            project_id=PROJECT, region=REGION, job_id=job_id))[1]):
        assert time.monotonic() < deadline, "the hanging job never started"
        time.sleep(0.3)
    bundle.jobs.cancel_job(project_id=PROJECT, region=REGION, job_id=job_id)
    assert wait_job(bundle, job_id).status.state.name == "CANCELLED"
    after = wait_job(bundle, _submit(bundle, cluster, "ok"))
    assert after.status.state.name == "DONE" and "WARM True" in driver_output(bundle, after)[1]
    spares = pool.spare_pids((PROJECT, REGION, cluster))
    assert spares
    bundle.clusters.delete_cluster(request={"project_id": PROJECT, "region": REGION,
                                            "cluster_name": cluster}).result(polling=fast_polling)
    gone = time.monotonic() + 15
    while any(_alive(pid) for pid in spares) and time.monotonic() < gone:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in spares)


def test_sql_jobs_on_a_warm_driver_print_their_rows(warm, fast_polling):
    handle, bundle = warm
    cluster = make_cluster(bundle, fast_polling).cluster_name
    bundle.storage.bucket("warm-code").blob("in/words.csv").upload_from_string("word\nspark\nwarm\nsql\n")
    jobs = []
    for _ in range(2):
        job_id = unique("warm-sql")
        bundle.jobs.submit_job(project_id=PROJECT, region=REGION, job={
            "reference": {"job_id": job_id}, "placement": {"cluster_name": cluster},
            "spark_sql_job": {"query_list": {"queries": [
                "CREATE TEMPORARY VIEW w USING csv OPTIONS (path '${src}', header 'true')",
                "SELECT word, length(word) FROM w ORDER BY word"]},
                "script_variables": {"src": "gs://warm-code/in/words.csv"}}})
        jobs.append(wait_job(bundle, job_id))
    for job in jobs:
        text = driver_output(bundle, job)[1]
        assert job.status.state.name == "DONE", text
        assert "spark\t5\nsql\t3\nwarm\t4" in text


def _warm_children(parent: int) -> list[int]:
    """Live warm drivers whose parent is ``parent`` (found in /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"warm_driver.py" in cmdline and _alive(int(entry)):
            found.append(int(entry))
    return found


def test_warm_drivers_end_when_the_emulator_process_is_killed():
    import subprocess
    import sys

    import grpc
    from google.cloud import dataproc_v1 as d

    proc = subprocess.Popen([sys.executable, "-m", "dagspec.provider.emulator", "--warm-spark", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        host = next(line.split("=", 1)[1] for line in lines if line.startswith("export DATAPROC_EMULATOR_HOST="))
        channel = grpc.insecure_channel(host)
        client = d.ClusterControllerClient(
            transport=d.services.cluster_controller.transports.ClusterControllerGrpcTransport(channel=channel))
        client.create_cluster(request={"project_id": PROJECT, "region": REGION,
                                       "cluster": {"cluster_name": unique("kill")}}).result(timeout=60)
        channel.close()
        deadline = time.monotonic() + 30
        while len(spares := _warm_children(proc.pid)) < 2:
            assert time.monotonic() < deadline, "the cluster's two warm drivers never started"
            time.sleep(0.2)
        proc.kill()  # SIGKILL: the emulator cannot stop them itself
        proc.wait(10)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in spares) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in spares if _alive(pid)], "a warm driver outlived its killed emulator"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

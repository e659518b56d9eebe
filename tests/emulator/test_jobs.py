"""Jobs through the real google-cloud-dataproc client: state machine, idempotency, cancel, faults, real Spark."""

from __future__ import annotations

import time

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d

from .helpers import PROJECT, REGION, driver_output, make_cluster, unique, wait_job

State = d.JobStatus.State

WORDS_JOB = """
import sys
from pyspark.sql import SparkSession, functions as F
src, dst = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("totals").getOrCreate()
df = spark.read.option("header", True).csv(src)
out = df.groupBy("city").agg(F.sum(F.col("amount").cast("int")).alias("total")).orderBy("city")
out.coalesce(1).write.mode("overwrite").option("header", True).csv(dst)
print("ROWS", out.count())
"""


@pytest.fixture(scope="module")
def cluster(emulator, emulator_clients, fast_polling):
    made = make_cluster(emulator_clients, fast_polling, unique("jobs"))
    yield made
    emulator_clients.clusters.delete_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": made.cluster_name}
    ).result(polling=fast_polling)


def _upload(clients, bucket: str, name: str, text: str) -> str:
    clients.storage.bucket(bucket).blob(name).upload_from_string(text)
    return f"gs://{bucket}/{name}"


def _light_job(clients, cluster, script: str, **extra) -> dict:
    """A PySpark job whose driver never starts Spark: it runs as plain Python, in a fraction of a second."""
    uri = _upload(clients, cluster.config.config_bucket, f"code/{unique('s')}.py", script)
    return {"placement": {"cluster_name": cluster.cluster_name},
            "pyspark_job": {"main_python_file_uri": uri, **extra}}


def _submit(clients, job: dict, request_id: str = "") -> d.Job:
    return clients.jobs.submit_job(
        request={"project_id": PROJECT, "region": REGION, "job": job, "request_id": request_id})


@pytest.mark.spark
@pytest.mark.slow
def test_pyspark_job_reads_and_writes_gcs(emu, emulator_clients, cluster):
    bucket = unique("data")
    emulator_clients.storage.create_bucket(bucket)
    _upload(emulator_clients, bucket, "in/sales.csv", "city,amount\nparis,3\nlyon,4\nparis,5\n")
    main = _upload(emulator_clients, bucket, "code/totals.py", WORDS_JOB)
    job_id = unique("totals")
    job = {"reference": {"job_id": job_id}, "placement": {"cluster_name": cluster.cluster_name},
           "pyspark_job": {"main_python_file_uri": main,
                           "args": [f"gs://{bucket}/in/sales.csv", f"gs://{bucket}/out/totals"]}}
    submitted = _submit(emulator_clients, job, request_id="req-" + job_id)
    assert submitted.status.state == State.PENDING
    assert submitted.driver_output_resource_uri == (
        f"gs://{cluster.config.config_bucket}/google-cloud-dataproc-metainfo/{cluster.cluster_uuid}"
        f"/jobs/{job_id}/driveroutput")
    assert submitted.driver_control_files_uri.endswith(f"/jobs/{job_id}/")
    # a replay with the same request id returns the same job; another request id is a conflict
    assert _submit(emulator_clients, job, request_id="req-" + job_id).job_uuid == submitted.job_uuid
    with pytest.raises(gexc.AlreadyExists):
        _submit(emulator_clients, job, request_id="other-" + job_id)

    done = wait_job(emulator_clients, job_id)
    assert done.status.state == State.DONE, done.status.details
    assert [s.state for s in done.status_history] == [State.PENDING, State.SETUP_DONE, State.RUNNING]
    chunks, text = driver_output(emulator_clients, done)
    assert chunks[0].endswith("driveroutput.000000000")
    assert "ROWS 2" in text
    names = [b.name for b in emulator_clients.storage.list_blobs(bucket, prefix="out/totals/")]
    assert "out/totals/_SUCCESS" in names
    part = next(n for n in names if n.endswith(".csv"))
    assert not any(n.endswith(".crc") for n in names)
    csv = emulator_clients.storage.bucket(bucket).blob(part).download_as_text()
    assert csv.splitlines() == ["city,total", "lyon,4", "paris,8"]
    assert emu.stats.jobs_started[job_id] == 1


def test_light_job_output_and_failure(emu, emulator_clients, cluster):
    ok = _submit(emulator_clients, _light_job(emulator_clients, cluster, "import sys\nprint('args', sys.argv[1:])\n",
                                              args=["x", "y"]))
    bad = _submit(emulator_clients, _light_job(emulator_clients, cluster, "raise SystemExit('boom: bad input')\n"))
    ok, bad = wait_job(emulator_clients, ok.reference.job_id), wait_job(emulator_clients, bad.reference.job_id)
    assert ok.status.state == State.DONE
    assert "args ['x', 'y']" in driver_output(emulator_clients, ok)[1]
    assert bad.status.state == State.ERROR
    assert "exit code 1" in bad.status.details and "boom: bad input" in bad.status.details
    assert "boom: bad input" in driver_output(emulator_clients, bad)[1]


def test_unsupported_job_type_ends_in_error(emu, emulator_clients, cluster):
    job = _submit(emulator_clients, {"placement": {"cluster_name": cluster.cluster_name},
                                     "pig_job": {"query_list": {"queries": ["A = LOAD 'x';"]}}})
    done = wait_job(emulator_clients, job.reference.job_id)
    assert done.status.state == State.ERROR
    assert "Pig jobs are not supported by the local Dataproc emulator" in done.status.details
    assert emu.stats.jobs_started[job.reference.job_id] == 0


def test_submit_validation(emu, emulator_clients, cluster):
    with pytest.raises(gexc.NotFound):  # a missing cluster is NOT_FOUND, as on Dataproc
        _submit(emulator_clients, {"placement": {"cluster_name": "no-such-cluster"},
                                   "pyspark_job": {"main_python_file_uri": "gs://b/x.py"}})
    with pytest.raises(gexc.InvalidArgument):
        _submit(emulator_clients, {"reference": {"job_id": "bad id!"}, "placement": {"cluster_name": cluster.cluster_name},
                                   "pyspark_job": {"main_python_file_uri": "gs://b/x.py"}})
    with pytest.raises(gexc.InvalidArgument):
        _submit(emulator_clients, {"placement": {"cluster_name": cluster.cluster_name}})
    with pytest.raises(gexc.NotFound):
        emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id="nope")


def test_cancel_kills_the_driver(emu, emulator_clients, cluster):
    script = "import time\nprint('started', flush=True)\ntime.sleep(120)\nprint('never')\n"
    job = _submit(emulator_clients, _light_job(emulator_clients, cluster, script))
    job_id = job.reference.job_id
    deadline = time.monotonic() + 30
    while emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=job_id).status.state != State.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cancelled = emulator_clients.jobs.cancel_job(project_id=PROJECT, region=REGION, job_id=job_id)
    assert cancelled.status.state in (State.CANCEL_PENDING, State.CANCELLED)
    done = wait_job(emulator_clients, job_id, timeout=30)
    assert done.status.state == State.CANCELLED
    assert "never" not in driver_output(emulator_clients, done)[1]
    with pytest.raises(gexc.FailedPrecondition):
        emulator_clients.jobs.cancel_job(project_id=PROJECT, region=REGION, job_id=job_id)


def test_unavailable_reply_lost_then_retry_runs_job_once(emu, emulator_clients, cluster):
    job_id = unique("once")
    job = _light_job(emulator_clients, cluster, "print('ran')\n")
    job["reference"] = {"job_id": job_id}
    emu.faults.fail_method("SubmitJob", grpc.StatusCode.UNAVAILABLE, times=2, after=True)
    submitted = _submit(emulator_clients, job, request_id="rq-" + job_id)
    assert wait_job(emulator_clients, submitted.reference.job_id).status.state == State.DONE
    assert emu.stats.calls["SubmitJob"] == 3
    assert emu.stats.jobs_started[job_id] == 1


def test_injected_job_failure_by_marker(emu, emulator_clients, cluster):
    emu.faults.fail_job(marker="FAIL-ME", message="disk full")
    job = _submit(emulator_clients, _light_job(emulator_clients, cluster, "print('hi')\n", args=["FAIL-ME"]))
    done = wait_job(emulator_clients, job.reference.job_id)
    assert done.status.state == State.ERROR and "disk full" in done.status.details
    assert emu.stats.jobs_started[job.reference.job_id] == 1


def test_list_update_delete_and_operation(emu, emulator_clients, cluster, fast_polling):
    label = unique("l")
    op = emulator_clients.jobs.submit_job_as_operation(request={
        "project_id": PROJECT, "region": REGION,
        "job": {**_light_job(emulator_clients, cluster, "print(1)\n"), "labels": {"batch": label}}})
    job = op.result(polling=fast_polling)
    assert job.status.state == State.DONE and op.metadata.operation_type == "SUBMIT_JOB"
    assert op.metadata.start_time and op.metadata.status.state == State.DONE
    listed = list(emulator_clients.jobs.list_jobs(request={
        "project_id": PROJECT, "region": REGION, "filter": f"status.state = INACTIVE AND labels.batch = {label}"}))
    assert [j.reference.job_id for j in listed] == [job.reference.job_id]
    updated = emulator_clients.jobs.update_job(request={
        "project_id": PROJECT, "region": REGION, "job_id": job.reference.job_id,
        "job": {"labels": {"batch": label, "seen": "yes"}}, "update_mask": {"paths": ["labels"]}})
    assert updated.labels["seen"] == "yes"
    emulator_clients.jobs.delete_job(project_id=PROJECT, region=REGION, job_id=job.reference.job_id)
    with pytest.raises(gexc.NotFound):
        emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=job.reference.job_id)


def test_deleting_the_cluster_fails_running_jobs(emu, emulator_clients, fast_polling):
    doomed = make_cluster(emulator_clients, fast_polling, unique("doomed"))
    job = _submit(emulator_clients, _light_job(emulator_clients, doomed, "import time\ntime.sleep(120)\n"))
    time.sleep(0.3)
    emulator_clients.clusters.delete_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": doomed.cluster_name}
    ).result(polling=fast_polling)
    done = wait_job(emulator_clients, job.reference.job_id, timeout=30)
    assert done.status.state == State.ERROR and "deleted" in done.status.details


def test_second_job_waits_queued_for_the_spark_slot(emu, emulator_clients, cluster):
    blocker = _submit(emulator_clients, _light_job(emulator_clients, cluster, "import time\ntime.sleep(120)\n"))
    waiting = _submit(emulator_clients, _light_job(emulator_clients, cluster, "print('my turn')\n"))
    deadline = time.monotonic() + 30
    while True:
        job = emulator_clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=waiting.reference.job_id)
        if job.status.substate == d.JobStatus.Substate.QUEUED:
            break
        assert time.monotonic() < deadline, job.status
        time.sleep(0.05)
    assert job.status.state == State.SETUP_DONE
    assert emu.stats.jobs_started[waiting.reference.job_id] == 0
    emulator_clients.jobs.cancel_job(project_id=PROJECT, region=REGION, job_id=blocker.reference.job_id)
    done = wait_job(emulator_clients, waiting.reference.job_id, timeout=30)
    assert done.status.state == State.DONE and "my turn" in driver_output(emulator_clients, done)[1]


def test_job_files_and_gcs_mirror_semantics(emu, emulator_clients, cluster):
    """py files, files (#alias), archives; gs:// URIs in the source; overwrite deletes stale objects; no .crc."""
    import io
    import zipfile

    bucket = unique("mirror")
    storage = emulator_clients.storage
    storage.create_bucket(bucket)
    _upload(emulator_clients, bucket, "lib/helper.py", "VALUE = 42\n")
    _upload(emulator_clients, bucket, "data/settings.txt", "color=blue\n")
    _upload(emulator_clients, bucket, "in/data.txt", "a\nb\nc\n")
    _upload(emulator_clients, bucket, "out/stale.txt", "old\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner.txt", "from the archive\n")
    storage.bucket(bucket).blob("arch.zip").upload_from_string(archive.getvalue())
    script = (
        "import os, shutil, sys\n"
        "import helper\n"
        f"lines = open('gs://{bucket}/in/data.txt').read().split()\n"
        "out = sys.argv[1]\n"
        "shutil.rmtree(out)\n"
        "os.makedirs(out)\n"
        "open(os.path.join(out, 'result.txt'), 'w').write(str(len(lines)))\n"
        "open(os.path.join(out, '.result.txt.crc'), 'w').write('x')\n"
        "print(helper.VALUE, open('conf.txt').read().strip(), open('arch/inner.txt').read().strip())\n"
    )
    job = _submit(emulator_clients, _light_job(
        emulator_clients, cluster, script, args=[f"gs://{bucket}/out/"],
        python_file_uris=[f"gs://{bucket}/lib/helper.py"], file_uris=[f"gs://{bucket}/data/settings.txt#conf.txt"],
        archive_uris=[f"gs://{bucket}/arch.zip#arch"]))
    done = wait_job(emulator_clients, job.reference.job_id)
    assert done.status.state == State.DONE, done.status.details
    assert "42 color=blue from the archive" in driver_output(emulator_clients, done)[1]
    names = {b.name for b in storage.list_blobs(bucket, prefix="out/")}
    assert names == {"out/result.txt"}
    assert storage.bucket(bucket).blob("out/result.txt").download_as_text() == "3"
    assert storage.bucket(bucket).blob("in/data.txt").exists()  # inputs are left alone


def test_output_to_a_missing_bucket_warns_or_fails_when_strict(emu, emulator_clients, cluster):
    script = "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(sys.argv[1] + '/x.txt', 'w').write('x')\n"
    lenient_bucket, strict_bucket = unique("nobucket"), unique("nobucket")
    job = _submit(emulator_clients, _light_job(emulator_clients, cluster, script, args=[f"gs://{lenient_bucket}/out"]))
    done = wait_job(emulator_clients, job.reference.job_id)
    assert done.status.state == State.DONE
    assert f"created missing output bucket gs://{lenient_bucket}" in driver_output(emulator_clients, done)[1]
    assert emulator_clients.storage.bucket(lenient_bucket).blob("out/x.txt").exists()
    emu.backend.runner.strict_buckets = True
    try:
        job = _submit(emulator_clients, _light_job(emulator_clients, cluster, script, args=[f"gs://{strict_bucket}/out"]))
        done = wait_job(emulator_clients, job.reference.job_id)
    finally:
        emu.backend.runner.strict_buckets = False
    assert done.status.state == State.ERROR and f"gs://{strict_bucket}" in done.status.details
    assert emulator_clients.storage.lookup_bucket(strict_bucket) is None


def test_a_simulated_load_test_job_runs_its_time_without_spark_and_ends_as_asked(emu, emulator_clients, cluster):
    job = {"placement": {"cluster_name": cluster.cluster_name},
           "pyspark_job": {"main_python_file_uri": "gs://nowhere/never-read.py",
                           "properties": {"dataproc-emulator.simulate.seconds": "0.5"}}}
    failing = {"placement": job["placement"],
               "pyspark_job": {"main_python_file_uri": "gs://nowhere/never-read.py",
                               "properties": {"dataproc-emulator.simulate.seconds": "0.1",
                                              "dataproc-emulator.simulate.outcome": "ERROR"}}}
    ok, bad = _submit(emulator_clients, job), _submit(emulator_clients, failing)
    ok, bad = wait_job(emulator_clients, ok.reference.job_id), wait_job(emulator_clients, bad.reference.job_id)
    assert ok.status.state == State.DONE and bad.status.state == State.ERROR
    assert "simulated job finished: DONE" in driver_output(emulator_clients, ok)[1]
    assert "simulated failure" in bad.status.details
    assert emu.stats.snapshot()["jobs_started"] == {ok.reference.job_id: 1, bad.reference.job_id: 1}

"""Dataproc Serverless batches through the real BatchController client."""

from __future__ import annotations

import time

import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d

from .helpers import PROJECT, REGION, unique

PARENT = f"projects/{PROJECT}/locations/{REGION}"
State = d.Batch.State


def _script(clients, text: str) -> str:
    bucket = unique("bt")
    clients.storage.create_bucket(bucket)
    clients.storage.bucket(bucket).blob("main.py").upload_from_string(text)
    return f"gs://{bucket}/main.py"


def test_batch_runs_and_writes_output(emu, emulator_clients, fast_polling):
    main = _script(emulator_clients, "import sys\nprint('batch says', sys.argv[1])\n")
    batch_id = unique("b")
    request = {"parent": PARENT, "batch_id": batch_id, "request_id": "r-" + batch_id,
               "batch": {"pyspark_batch": {"main_python_file_uri": main, "args": ["hi"]}, "labels": {"k": batch_id}}}
    op = emulator_clients.batches.create_batch(request=request)
    assert emulator_clients.batches.create_batch(request=request).operation.name == op.operation.name
    batch = op.result(polling=fast_polling, timeout=60)
    assert batch.state == State.SUCCEEDED
    assert [h.state for h in batch.state_history] == [State.PENDING, State.RUNNING]
    bucket, _, prefix = batch.runtime_info.output_uri[5:].partition("/")
    text = "".join(b.download_as_text() for b in emulator_clients.storage.list_blobs(bucket, prefix=prefix + "."))
    assert "batch says hi" in text
    assert emu.stats.batches_started[batch_id] == 1
    listed = [b.name for b in emulator_clients.batches.list_batches(
        request={"parent": PARENT, "filter": f"state = SUCCEEDED AND labels.k = {batch_id}"})]
    assert listed == [f"{PARENT}/batches/{batch_id}"]
    with pytest.raises(gexc.AlreadyExists):
        emulator_clients.batches.create_batch(request={**request, "request_id": ""})
    emulator_clients.batches.delete_batch(name=batch.name)
    with pytest.raises(gexc.NotFound):
        emulator_clients.batches.get_batch(name=batch.name)


def test_unsupported_and_failing_batches(emu, emulator_clients, fast_polling):
    op = emulator_clients.batches.create_batch(request={"parent": PARENT, "batch": {
        "spark_r_batch": {"main_r_file_uri": "gs://nowhere/x.R"}}})
    with pytest.raises(gexc.GoogleAPICallError, match="not supported"):
        op.result(polling=fast_polling, timeout=60)
    failing = _script(emulator_clients, "raise SystemExit(3)\n")
    op = emulator_clients.batches.create_batch(request={"parent": PARENT, "batch": {
        "pyspark_batch": {"main_python_file_uri": failing}}})
    with pytest.raises(gexc.GoogleAPICallError, match="exit code 3"):
        op.result(polling=fast_polling, timeout=60)
    batch = emulator_clients.batches.get_batch(name=op.metadata.batch)
    assert batch.state == State.FAILED
    with pytest.raises(gexc.InvalidArgument):
        emulator_clients.batches.create_batch(request={"parent": PARENT, "batch_id": "Bad_Id", "batch": {
            "pyspark_batch": {"main_python_file_uri": failing}}})


def test_cancel_batch_through_its_operation(emu, emulator_clients, fast_polling):
    main = _script(emulator_clients, "import time\ntime.sleep(120)\n")
    op = emulator_clients.batches.create_batch(request={"parent": PARENT, "batch": {
        "pyspark_batch": {"main_python_file_uri": main}}})
    name = op.metadata.batch
    deadline = time.monotonic() + 30
    while emulator_clients.batches.get_batch(name=name).state != State.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(gexc.FailedPrecondition):
        emulator_clients.batches.delete_batch(name=name)
    op.cancel()
    with pytest.raises(gexc.GoogleAPICallError):
        op.result(polling=fast_polling, timeout=30)
    assert emulator_clients.batches.get_batch(name=name).state == State.CANCELLED

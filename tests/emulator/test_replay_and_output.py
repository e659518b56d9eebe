"""The emulator's request_id retention and its driver-output stream, through the real clients (issue 13)."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from .helpers import PROJECT, REGION, driver_output, make_cluster, unique, wait_job

pytestmark = pytest.mark.timeout(120)


def _submit(clients, cluster, job_id, request_id, script):
    bucket = unique("out")
    clients.storage.create_bucket(bucket)
    clients.storage.bucket(bucket).blob("main.py").upload_from_string(script)
    job = {"reference": {"job_id": job_id}, "placement": {"cluster_name": cluster.cluster_name},
           "pyspark_job": {"main_python_file_uri": f"gs://{bucket}/main.py"}}
    return clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION, "job": job,
                                            "request_id": request_id})


def test_a_request_id_replays_only_within_its_retention(emu, emulator_clients, fast_polling) -> None:
    # Dataproc documents no retention; the shortest Google APIs promise is 60 minutes (the default)
    assert emu.backend.request_id_retention == 3600.0
    cluster = make_cluster(emulator_clients, fast_polling)
    job_id = unique("replay")
    first = _submit(emulator_clients, cluster, job_id, "rq-" + job_id, "print('once')\n")
    assert _submit(emulator_clients, cluster, job_id, "rq-" + job_id, "print('once')\n").job_uuid == first.job_uuid
    emu.clock.advance(3601)  # forgotten: the same request is new work, and the job id is taken
    with pytest.raises(gexc.AlreadyExists):
        _submit(emulator_clients, cluster, job_id, "rq-" + job_id, "print('once')\n")


def test_driver_output_appends_rolls_over_by_size_and_ends_with_an_empty_object(emu, emulator_clients,
                                                                                fast_polling) -> None:
    cluster = make_cluster(emulator_clients, fast_polling)
    job_id = unique("big")
    _submit(emulator_clients, cluster, job_id, "rq-" + job_id, "print('x' * 99, flush=True)\n" * 1 +
            "for i in range(3000):\n    print('y' * 99)\n")
    done = wait_job(emulator_clients, job_id)
    names, text = driver_output(emulator_clients, done)
    assert [n[-9:] for n in names] == ["000000000", "000000001", "000000002"]
    bucket, _, _ = done.driver_output_resource_uri[len("gs://"):].partition("/")
    sizes = [emulator_clients.storage.bucket(bucket).get_blob(n).size for n in names]
    assert sizes[0] == 256 * 1024 and 0 < sizes[1] and sizes[2] == 0  # full, the rest, the end marker
    assert len(text) == 100 + 3000 * 100

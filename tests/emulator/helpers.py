"""Small helpers shared by the emulator tests: names, cluster setup, waiting for jobs, reading driver output."""

from __future__ import annotations

import time
import uuid
from typing import Any

from google.cloud import dataproc_v1 as d

__all__ = ["PROJECT", "REGION", "driver_output", "make_cluster", "unique", "wait_job"]

PROJECT, REGION = "local-project", "us-central1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_cluster(clients: Any, polling: Any, name: str | None = None, **cluster: Any) -> d.Cluster:
    name = name or unique("c")
    op = clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name, **cluster}})
    return op.result(polling=polling)


def wait_job(clients: Any, job_id: str, region: str = REGION, timeout: float = 180) -> d.Job:
    """The job ``job_id`` of ``region`` once it is done (polled every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = clients.jobs.get_job(project_id=PROJECT, region=region, job_id=job_id)
        if job.done:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def driver_output(clients: Any, job: d.Job) -> tuple[list[str], str]:
    """The chunk object names and the concatenated driver output of ``job``."""
    bucket, _, prefix = job.driver_output_resource_uri[len("gs://"):].partition("/")
    blobs = sorted(clients.storage.list_blobs(bucket, prefix=prefix + "."), key=lambda b: b.name)
    return [b.name for b in blobs], "".join(b.download_as_bytes().decode() for b in blobs)

"""Small helpers shared by the emulator tests: names, cluster setup, waiting for jobs, reading driver output, leaks."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from google.cloud import dataproc_v1 as d

__all__ = ["PROJECT", "REGION", "active_work", "driver_output", "make_cluster", "no_work_left", "unique", "wait_job"]

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


def active_work(clients: Any, regions: Iterable[str], project: str = PROJECT) -> set[str]:
    """The jobs and operations (cluster changes, workflows) still active in ``regions``, by name."""
    names: set[str] = set()
    for region in regions:
        jobs = clients.jobs.list_jobs(request={"project_id": project, "region": region,
                                               "job_state_matcher": d.ListJobsRequest.JobStateMatcher.ACTIVE})
        names |= {f"job {job.reference.job_id}" for job in jobs}
        listed = clients.clusters.list_operations(request={
            "name": f"projects/{project}/regions/{region}/operations", "filter": "status.state = ACTIVE"})
        names |= {f"operation {op.name}" for op in listed.operations}
    return names


@contextlib.contextmanager
def no_work_left(clients: Any, regions: Iterable[str], project: str = PROJECT) -> Iterator[None]:
    """Fails when the block leaves a job or an operation active in ``regions`` that was not active before it.

    Work a test leaves running would be counted by the tests after it: the test must wait for it (or cancel it).
    """
    regions = tuple(regions)
    before = active_work(clients, regions, project)
    yield
    left = active_work(clients, regions, project) - before
    assert not left, f"the test left work running: {sorted(left)}"

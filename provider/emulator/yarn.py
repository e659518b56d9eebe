"""The ``yarn_applications`` report of Spark-type jobs: one YARN application per run, following the job's state.

Job.yarn_applications is "the collection of YARN applications spun up by this job" (a Beta report on
Dataproc). A local run has no YARN, so the emulator reports the one application Spark would have
started: RUNNING from the job's RUNNING on, then FINISHED, FAILED or KILLED (progress 1.0 when done).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from google.cloud.dataproc_v1.types import jobs as _jobs  # type: ignore[import-untyped]

from .messages import JobState

__all__ = ["SPARK_KINDS", "track_yarn_application"]

SPARK_KINDS = frozenset({"pyspark_job", "spark_job", "spark_sql_job", "spark_r_job"})
_YARN = _jobs.YarnApplication.State
_FINAL = {JobState.DONE: _YARN.FINISHED, JobState.ERROR: _YARN.FAILED, JobState.CANCELLED: _YARN.KILLED}
_CLUSTER_START = int(time.time() * 1000)  # YARN ids carry the resource manager's start time
_SEQUENCE = itertools.count(1)


def _app_name(job: Any, kind: str) -> str:
    body = getattr(job, kind)
    if kind == "pyspark_job":
        return str(body.main_python_file_uri).rsplit("/", 1)[-1] or job.reference.job_id
    if kind == "spark_job":
        return str(body.main_class or body.main_jar_file_uri.rsplit("/", 1)[-1]) or job.reference.job_id
    return f"{kind.removesuffix('_job')}-{job.reference.job_id}"


def track_yarn_application(job: Any, state: int) -> None:
    """Update ``job.yarn_applications`` (a raw ``pb.Job``, under the backend's lock) for its new ``state``."""
    kind = job.WhichOneof("type_job")
    if kind not in SPARK_KINDS:
        return
    if state == JobState.RUNNING and not job.yarn_applications:
        app_id = f"application_{_CLUSTER_START}_{next(_SEQUENCE):04d}"
        job.yarn_applications.add(name=_app_name(job, kind), state=_YARN.RUNNING, progress=0.1,
                                  tracking_url=f"http://{job.placement.cluster_name}-m:8088/proxy/{app_id}/")
    elif state in _FINAL and job.yarn_applications:
        app = job.yarn_applications[-1]
        app.state = _FINAL[JobState(state)]
        app.progress = 1.0

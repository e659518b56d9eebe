"""Helpers of the fidelity suite: names, a RUNNING cluster, a light PySpark job (waiting for a job: emulator.helpers)."""

from __future__ import annotations

import uuid
from typing import Any

from emulator.helpers import wait_job  # the one poller, shared with the emulator suite (pass region=)
from google.cloud import dataproc_v1 as d

__all__ = ["PARENT", "PROJECT", "REGION", "OTHER_REGION", "cluster", "light_job", "unique", "wait_job"]

PROJECT, REGION, OTHER_REGION = "local-project", "europe-west1", "us-east1"
PARENT = f"projects/{PROJECT}/regions/{REGION}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cluster(clients: Any, polling: Any, region: str = REGION, **fields: Any) -> d.Cluster:
    """A new RUNNING cluster in ``region``."""
    op = clients.clusters.create_cluster(request={"project_id": PROJECT, "region": region,
                                                  "cluster": {"cluster_name": unique("fid"), **fields}})
    return op.result(polling=polling)


def light_job(clients: Any, on: d.Cluster, script: str = "print('hello')\n", **job: Any) -> dict:
    """A PySpark job whose driver never starts Spark (plain Python, a fraction of a second)."""
    bucket = clients.storage.bucket(on.config.config_bucket)
    name = f"code/{unique('job')}.py"
    bucket.blob(name).upload_from_string(script)
    return {"placement": {"cluster_name": on.cluster_name},
            "pyspark_job": {"main_python_file_uri": f"gs://{on.config.config_bucket}/{name}"}, **job}


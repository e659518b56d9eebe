"""Console links for Dataproc clusters, jobs and batches, stored by the operators in XCom."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from ..compat import BaseOperatorLink, base_xcom

__all__ = ["CONSOLE", "cluster_url", "job_url", "batch_url", "DataprocClusterLink", "DataprocJobLink", "DataprocBatchLink"]

CONSOLE = "https://console.cloud.google.com/dataproc"


def cluster_url(project: str, region: str, cluster: str) -> str:
    return f"{CONSOLE}/clusters/{quote(cluster)}/monitoring?region={quote(region)}&project={quote(project)}"


def job_url(project: str, region: str, job_id: str) -> str:
    return f"{CONSOLE}/jobs/{quote(job_id)}?region={quote(region)}&project={quote(project)}"


def batch_url(project: str, region: str, batch_id: str) -> str:
    return f"{CONSOLE}/batches/{quote(region)}/{quote(batch_id)}/monitoring?project={quote(project)}"


class _XComLink(BaseOperatorLink):
    """A link whose whole URL the operator pushes to XCom under ``xcom_key`` while it runs."""

    key: ClassVar[str] = ""

    @property
    def xcom_key(self) -> str:
        return self.key

    @classmethod
    def persist(cls, context: Any, url: str) -> None:
        context["ti"].xcom_push(key=cls.key, value=url)

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # lazy: only the webserver resolving a link needs XCom storage
        value = base_xcom().get_value(ti_key=ti_key, key=self.xcom_key)
        return value if isinstance(value, str) else ""


class DataprocClusterLink(_XComLink):
    """The cluster's page in the Google Cloud console."""

    key = "dagspec_cluster_link"
    name = "Dataproc Cluster"  # type: ignore[assignment]


class DataprocJobLink(_XComLink):
    """The job's page in the Google Cloud console."""

    key = "dagspec_job_link"
    name = "Dataproc Job"  # type: ignore[assignment]


class DataprocBatchLink(_XComLink):
    """The batch's page in the Google Cloud console."""

    key = "dagspec_batch_link"
    name = "Dataproc Batch"  # type: ignore[assignment]

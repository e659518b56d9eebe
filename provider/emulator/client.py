"""Real google-cloud-dataproc / google-cloud-storage clients wired to an emulator (a convenience for tests)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc  # type: ignore[import-untyped]
from google.auth.credentials import AnonymousCredentials
from google.cloud import dataproc_v1, storage  # type: ignore[attr-defined]
from google.cloud.dataproc_v1.services.batch_controller.transports import BatchControllerGrpcTransport
from google.cloud.dataproc_v1.services.cluster_controller.transports import ClusterControllerGrpcTransport
from google.cloud.dataproc_v1.services.job_controller.transports import JobControllerGrpcTransport
from google.cloud.dataproc_v1.services.workflow_template_service.transports import (
    WorkflowTemplateServiceGrpcTransport,
)

__all__ = ["Clients", "clients"]


@dataclass
class Clients:
    """One client per Dataproc service, sharing one insecure channel, plus a storage client."""

    channel: grpc.Channel
    clusters: dataproc_v1.ClusterControllerClient
    jobs: dataproc_v1.JobControllerClient
    workflows: dataproc_v1.WorkflowTemplateServiceClient
    batches: dataproc_v1.BatchControllerClient
    storage: storage.Client | None

    def close(self) -> None:
        self.channel.close()


def clients(host: str, gcs_host: str | None = None, project: str = "local-project") -> Clients:
    """Clients for the Dataproc emulator at ``host`` ("127.0.0.1:PORT") and, if given, the GCS emulator."""
    channel = grpc.insecure_channel(host)
    gcs = None
    if gcs_host:
        gcs = storage.Client(project=project, credentials=AnonymousCredentials(),
                             client_options={"api_endpoint": gcs_host})
    return Clients(
        channel=channel,
        clusters=dataproc_v1.ClusterControllerClient(transport=ClusterControllerGrpcTransport(channel=channel)),
        jobs=dataproc_v1.JobControllerClient(transport=JobControllerGrpcTransport(channel=channel)),
        workflows=dataproc_v1.WorkflowTemplateServiceClient(
            transport=WorkflowTemplateServiceGrpcTransport(channel=channel)),
        batches=dataproc_v1.BatchControllerClient(transport=BatchControllerGrpcTransport(channel=channel)),
        storage=gcs,
    )

"""The one place the provider talks to Dataproc and Cloud Storage: clients from a connection, typed errors.

``DataprocHook`` builds google-cloud-dataproc / google-cloud-storage clients from an Airflow
connection of type ``dagspec_gcp`` (or, for the local emulator, from ``DATAPROC_EMULATOR_HOST`` /
``STORAGE_EMULATOR_HOST`` without any connection), retries transient failures of idempotent
requests (every mutating request carries a request_id), and maps every Google exception once into
``dagspec.provider.errors``. Google libraries are imported inside methods so importing this module
(and the operators) at DAG parse time stays cheap.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeVar

from .. import errors
from ..compat import AirflowNotFoundException, BaseHook
from ..lifecycle import ObservedCluster, ObservedJob, batch_phase, job_phase
from ..naming import batch_attempt_id, job_attempt_id, owned_by
from .settings import CONN_TYPE, DEFAULT_CONN_ID, GcpSettings, resolve_settings

__all__ = ["DataprocHook"]

T = TypeVar("T")
_CALL_TIMEOUT = 60.0


class DataprocHook(BaseHook):
    """Dataproc clusters, jobs and batches, and GCS objects, for one connection / project / region."""

    conn_name_attr = "gcp_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "dagspec Google Cloud (Dataproc)"

    def __init__(
        self,
        gcp_conn_id: str = DEFAULT_CONN_ID,
        *,
        project_id: str | None = None,
        region: str | None = None,
        retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.gcp_conn_id = gcp_conn_id
        self._project_id = project_id
        self._region = region
        self.retries = retries
        self._sleep = sleep
        self._env = env
        self._channels: list[Any] = []

    # -- settings and clients ---------------------------------------------------------------------

    @cached_property
    def settings(self) -> GcpSettings:
        env = os.environ if self._env is None else self._env
        extras: dict[str, Any] | None
        try:
            extras = dict(self.get_connection(self.gcp_conn_id).extra_dejson)
        except AirflowNotFoundException:  # no such connection: settings come from the environment
            extras = None
        except Exception as exc:  # no secrets backend reachable
            self.log.debug("connection %s unavailable: %s", self.gcp_conn_id, exc)
            extras = None
        return resolve_settings(extras, env, conn_id=self.gcp_conn_id, project_id=self._project_id, region=self._region)

    @property
    def project_id(self) -> str:
        return self.settings.project

    @property
    def region(self) -> str:
        return self.settings.region

    def get_credentials(self) -> Any:
        """Credentials for real Google APIs: key file / key JSON / ADC, optionally impersonating."""
        s = self.settings
        with self._mapped():
            # lazy: keeps Google clients off the parse path
            import google.auth
            from google.oauth2 import service_account

            if s.keyfile_json:
                info = json.loads(s.keyfile_json)
                creds = service_account.Credentials.from_service_account_info(info, scopes=list(s.scopes))
            elif s.key_path:
                creds = service_account.Credentials.from_service_account_file(s.key_path, scopes=list(s.scopes))
            else:
                creds, _ = google.auth.default(scopes=list(s.scopes))
            if s.impersonation_chain:
                # lazy: keeps Google clients off the parse path
                from google.auth import impersonated_credentials

                *delegates, target = s.impersonation_chain
                creds = impersonated_credentials.Credentials(
                    source_credentials=creds, target_principal=target, delegates=delegates or None,
                    target_scopes=list(s.scopes),
                )
            return creds

    def _client(self, module: str, name: str) -> Any:
        """A Dataproc controller client: insecure gRPC for the emulator, else the regional endpoint."""
        # lazy: keeps Google clients off the parse path
        import grpc  # type: ignore[import-untyped]

        s = self.settings
        client_mod = importlib.import_module(f"google.cloud.dataproc_v1.services.{module}")
        transport_mod = importlib.import_module(f"google.cloud.dataproc_v1.services.{module}.transports.grpc")
        client_cls = getattr(client_mod, f"{name}Client")
        if s.insecure and s.dataproc_endpoint:
            channel = grpc.insecure_channel(s.dataproc_endpoint)
            self._channels.append(channel)
            transport = getattr(transport_mod, f"{name}GrpcTransport")(channel=channel)
            return client_cls(transport=transport)
        endpoint = s.dataproc_endpoint or f"{s.region}-dataproc.googleapis.com:443"
        return client_cls(credentials=self.get_credentials(), client_options={"api_endpoint": endpoint})

    @cached_property
    def clusters(self) -> Any:
        return self._client("cluster_controller", "ClusterController")

    @cached_property
    def jobs(self) -> Any:
        return self._client("job_controller", "JobController")

    @cached_property
    def batches(self) -> Any:
        return self._client("batch_controller", "BatchController")

    @cached_property
    def storage(self) -> Any:
        """A google-cloud-storage client (anonymous against an emulator)."""
        # lazy: keeps Google clients off the parse path
        from google.cloud import storage  # type: ignore[import-untyped]

        s = self.settings
        options = {"api_endpoint": s.storage_endpoint} if s.storage_endpoint else None
        if s.storage_emulated:
            # lazy: keeps Google clients off the parse path
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(project=s.project, credentials=AnonymousCredentials(), client_options=options)
        return storage.Client(project=s.project, credentials=self.get_credentials(), client_options=options)

    def close(self) -> None:
        """Close the gRPC channels this hook opened."""
        for channel in self._channels:
            channel.close()
        self._channels.clear()

    # -- error mapping and retries ---------------------------------------------------------------

    @contextmanager
    def _mapped(self) -> Iterator[None]:
        try:
            yield
        except errors.DataprocError:
            raise
        except Exception as exc:
            raise errors.map_google_error(exc) from exc

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call, mapping errors; retry ``TransientError`` (requests are idempotent)."""
        delay = 1.0
        for attempt in range(self.retries + 1):
            try:
                with self._mapped():
                    return fn(*args, **kwargs)
            except errors.TransientError as exc:
                if attempt >= self.retries:
                    raise
                self.log.warning("transient Dataproc error (%s), retrying in %.0fs", exc.code, delay)
                self._sleep(delay)
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _where(self) -> dict[str, str]:
        return {"project_id": self.project_id, "region": self.region}

    # -- clusters ----------------------------------------------------------------------------------

    def get_cluster(self, name: str) -> Any | None:
        """The cluster, or None when it does not exist."""
        try:
            return self.call(self.clusters.get_cluster, request={**self._where(), "cluster_name": name},
                             timeout=_CALL_TIMEOUT)
        except errors.NotFound:
            return None

    def observe_cluster(self, name: str, expected_labels: Mapping[str, str] | None = None) -> tuple[ObservedCluster, Any]:
        """The cluster as an ``ObservedCluster`` (ownership judged by ``expected_labels``) and the raw message."""
        cluster = self.get_cluster(name)
        if cluster is None:
            return ObservedCluster.absent(), None
        ours = owned_by(dict(cluster.labels), dict(expected_labels)) if expected_labels is not None else True
        return ObservedCluster(exists=True, state=cluster.status.state.name, ours=ours, uuid=cluster.cluster_uuid,
                               detail=cluster.status.detail), cluster

    def create_cluster(self, name: str, config: Mapping[str, Any], labels: Mapping[str, str], request_id: str) -> None:
        """Send CreateCluster without waiting (observe the cluster to follow it); an existing one is fine."""
        cluster = {"project_id": self.project_id, "cluster_name": name, "config": dict(config), "labels": dict(labels)}
        try:
            self.call(self.clusters.create_cluster,
                      request={**self._where(), "cluster": cluster, "request_id": request_id}, timeout=_CALL_TIMEOUT)
        except errors.AlreadyExists:
            self.log.info("cluster %s already exists", name)

    def delete_cluster(self, name: str, cluster_uuid: str | None, request_id: str) -> None:
        """Send DeleteCluster for exactly this uuid (never a same-named newer cluster); absent is fine."""
        request = {**self._where(), "cluster_name": name, "request_id": request_id}
        if cluster_uuid:
            request["cluster_uuid"] = cluster_uuid
        try:
            self.call(self.clusters.delete_cluster, request=request, timeout=_CALL_TIMEOUT)
        except errors.NotFound:
            self.log.info("cluster %s is already gone", name)

    def start_cluster(self, name: str, cluster_uuid: str | None, request_id: str) -> None:
        request = {**self._where(), "cluster_name": name, "request_id": request_id}
        if cluster_uuid:
            request["cluster_uuid"] = cluster_uuid
        self.call(self.clusters.start_cluster, request=request, timeout=_CALL_TIMEOUT)

    def list_clusters(self, labels: Mapping[str, str] | None = None) -> list[Any]:
        """Clusters of the project/region carrying all ``labels`` (filtered here, so any server works)."""
        found = self.call(lambda: list(self.clusters.list_clusters(request=self._where(), timeout=_CALL_TIMEOUT)))
        wanted = dict(labels or {})
        return [c for c in found if all(c.labels.get(k) == v for k, v in wanted.items())]

    # -- jobs --------------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Any | None:
        try:
            return self.call(self.jobs.get_job, request={**self._where(), "job_id": job_id}, timeout=_CALL_TIMEOUT)
        except errors.NotFound:
            return None

    def latest_job_attempt(self, base_id: str, limit: int = 50) -> tuple[ObservedJob | None, Any]:
        """The highest existing attempt of ``base_id`` (looked up in order 1, 2, ...) and its message."""
        latest: tuple[ObservedJob | None, Any] = (None, None)
        for attempt in range(1, limit + 1):
            job = self.get_job(job_attempt_id(base_id, attempt))
            if job is None:
                break
            state = job.status.state.name
            latest = (ObservedJob(attempt=attempt, phase=job_phase(state), state=state), job)
        return latest

    def submit_job(self, job: Mapping[str, Any], request_id: str) -> Any:
        """Submit (idempotent by request_id and job id): an existing job with that id is returned instead."""
        job_id = job["reference"]["job_id"]
        try:
            return self.call(self.jobs.submit_job,
                             request={**self._where(), "job": dict(job), "request_id": request_id}, timeout=_CALL_TIMEOUT)
        except errors.AlreadyExists:
            self.log.info("job %s already exists: attaching to it", job_id)
            found = self.get_job(job_id)
            if found is None:
                raise
            return found

    def cancel_job(self, job_id: str, *, budget: float = 60.0) -> bool:
        """Cancel a job; False (after an error in the log) when it is still active once ``budget`` s are spent.

        Dataproc cancels PENDING and RUNNING jobs only: a job in SETUP_DONE (e.g. queued) refuses with
        FAILED_PRECONDITION. Then the job is read again and, while it is still active, the cancel is
        retried with a growing pause (0.5 s doubling up to 10 s). A job that is gone, finished or
        already being cancelled is fine.
        """
        delay, waited, tries = 0.5, 0.0, 0
        while True:
            tries += 1
            try:
                self.call(self.jobs.cancel_job, request={**self._where(), "job_id": job_id}, timeout=_CALL_TIMEOUT)
                return True
            except errors.NotFound as exc:
                self.log.info("job %s not cancelled: %s", job_id, exc)
                return True
            except errors.PreconditionFailed as exc:
                job = self.get_job(job_id)
                state = job.status.state.name if job is not None else "gone"
                if job is None or job_phase(state) != "active":
                    self.log.info("job %s not cancelled (%s): it is %s", job_id, exc, state)
                    return True
                if waited >= budget:
                    self.log.error("job %s is still %s after %d cancel requests over %.0f s: it KEEPS RUNNING on "
                                   "Dataproc; cancel it by hand (gcloud dataproc jobs kill %s --region %s)",
                                   job_id, state, tries, waited, job_id, self.region)
                    return False
                self.log.warning("job %s is %s and refused the cancel (%s); asking again in %.1f s",
                                 job_id, state, exc, delay)
                self._sleep(delay)
                waited += delay
                delay = min(delay * 2, 10.0)

    # -- batches -----------------------------------------------------------------------------------

    def batch_parent(self) -> str:
        return f"projects/{self.project_id}/locations/{self.region}"

    def get_batch(self, batch_id: str) -> Any | None:
        try:
            return self.call(self.batches.get_batch, request={"name": f"{self.batch_parent()}/batches/{batch_id}"},
                             timeout=_CALL_TIMEOUT)
        except errors.NotFound:
            return None

    def latest_batch_attempt(self, base_id: str, limit: int = 50) -> tuple[ObservedJob | None, Any]:
        latest: tuple[ObservedJob | None, Any] = (None, None)
        for attempt in range(1, limit + 1):
            batch = self.get_batch(batch_attempt_id(base_id, attempt))
            if batch is None:
                break
            state = batch.state.name
            latest = (ObservedJob(attempt=attempt, phase=batch_phase(state), state=state), batch)
        return latest

    def create_batch(self, batch: Mapping[str, Any], batch_id: str, request_id: str) -> None:
        """Send CreateBatch without waiting; an existing batch with that id is fine."""
        try:
            self.call(self.batches.create_batch, request={"parent": self.batch_parent(), "batch": dict(batch),
                                                          "batch_id": batch_id, "request_id": request_id},
                      timeout=_CALL_TIMEOUT)
        except errors.AlreadyExists:
            self.log.info("batch %s already exists: attaching to it", batch_id)

    def cancel_batch(self, batch_id: str) -> None:
        """Cancel a running batch through its long-running operation; finished or absent is fine."""
        batch = self.get_batch(batch_id)
        if batch is None or not batch.operation or batch_phase(batch.state.name) != "active":
            return
        try:
            self.call(self.batches.cancel_operation, request={"name": batch.operation}, timeout=_CALL_TIMEOUT)
        except (errors.NotFound, errors.PreconditionFailed, errors.InvalidRequest) as exc:
            self.log.info("batch %s not cancelled: %s", batch_id, exc)

    # -- buckets -----------------------------------------------------------------------------------
    def ensure_bucket(self, name: str, *, create: bool) -> Any:
        """The bucket ``name`` (a ``storage.Bucket``); when it does not exist, create it if ``create``,
        else raise ``NotFound``."""
        storage = self.storage
        try:
            self.call(storage.get_bucket, name)
        except errors.NotFound:
            if not create:
                raise
            self.log.info("creating bucket gs://%s", name)
            self.call(storage.create_bucket, name, location=None)
        return storage.bucket(name)

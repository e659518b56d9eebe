"""ClusterController: cluster state machines (CREATING→RUNNING/ERROR→DELETING→gone), updates, TTL deletion."""

from __future__ import annotations

import io
import json
import logging
import tarfile
import uuid
from collections.abc import Callable
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.longrunning import operations_pb2 as o  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, field_mask_pb2, json_format  # type: ignore[import-untyped]

from .backend import Backend, ClusterRecord
from .cluster_rules import check_lifecycle, check_uuid, expired, fill_defaults, staging_bucket
from .common import (
    ApiError,
    check_cluster_name,
    check_request_id,
    page,
    parse_filter,
    require,
    timestamp,
)
from .contract import check_labels
from .messages import ClusterOpState, ClusterState, pb
from .operations import OperationRecord

__all__ = ["ClusterService", "staging_bucket"]

log = logging.getLogger(__name__)

_ACTIVE = {"CREATING", "UPDATING", "RUNNING"}
_INACTIVE = {"DELETING", "ERROR", "STOPPING", "STOPPED"}
_UPDATABLE = {
    "labels",
    "config.worker_config.num_instances",
    "config.secondary_worker_config.num_instances",
    "config.lifecycle_config.auto_delete_ttl",
    "config.lifecycle_config.auto_delete_time",
    "config.lifecycle_config.idle_delete_ttl",
    "config.autoscaling_config.policy_uri",
}


class ClusterService:
    """google.cloud.dataproc.v1.ClusterController, on the shared backend."""

    SERVICE = "google.cloud.dataproc.v1.ClusterController"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.on_cluster_gone: list[Callable[[ClusterRecord, str], None]] = []

    def methods(self) -> dict[str, tuple[Callable, type, type]]:
        return {
            "CreateCluster": (self.create_rpc, pb.CreateClusterRequest, o.Operation),
            "UpdateCluster": (self.update_rpc, pb.UpdateClusterRequest, o.Operation),
            "StopCluster": (self.stop_rpc, pb.StopClusterRequest, o.Operation),
            "StartCluster": (self.start_rpc, pb.StartClusterRequest, o.Operation),
            "DeleteCluster": (self.delete_rpc, pb.DeleteClusterRequest, o.Operation),
            "GetCluster": (self.get_rpc, pb.GetClusterRequest, pb.Cluster),
            "ListClusters": (self.list_rpc, pb.ListClustersRequest, pb.ListClustersResponse),
            "DiagnoseCluster": (self.diagnose_rpc, pb.DiagnoseClusterRequest, o.Operation),
        }

    # -- helpers ------------------------------------------------------------------------------
    def _set_state(self, record: ClusterRecord, state: int, detail: str = "") -> None:
        with self.backend.lock:
            if record.pb.HasField("status"):
                record.pb.status_history.add().CopyFrom(record.pb.status)
            record.pb.status.Clear()
            record.pb.status.state = state
            record.pb.status.detail = detail
            record.pb.status.state_start_time.CopyFrom(timestamp(self.backend.clock.now()))
        log.info("cluster %s/%s/%s -> %s %s", record.project, record.region, record.name,
                 ClusterState(state).name, detail)

    def _op_meta(self, record: ClusterRecord, op_type: str, state: int, description: str,
                 previous: Any = None) -> Any:
        meta = pb.ClusterOperationMetadata(
            cluster_name=record.name, cluster_uuid=record.pb.cluster_uuid, operation_type=op_type,
            description=description, labels=dict(record.pb.labels),
        )
        if previous is not None:
            meta.status_history.extend(list(previous.status_history) + [previous.status])
        meta.status.state = state
        meta.status.inner_state = ClusterOpState(state).name
        meta.status.state_start_time.CopyFrom(timestamp(self.backend.clock.now()))
        return meta

    def _start_op(self, record: ClusterRecord, op_type: str, description: str,
                  cancel: Callable[[], None] | None = None) -> tuple[OperationRecord, Any]:
        meta = self._op_meta(record, op_type, ClusterOpState.PENDING, description)
        op = self.backend.ops.create(record.project, record.region, meta, cancel=cancel)
        meta = self._op_meta(record, op_type, ClusterOpState.RUNNING, description, previous=meta)
        self.backend.ops.set_metadata(op, meta)
        return op, meta

    def _finish_op(self, op: OperationRecord, record: ClusterRecord, meta: Any, response: Any = None,
                   error: tuple[grpc.StatusCode, str] | None = None) -> None:
        done = self._op_meta(record, meta.operation_type, ClusterOpState.DONE, meta.description, previous=meta)
        if error:
            done.status.details = error[1]
        self.backend.ops.finish(op, response=response, error=error, metadata=done)

    def _state_name(self, record: ClusterRecord) -> str:
        return ClusterState(record.pb.status.state).name

    # -- create ---------------------------------------------------------------------------------
    def create_rpc(self, request: Any) -> Any:
        op = self.create(request.project_id, request.region, request.cluster, request.request_id)
        return self.backend.ops.snapshot(op)

    def create(self, project: str, region: str, cluster: Any, request_id: str = "",
               extra_labels: dict[str, str] | None = None) -> OperationRecord:
        """Start creating ``cluster``; returns its operation (the same one again for a replayed request id)."""
        require(project, "project_id")
        require(region, "region")
        check_request_id(request_id)
        replay = self.backend.replay("CreateCluster", project, region, request_id)
        if replay is not None:
            return replay  # type: ignore[no-any-return]
        check_cluster_name(cluster.cluster_name)
        if cluster.project_id and cluster.project_id != project:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Cluster project_id '{cluster.project_id}' does not match request project '{project}'")
        check_lifecycle(cluster.config.lifecycle_config)
        check_labels(cluster.labels, "cluster labels")
        key = (project, region, cluster.cluster_name)
        with self.backend.lock:
            if key in self.backend.clusters:
                raise ApiError(grpc.StatusCode.ALREADY_EXISTS,
                               f"Already exists: Failed to create cluster: Cluster "
                               f"projects/{project}/regions/{region}/clusters/{cluster.cluster_name}")
            msg = pb.Cluster()
            msg.CopyFrom(cluster)
            msg.project_id = project
            msg.cluster_uuid = str(uuid.uuid4())
            fill_defaults(msg, project, region)
            msg.labels.update(extra_labels or {})
            record = ClusterRecord(project=project, region=region, pb=msg, create_time=self.backend.clock.now())
            self._set_state(record, ClusterState.CREATING)
            self.backend.clusters[key] = record
            workers = msg.config.worker_config.num_instances
            op, meta = self._start_op(record, "CREATE", f"Create cluster with {workers} workers")
            record.operation = op
            self.backend.remember("CreateCluster", project, region, request_id, op)
        self.backend.stats.bump("clusters_created", cluster.cluster_name)
        self.backend.spawn(self._provision, record, op, meta, name=f"create-{cluster.cluster_name}")
        return op

    def _provision(self, record: ClusterRecord, op: OperationRecord, meta: Any) -> None:
        extra = self.backend.faults.take_slow_create(record.name)
        if not self.backend.sleep(self.backend.delays.cluster_create + extra):
            self._finish_op(op, record, meta, error=(grpc.StatusCode.UNAVAILABLE, "Emulator is shutting down"))
            return
        self.backend.gcs.ensure_bucket(record.bucket)
        self.backend.gcs.ensure_bucket(str(record.pb.config.temp_bucket))
        failure = self.backend.faults.take_cluster_error(record.name)
        code = grpc.StatusCode.INTERNAL
        if failure is None:
            failure = self._missing_init_action(record)
            code = grpc.StatusCode.INVALID_ARGUMENT
        with self.backend.lock:
            if record.pb.status.state != ClusterState.CREATING:
                self._finish_op(op, record, meta, error=(grpc.StatusCode.ABORTED,
                                                         "Cluster was deleted while it was being created"))
                return
            if failure:
                self._set_state(record, ClusterState.ERROR, failure)
                self._finish_op(op, record, meta, error=(code, failure))
                return
            self._set_state(record, ClusterState.RUNNING)
            self.mark_idle(record)
            self._finish_op(op, record, meta, response=self.backend.copy_cluster(record))
        self.backend.runner.cluster_running((record.project, record.region, record.name))

    def _missing_init_action(self, record: ClusterRecord) -> str | None:
        for action in record.pb.config.initialization_actions:
            uri = action.executable_file
            if uri.startswith("gs://"):
                bucket, _, name = uri[5:].partition("/")
                if not self.backend.gcs.bucket_exists(bucket) or not self.backend.gcs.exists(bucket, name):
                    return f"Initialization action failed. Failed action '{uri}': the file does not exist"
        return None

    def mark_idle(self, record: ClusterRecord) -> None:
        """Record that the cluster has no running job from now (lifecycle ``idle_start_time``)."""
        with self.backend.lock:
            if not record.active_jobs:
                record.idle_since = self.backend.clock.now()
                record.pb.config.lifecycle_config.idle_start_time.CopyFrom(timestamp(record.idle_since))

    # -- delete ---------------------------------------------------------------------------------
    def delete_rpc(self, request: Any) -> Any:
        op = self.delete(request.project_id, request.region, request.cluster_name, request.cluster_uuid,
                         request.request_id)
        return self.backend.ops.snapshot(op)

    def delete(self, project: str, region: str, name: str, cluster_uuid: str = "", request_id: str = "",
               reason: str = "") -> OperationRecord:
        """Start deleting a cluster; running jobs on it end in ERROR."""
        check_request_id(request_id)
        replay = self.backend.replay("DeleteCluster", project, region, request_id)
        if replay is not None:
            return replay  # type: ignore[no-any-return]
        record = self.backend.cluster(project, region, name)
        with self.backend.lock:
            check_uuid(record, cluster_uuid)
            if record.pb.status.state == ClusterState.DELETING:
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"Cluster {name} is already being deleted (state DELETING)")
            self._set_state(record, ClusterState.DELETING, reason)
            op, meta = self._start_op(record, "DELETE", "Delete cluster")
            self.backend.remember("DeleteCluster", project, region, request_id, op)
        for callback in self.on_cluster_gone:
            callback(record, reason or "Cluster was deleted while the job was running")
        self.backend.runner.cluster_gone((project, region, name))
        self.backend.spawn(self._teardown, record, op, meta, name=f"delete-{name}")
        return op

    def _teardown(self, record: ClusterRecord, op: OperationRecord, meta: Any) -> None:
        self.backend.sleep(self.backend.delays.cluster_delete)
        with self.backend.lock:
            self.backend.clusters.pop((record.project, record.region, record.name), None)
        self.backend.stats.bump("clusters_deleted", record.name)
        self._finish_op(op, record, meta, response=empty_pb2.Empty())

    # -- update / stop / start --------------------------------------------------------------------
    def update_rpc(self, request: Any) -> Any:
        check_request_id(request.request_id)
        replay = self.backend.replay("UpdateCluster", request.project_id, request.region, request.request_id)
        if replay is not None:
            return self.backend.ops.snapshot(replay)
        record = self.backend.cluster(request.project_id, request.region, request.cluster_name)
        paths = list(request.update_mask.paths)
        if not paths:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid argument: update_mask is required")
        unknown = [p for p in paths if p not in _UPDATABLE]
        if unknown:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Invalid argument: update_mask path(s) {unknown} cannot be updated; "
                           f"allowed: {sorted(_UPDATABLE)}")
        check_lifecycle(request.cluster.config.lifecycle_config)
        if "labels" in paths:
            # the goog-dataproc-* labels Dataproc set are kept whatever the request says: they do not count
            check_labels({k: v for k, v in request.cluster.labels.items() if not k.startswith("goog-")},
                         "cluster labels")
        with self.backend.lock:
            self._require_state(record, ClusterState.RUNNING, "updated")
            mask = field_mask_pb2.FieldMask(paths=paths)
            goog = {k: v for k, v in record.pb.labels.items() if k.startswith("goog-")}
            mask.MergeMessage(request.cluster, record.pb, replace_message_field=True, replace_repeated_field=True)
            record.pb.labels.update(goog)
            self._set_state(record, ClusterState.UPDATING)
            op, meta = self._start_op(record, "UPDATE", f"Update cluster fields {', '.join(paths)}")
            self.backend.remember("UpdateCluster", request.project_id, request.region, request.request_id, op)
        self.backend.spawn(self._transition, record, op, meta, self.backend.delays.cluster_update, ClusterState.RUNNING)
        return self.backend.ops.snapshot(op)

    def stop_rpc(self, request: Any) -> Any:
        return self._stop_start(request, ClusterState.RUNNING, ClusterState.STOPPING, ClusterState.STOPPED,
                                "STOP", self.backend.delays.cluster_stop)

    def start_rpc(self, request: Any) -> Any:
        return self._stop_start(request, ClusterState.STOPPED, ClusterState.STARTING, ClusterState.RUNNING,
                                "START", self.backend.delays.cluster_start)

    def _stop_start(self, request: Any, need: int, during: int, after: int, op_type: str, delay: float) -> Any:
        kind = op_type.title() + "Cluster"
        check_request_id(request.request_id)
        replay = self.backend.replay(kind, request.project_id, request.region, request.request_id)
        if replay is not None:
            return self.backend.ops.snapshot(replay)
        record = self.backend.cluster(request.project_id, request.region, request.cluster_name)
        with self.backend.lock:
            check_uuid(record, request.cluster_uuid)
            self._require_state(record, need, op_type.lower() + "ped" if op_type == "STOP" else "started")
            self._set_state(record, during)
            op, meta = self._start_op(record, op_type, f"{op_type.title()} cluster")
            self.backend.remember(kind, request.project_id, request.region, request.request_id, op)
        self.backend.spawn(self._transition, record, op, meta, delay, after)
        return self.backend.ops.snapshot(op)

    def _transition(self, record: ClusterRecord, op: OperationRecord, meta: Any, delay: float, state: int) -> None:
        self.backend.sleep(delay)
        with self.backend.lock:
            if record.pb.status.state == ClusterState.DELETING:
                self._finish_op(op, record, meta, error=(grpc.StatusCode.ABORTED, "Cluster is being deleted"))
                return
            self._set_state(record, state)
            if state == ClusterState.RUNNING:
                self.mark_idle(record)
            self._finish_op(op, record, meta, response=self.backend.copy_cluster(record))

    def _require_state(self, record: ClusterRecord, state: int, verb: str) -> None:
        if record.pb.status.state != state:
            raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                           f"Cluster {record.name} is in state {self._state_name(record)} and cannot be {verb} "
                           f"(it must be {ClusterState(state).name})")

    # -- read -------------------------------------------------------------------------------------
    def get_rpc(self, request: Any) -> Any:
        require(request.cluster_name, "cluster_name")
        return self.backend.copy_cluster(self.backend.cluster(request.project_id, request.region, request.cluster_name))

    def list_rpc(self, request: Any) -> Any:
        flt = parse_filter(request.filter, ["status.state", "clusterName", "cluster_name"])
        with self.backend.lock:
            records = sorted(
                (r for (p, reg, _), r in self.backend.clusters.items() if p == request.project_id and reg == request.region),
                key=lambda r: r.name,
            )
            matched = [self.backend.copy_cluster(r) for r in records
                       if flt.matches(self._state_name(r), dict(r.pb.labels), r.name, _ACTIVE, _INACTIVE)]
        chunk, token = page(matched, request.page_size, request.page_token)
        return pb.ListClustersResponse(clusters=chunk, next_page_token=token)

    def diagnose_rpc(self, request: Any) -> Any:
        record = self.backend.cluster(request.project_id, request.region, request.cluster_name)
        with self.backend.lock:
            self._require_state(record, ClusterState.RUNNING, "diagnosed")
            op, meta = self._start_op(record, "DIAGNOSE", "Diagnose cluster")
            snapshot = json_format.MessageToDict(record.pb)
        base = request.tarball_gcs_dir.rstrip("/") or (
            f"gs://{record.bucket}/google-cloud-dataproc-metainfo/{record.pb.cluster_uuid}/{uuid.uuid4()}")
        self.backend.spawn(self._diagnose, record, op, meta, base + "/diagnostic.tar.gz", snapshot)
        return self.backend.ops.snapshot(op)

    def _diagnose(self, record: ClusterRecord, op: OperationRecord, meta: Any, uri: str, snapshot: dict) -> None:
        self.backend.sleep(self.backend.delays.cluster_diagnose)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            data = json.dumps(snapshot, indent=2).encode()
            info = tarfile.TarInfo("cluster.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        bucket, _, name = uri[5:].partition("/")
        self.backend.gcs.ensure_bucket(bucket)
        self.backend.gcs.write(bucket, name, buf.getvalue(), "application/x-gzip")
        self._finish_op(op, record, meta, response=pb.DiagnoseClusterResults(output_uri=uri))

    # -- lifecycle ----------------------------------------------------------------------------------
    def reap_expired(self) -> None:
        """Delete RUNNING clusters whose idle/auto-delete TTL or auto-delete time has passed (virtual clock)."""
        now = self.backend.clock.now()
        due: list[tuple[ClusterRecord, str]] = []
        with self.backend.lock:
            for record in self.backend.clusters.values():
                if record.pb.status.state != ClusterState.RUNNING:
                    continue
                why = expired(record, now)
                if why:
                    due.append((record, why))
        for record, why in due:
            try:
                self.delete(record.project, record.region, record.name, reason=why)
            except ApiError:
                continue  # someone else deleted it meanwhile
            self.backend.stats.bump("ttl_deletions", record.name)

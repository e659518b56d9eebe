"""BatchController (Dataproc Serverless): batches run like jobs, PENDING→RUNNING→SUCCEEDED/FAILED/CANCELLED."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.longrunning import operations_pb2 as o  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format  # type: ignore[import-untyped]

from .backend import Backend
from .clusters import staging_bucket
from .common import ApiError, check_request_id, page, parse_filter, timestamp
from .contract import check_labels
from .messages import BatchState, pb
from .operations import OperationRecord
from .runner import RunResult, spec_from_message

__all__ = ["BatchService"]

log = logging.getLogger(__name__)

_PARENT = re.compile(r"^projects/([^/]+)/locations/([^/]+)$")
_BATCH_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$")
_KINDS = {"pyspark_batch": "pyspark_job", "spark_batch": "spark_job", "spark_sql_batch": "spark_sql_job"}
_TERMINAL = {BatchState.SUCCEEDED, BatchState.FAILED, BatchState.CANCELLED}
_ACTIVE = {"PENDING", "RUNNING", "CANCELLING"}
_INACTIVE = {"SUCCEEDED", "FAILED", "CANCELLED"}


@dataclass
class _BatchRecord:
    pb: Any
    project: str
    location: str
    op: OperationRecord | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class BatchService:
    """google.cloud.dataproc.v1.BatchController on the shared backend and job runner."""

    SERVICE = "google.cloud.dataproc.v1.BatchController"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.batches: dict[str, _BatchRecord] = {}

    def methods(self) -> dict[str, tuple[Callable, type, type]]:
        return {
            "CreateBatch": (self.create_rpc, pb.CreateBatchRequest, o.Operation),
            "GetBatch": (self.get_rpc, pb.GetBatchRequest, pb.Batch),
            "ListBatches": (self.list_rpc, pb.ListBatchesRequest, pb.ListBatchesResponse),
            "DeleteBatch": (self.delete_rpc, pb.DeleteBatchRequest, empty_pb2.Empty),
        }

    def create_rpc(self, request: Any) -> Any:
        match = _PARENT.match(request.parent)
        if not match:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Invalid argument: parent '{request.parent}' must be projects/PROJECT/locations/LOCATION")
        project, location = match.groups()
        check_request_id(request.request_id)
        replay = self.backend.replay("CreateBatch", project, location, request.request_id)
        if replay is not None:
            return self.backend.ops.snapshot(replay)
        batch_id = request.batch_id or f"batch-{uuid.uuid4().hex[:12]}"
        if not _BATCH_ID.match(batch_id):
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Invalid argument: batch_id '{batch_id}' must be 4-63 characters of lowercase letters, "
                           "digits and hyphens, starting and ending with a letter or digit")
        check_labels(request.batch.labels, "batch labels")
        if request.batch.WhichOneof("batch_config") is None:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid argument: the batch has no batch config")
        name = f"{request.parent}/batches/{batch_id}"
        with self.backend.lock:
            if name in self.batches:
                raise ApiError(grpc.StatusCode.ALREADY_EXISTS, f"Already exists: Batch {name}")
            msg = pb.Batch()
            msg.CopyFrom(request.batch)
            msg.name, msg.uuid, msg.creator = name, str(uuid.uuid4()), "emulator@local"
            msg.create_time.CopyFrom(timestamp(self.backend.clock.now()))
            bucket = msg.environment_config.execution_config.staging_bucket or staging_bucket(project, location)
            msg.runtime_info.output_uri = (f"gs://{bucket}/google-cloud-dataproc-metainfo/{msg.uuid}/jobs/"
                                           f"srvls-batch-{msg.uuid}/driveroutput")
            record = _BatchRecord(pb=msg, project=project, location=location)
            self._set_state(record, BatchState.PENDING)
            meta = pb.BatchOperationMetadata(batch=name, batch_uuid=msg.uuid, operation_type=1,
                                             description=f"Batch {batch_id}", labels=dict(msg.labels))
            meta.create_time.CopyFrom(msg.create_time)
            record.op = self.backend.ops.create(project, location, meta, cancel=lambda: self._cancel(record))
            msg.operation = record.op.pb.name
            self.batches[name] = record
            self.backend.remember("CreateBatch", project, location, request.request_id, record.op)
        self.backend.spawn(self._execute, record, bucket, name=f"batch-{batch_id}")
        return self.backend.ops.snapshot(record.op)

    def _set_state(self, record: _BatchRecord, state: int, message: str = "") -> None:
        with self.backend.lock:
            msg = record.pb
            if msg.state:
                old = msg.state_history.add(state=msg.state, state_message=msg.state_message)
                old.state_start_time.CopyFrom(msg.state_time)
            msg.state, msg.state_message = state, message
            msg.state_time.CopyFrom(timestamp(self.backend.clock.now()))

    def _cancel(self, record: _BatchRecord) -> None:
        if record.pb.state not in _TERMINAL:
            self._set_state(record, BatchState.CANCELLING)
            record.cancel.set()

    def _execute(self, record: _BatchRecord, bucket: str) -> None:
        try:
            self._execute_stages(record, bucket)
        except Exception as exc:  # an emulator bug must still end the batch, visibly
            log.exception("batch %s failed inside the emulator", record.pb.name)
            self._finish(record, RunResult("ERROR", f"Internal error in the Dataproc emulator: {exc}"))

    def _execute_stages(self, record: _BatchRecord, bucket: str) -> None:
        msg = record.pb
        kind = msg.WhichOneof("batch_config")
        batch_id = msg.name.rsplit("/", 1)[-1]
        self.backend.gcs.ensure_bucket(bucket)
        if not self.backend.sleep(self.backend.delays.batch_pending) or record.cancel.is_set():
            return self._finish(record, RunResult("CANCELLED", "Batch cancelled"))
        if kind not in _KINDS:
            return self._finish(record, RunResult("ERROR", f"{kind} batches are not supported by the local "
                                                           "Dataproc emulator (PySpark, Spark and Spark SQL only)"))
        if not self.backend.runner.acquire_slot(record.cancel):  # a queued batch stays PENDING
            return self._finish(record, RunResult("CANCELLED", "Batch cancelled"))
        try:
            result = self._run_program(record, kind, batch_id)
        finally:
            self.backend.runner.release_slot()
        self._finish(record, result)

    def _run_program(self, record: _BatchRecord, kind: str, batch_id: str) -> RunResult:
        msg = record.pb
        if record.cancel.is_set():
            return RunResult("CANCELLED", "Batch cancelled")
        self._set_state(record, BatchState.RUNNING)
        self.backend.stats.bump("batches_started", batch_id)
        injected = self.backend.faults.take_job_fault(batch_id, json_format.MessageToJson(msg))
        if injected is not None:
            self.backend.runner.write_driver_output(msg.runtime_info.output_uri, f"Injected failure: {injected}\n")
            return RunResult("ERROR", f"Batch failed: {injected}")
        spec = spec_from_message(_KINDS[kind], getattr(msg, kind))
        spec.properties.update(dict(msg.runtime_config.properties))
        return self.backend.runner.run(spec, msg.uuid, msg.runtime_info.output_uri, record.cancel)

    def _finish(self, record: _BatchRecord, result: RunResult) -> None:
        state = {"DONE": BatchState.SUCCEEDED, "ERROR": BatchState.FAILED, "CANCELLED": BatchState.CANCELLED}
        final = state[result.state]
        self._set_state(record, final, result.details)
        assert record.op is not None
        meta = pb.BatchOperationMetadata()
        record.op.pb.metadata.Unpack(meta)
        meta.done_time.CopyFrom(timestamp(self.backend.clock.now()))
        if final == BatchState.SUCCEEDED:
            self.backend.ops.finish(record.op, response=self._copy(record), metadata=meta)
        else:
            code = grpc.StatusCode.CANCELLED if final == BatchState.CANCELLED else grpc.StatusCode.UNKNOWN
            self.backend.ops.finish(record.op, error=(code, result.details or "Batch cancelled"), metadata=meta)

    def _copy(self, record: _BatchRecord) -> Any:
        with self.backend.lock:
            out = pb.Batch()
            out.CopyFrom(record.pb)
            return out

    def _get(self, name: str) -> _BatchRecord:
        with self.backend.lock:
            record = self.batches.get(name)
        if record is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Not found: Batch {name}")
        return record

    def get_rpc(self, request: Any) -> Any:
        return self._copy(self._get(request.name))

    def list_rpc(self, request: Any) -> Any:
        flt = parse_filter(request.filter, ["state", "status.state"])
        flt.terms = [("status.state" if k == "state" else k, v) for k, v in flt.terms]
        with self.backend.lock:
            items = [self._copy(r) for n, r in sorted(self.batches.items(), key=lambda kv: kv[1].pb.create_time.seconds)
                     if n.startswith(request.parent + "/")
                     and flt.matches(BatchState(r.pb.state).name, dict(r.pb.labels), "", _ACTIVE, _INACTIVE)]
        chunk, token = page(items, request.page_size, request.page_token)
        return pb.ListBatchesResponse(batches=chunk, next_page_token=token)

    def delete_rpc(self, request: Any) -> Any:
        record = self._get(request.name)
        with self.backend.lock:
            if record.pb.state not in _TERMINAL:
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"Batch {request.name} is in state {BatchState(record.pb.state).name}; "
                               "only finished batches can be deleted")
            self.batches.pop(request.name, None)
        return empty_pb2.Empty()

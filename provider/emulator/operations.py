"""Long-running operations: the store every service records its work in, and the google.longrunning service.

The service has the methods Dataproc's ``projects.regions.operations`` resource has (Get, List with its
filter, Cancel, Delete); ``WaitOperation`` is not one of them, so the emulator answers UNIMPLEMENTED.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc  # type: ignore[import-untyped]
from google.longrunning import operations_pb2  # type: ignore[import-untyped]
from google.protobuf import any_pb2, empty_pb2  # type: ignore[import-untyped]
from google.protobuf.message import Message  # type: ignore[import-untyped]
from google.rpc import status_pb2  # type: ignore[import-untyped]

from .common import ApiError, page
from .control import Stats
from .operation_filter import parse_operation_filter

__all__ = ["OperationRecord", "OperationStore", "OperationsService"]


@dataclass
class OperationRecord:
    """One operation; ``cancel`` is the hook CancelOperation calls (None: the operation cannot be cancelled)."""

    pb: operations_pb2.Operation
    cancel: Callable[[], None] | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class OperationStore:
    """Thread-safe operations keyed by name ``projects/P/regions/R/operations/UUID``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ops: dict[str, OperationRecord] = {}

    def create(self, project: str, region: str, metadata: Message,
               cancel: Callable[[], None] | None = None) -> OperationRecord:
        name = f"projects/{project}/regions/{region}/operations/{uuid.uuid4()}"
        pb = operations_pb2.Operation(name=name)
        pb.metadata.Pack(metadata)
        record = OperationRecord(pb=pb, cancel=cancel)
        with self._lock:
            self._ops[name] = record
        return record

    def set_metadata(self, record: OperationRecord, metadata: Message) -> None:
        with self._lock:
            record.pb.metadata.Pack(metadata)

    def finish(self, record: OperationRecord, response: Message | None = None,
               error: tuple[grpc.StatusCode, str] | None = None, metadata: Message | None = None) -> None:
        """Mark done with a response (default ``Empty``) or an error ``(code, message)``; idempotent."""
        with self._lock:
            if record.pb.done:
                return
            if metadata is not None:
                record.pb.metadata.Pack(metadata)
            if error is not None:
                code, message = error
                record.pb.error.CopyFrom(status_pb2.Status(code=code.value[0], message=message))
            else:
                packed = any_pb2.Any()
                packed.Pack(response if response is not None else empty_pb2.Empty())
                record.pb.response.CopyFrom(packed)
            record.pb.done = True
            record.cancel = None
        record.finished.set()

    def get(self, name: str) -> OperationRecord:
        with self._lock:
            record = self._ops.get(name)
        if record is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Not found: Operation {name}")
        return record

    def snapshot(self, record: OperationRecord) -> operations_pb2.Operation:
        with self._lock:
            copy = operations_pb2.Operation()
            copy.CopyFrom(record.pb)
            return copy

    def list(self, prefix: str) -> list[operations_pb2.Operation]:
        with self._lock:
            records = [r for n, r in self._ops.items() if n.startswith(prefix)]
        return [self.snapshot(r) for r in records]

    def delete(self, name: str) -> None:
        with self._lock:
            if self._ops.pop(name, None) is None:
                raise ApiError(grpc.StatusCode.NOT_FOUND, f"Not found: Operation {name}")


class OperationsService:
    """google.longrunning.Operations: what the client's ``operation.result()`` polls."""

    SERVICE = "google.longrunning.Operations"

    def __init__(self, store: OperationStore, stopping: threading.Event | None = None, stats: Stats | None = None) -> None:
        self.store = store
        self.stopping = stopping or threading.Event()
        self.stats = stats  # control.Stats: counts the filters ListOperations receives

    def methods(self) -> dict[str, tuple[Callable, type, type]]:
        o = operations_pb2
        return {
            "GetOperation": (self.get, o.GetOperationRequest, o.Operation),
            "ListOperations": (self.list, o.ListOperationsRequest, o.ListOperationsResponse),
            "CancelOperation": (self.cancel, o.CancelOperationRequest, empty_pb2.Empty),
            "DeleteOperation": (self.delete, o.DeleteOperationRequest, empty_pb2.Empty),
        }

    def get(self, request: operations_pb2.GetOperationRequest) -> operations_pb2.Operation:
        return self.store.snapshot(self.store.get(request.name))

    def list(self, request: operations_pb2.ListOperationsRequest) -> operations_pb2.ListOperationsResponse:
        flt = parse_operation_filter(request.filter)
        if self.stats is not None:
            self.stats.bump("operation_filters", request.filter)
        prefix = request.name.rstrip("/") + "/" if request.name else ""
        ops = [op for op in sorted(self.store.list(prefix), key=lambda op: op.name) if flt.matches(op)]
        chunk, token = page(ops, request.page_size, request.page_token)
        return operations_pb2.ListOperationsResponse(operations=chunk, next_page_token=token)

    def cancel(self, request: operations_pb2.CancelOperationRequest) -> empty_pb2.Empty:
        record = self.store.get(request.name)
        if record.pb.done:
            return empty_pb2.Empty()
        if record.cancel is None:
            raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                           f"Operation {request.name} cannot be cancelled")
        record.cancel()
        return empty_pb2.Empty()

    def delete(self, request: operations_pb2.DeleteOperationRequest) -> empty_pb2.Empty:
        self.store.delete(request.name)
        return empty_pb2.Empty()

"""Starts the Dataproc gRPC emulator, the GCS emulator and the admin endpoint on 127.0.0.1: ``start_emulators``."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any, Protocol

import grpc  # type: ignore[import-untyped]

from .admin import AdminServer
from .backend import DEFAULT_REQUEST_ID_RETENTION, Backend
from .batches import BatchService
from .clusters import ClusterService
from .common import ApiError
from .control import Clock, Delays, Faults, Stats
from .gcs import GcsEmulator, GcsStore
from .jobs import JobService
from .operations import OperationsService
from .runner import JobRunner
from .workflows import WorkflowService

__all__ = ["EmulatorHandle", "start_emulators"]

log = logging.getLogger(__name__)


class _Service(Protocol):
    SERVICE: str

    def methods(self) -> dict[str, tuple[Callable, type, type]]: ...


class EmulatorHandle:
    """A running pair of emulators. Use as a context manager, or call ``stop()``.

    Attributes: ``dataproc_host`` ("127.0.0.1:PORT", insecure gRPC), ``gcs_host``
    ("http://127.0.0.1:PORT"), ``admin_url`` (admin HTTP JSON), ``faults`` (:class:`Faults`),
    ``stats`` (:class:`Stats`), ``clock`` (:class:`Clock`, for lifecycle TTLs), ``delays``,
    ``project`` and ``backend`` (the in-memory state, for white-box inspection).
    """

    def __init__(self, backend: Backend, grpc_server: grpc.Server, dataproc_port: int, gcs: GcsEmulator,
                 admin: AdminServer, work_dir: Path, own_work_dir: bool) -> None:
        self.backend = backend
        self.project = backend.project
        self.faults: Faults = backend.faults
        self.stats: Stats = backend.stats
        self.clock: Clock = backend.clock
        self.delays: Delays = backend.delays
        self.dataproc_host = f"127.0.0.1:{dataproc_port}"
        self.gcs_host = gcs.host
        self.admin_url = admin.url
        self.work_dir = work_dir
        self._grpc = grpc_server
        self._gcs = gcs
        self._admin = admin
        self._own_work_dir = own_work_dir
        self._stopped = False
        self._reaper = threading.Thread(target=self._reap_loop, name="emulator-lifecycle", daemon=True)
        self._reaper.start()

    def env(self) -> dict[str, str]:
        """``DATAPROC_EMULATOR_HOST`` and ``STORAGE_EMULATOR_HOST`` for clients in other processes."""
        return {"DATAPROC_EMULATOR_HOST": self.dataproc_host, "STORAGE_EMULATOR_HOST": self.gcs_host}

    def set_warm_spark(self, on: bool) -> None:
        """Turn warm Spark on or off for clusters that become RUNNING from now on (see README: Warm Spark)."""
        if self.backend.runner.warm is not None:
            self.backend.runner.warm.enabled = on

    def reset(self) -> None:
        """Clear pending faults and zero the counters (state such as clusters is kept)."""
        self.faults.clear()
        self.stats.reset()

    def _reap_loop(self) -> None:
        while not self.backend.stopping.wait(0.05):
            try:
                self.backend.clusters_service.reap_expired()  # type: ignore[attr-defined]
            except Exception:  # keep the lifecycle loop alive, but never silently
                log.exception("lifecycle check failed")

    def stop(self) -> None:
        """Kill running jobs, stop all servers and remove the scratch folder; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.backend.stopping.set()
        with self.backend.lock:
            for record in self.backend.jobs.values():
                record.cancel.set()
        self._grpc.stop(grace=0.5).wait(5)
        self._admin.stop()
        self.backend.join_workers(10)
        self._reaper.join(2)
        self.backend.runner.close()  # no warm Spark driver outlives the emulator
        self._gcs.stop()
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _rpc(backend: Backend, method: str, fn: Callable[[Any], Any], request_cls: Any,
         response_cls: Any) -> grpc.RpcMethodHandler:
    """A unary handler: count the call, apply injected faults, map ApiError to a gRPC status."""

    def call(request: Any, context: grpc.ServicerContext) -> Any:
        backend.stats.bump("calls", method)
        fault = backend.faults.take_method_fault(method, after=False)
        if fault is not None:
            context.abort(fault.code, fault.message)
        try:
            response = fn(request)
        except ApiError as err:
            context.abort(err.code, err.message)
        except Exception as exc:  # a bug in the emulator: report it to the client as INTERNAL
            log.exception("%s failed", method)
            context.abort(grpc.StatusCode.INTERNAL, f"emulator error in {method}: {exc}")
        fault = backend.faults.take_method_fault(method, after=True)
        if fault is not None:
            context.abort(fault.code, fault.message)
        return response

    return grpc.unary_unary_rpc_method_handler(
        call, request_deserializer=request_cls.FromString, response_serializer=response_cls.SerializeToString
    )


def start_emulators(
    dataproc_port: int = 0,
    gcs_port: int = 0,
    project: str = "local-project",
    delays: Delays | dict[str, float] | float | None = None,
    spark: bool = True,
    *,
    admin_port: int = 0,
    gcs_data_dir: str | Path | None = None,
    work_dir: str | Path | None = None,
    time_scale: float = 1.0,
    job_slots: int = 1,
    strict_buckets: bool = False,
    warm_spark: int | bool = False,
    max_workers: int = 32,
    request_id_retention: float = DEFAULT_REQUEST_ID_RETENTION,
    workflow_replay: str = "retained",
) -> EmulatorHandle:
    """Start the Dataproc (gRPC), GCS and admin servers on 127.0.0.1; port 0 picks a free port.

    ``delays``: None (fast defaults), a :class:`Delays`, a dict of overrides, or a scale factor.
    ``spark=False`` accepts supported jobs and marks them DONE without running them.
    ``gcs_data_dir`` persists GCS objects (default: in memory). ``time_scale`` speeds up the
    virtual clock used for lifecycle TTLs. ``job_slots`` caps concurrent local Spark jobs.
    ``strict_buckets``: a job writing to a bucket that does not exist fails, as on Dataproc; by
    default the bucket is created and the driver output carries a warning. ``warm_spark`` (True or a
    count N) keeps N Spark drivers started ahead per RUNNING cluster: PySpark and SQL jobs skip the JVM start.
    ``request_id_retention``: virtual seconds a request_id replays its first result.
    ``workflow_replay``: "retained" (a workflow request_id replays for the whole retention) or
    "concurrent" (only while that workflow runs); change both later with ``backend.set_replay``.
    """
    try:
        gcs = GcsEmulator(gcs_port, gcs_data_dir)
    except OSError as exc:
        raise OSError(f"cannot start the GCS emulator on 127.0.0.1:{gcs_port}: {exc}") from exc
    own = work_dir is None
    scratch = Path(tempfile.mkdtemp(prefix="dataproc-emulator-")) if own else Path(work_dir)  # type: ignore[arg-type]
    delay_values = Delays.coerce(delays)
    store = GcsStore(gcs.host, project)
    runner = JobRunner(store, scratch, spark=spark, flush_interval=delay_values.driver_flush_interval,
                       slots=job_slots, simulated_run=delay_values.job_simulated_run,
                       strict_buckets=strict_buckets, warm=int(warm_spark))
    backend = Backend(project, Clock(time_scale), delay_values, Faults(), Stats(), store, runner)
    backend.set_replay(retention=request_id_retention, workflow=workflow_replay)
    clusters = ClusterService(backend)
    jobs = JobService(backend, clusters)
    workflows = WorkflowService(backend, clusters, jobs)
    batches = BatchService(backend)
    backend.clusters_service = clusters  # type: ignore[attr-defined]
    operations = OperationsService(backend.ops, backend.stopping, backend.stats)
    services: list[_Service] = [clusters, jobs, workflows, batches, operations]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dataproc-rpc"))
    for service in services:
        handlers = {name: _rpc(backend, name, *spec) for name, spec in service.methods().items()}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.SERVICE, handlers),))
    try:
        port = server.add_insecure_port(f"127.0.0.1:{dataproc_port}")
        if port == 0:
            raise RuntimeError("no address bound")
        admin = AdminServer(backend, admin_port)
    except (RuntimeError, OSError) as exc:
        server.stop(None)
        gcs.stop()
        if own:
            shutil.rmtree(scratch, ignore_errors=True)
        raise OSError(f"cannot start the Dataproc emulator on 127.0.0.1 (port {dataproc_port}, admin port "
                      f"{admin_port}): {exc}") from exc
    server.start()
    return EmulatorHandle(backend, server, port, gcs, admin, scratch, own)

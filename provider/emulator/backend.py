"""The emulator's shared in-memory state: clusters, jobs, operations, request-id replays, and test controls."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc  # type: ignore[import-untyped]

from .common import ApiError
from .control import Clock, Delays, Faults, Stats
from .gcs import GcsStore
from .messages import pb
from .operations import OperationRecord, OperationStore

if TYPE_CHECKING:
    from .runner import JobRunner

__all__ = ["Backend", "ClusterRecord", "JobRecord", "DEFAULT_REQUEST_ID_RETENTION", "WORKFLOW_REPLAY_MODES"]

# Dataproc documents no retention for request ids; the shortest Google APIs promise is "at least
# 60 minutes since the first request" (AIP-155 wording, e.g. the NetApp/AlloyDB/Compute request_id).
DEFAULT_REQUEST_ID_RETENTION = 3600.0
WORKFLOW_REPLAY_MODES = ("retained", "concurrent")

log = logging.getLogger(__name__)


@dataclass
class ClusterRecord:
    """A cluster and what the emulator tracks beside its message."""

    project: str
    region: str
    pb: Any  # pb.Cluster
    create_time: float
    active_jobs: set[str] = field(default_factory=set)
    idle_since: float | None = None
    operation: OperationRecord | None = None

    @property
    def name(self) -> str:
        return str(self.pb.cluster_name)

    @property
    def bucket(self) -> str:
        return str(self.pb.config.config_bucket)


@dataclass
class JobRecord:
    """A job (or a batch run) and the handles to cancel it."""

    project: str
    region: str
    pb: Any  # pb.Job
    cluster_key: tuple[str, str, str] | None
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    operation: OperationRecord | None = None
    cancel_reason: str = ""

    @property
    def job_id(self) -> str:
        return str(self.pb.reference.job_id)


class Backend:
    """Everything the gRPC services share; one lock guards the dictionaries and the messages in them."""

    def __init__(self, project: str, clock: Clock, delays: Delays, faults: Faults, stats: Stats,
                 gcs: GcsStore, runner: JobRunner) -> None:
        self.project = project
        self.clock = clock
        self.delays = delays
        self.faults = faults
        self.stats = stats
        self.gcs = gcs
        self.runner = runner
        self.lock = threading.RLock()
        self.clusters: dict[tuple[str, str, str], ClusterRecord] = {}
        self.jobs: dict[tuple[str, str, str], JobRecord] = {}
        self.ops = OperationStore()
        # request_id -> (value, virtual time first seen); kept ``request_id_retention`` virtual seconds
        self.replays: dict[tuple[str, ...], tuple[Any, float]] = {}
        self.request_id_retention = DEFAULT_REQUEST_ID_RETENTION
        # "retained": a workflow's request_id replays its operation for the whole retention, even once done;
        # "concurrent": only while it runs (all Dataproc documents: the tag prevents *concurrent* instances)
        self.workflow_replay = "retained"
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- threads and time ---------------------------------------------------------------
    def spawn(self, target: Callable[..., None], *args: Any, name: str = "emulator-worker") -> None:
        """Run ``target`` in a daemon thread; exceptions are logged, never lost silently."""

        def run() -> None:
            try:
                target(*args)
            except Exception:  # a worker must never die quietly: log with traceback
                log.exception("emulator worker %s failed", name)

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def sleep(self, seconds: float) -> bool:
        """Sleep real ``seconds``; False if the emulator is stopping."""
        return not self.stopping.wait(max(0.0, seconds))

    def join_workers(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in total for worker threads to end."""
        deadline = time.monotonic() + timeout
        with self.lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait_done(self, op: OperationRecord, timeout: float | None = None) -> bool:
        """Wait until ``op`` is done; False on timeout or when the emulator stops."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not op.finished.wait(0.1):
            if self.stopping.is_set() or (deadline is not None and time.monotonic() >= deadline):
                return False
        return True

    # -- request ids --------------------------------------------------------------------------
    def replay(self, kind: str, project: str, region: str, request_id: str) -> Any:
        """The value stored for this request id within the retention, or None (empty ids never replay)."""
        if not request_id:
            return None
        key = (kind, project, region, request_id)
        with self.lock:
            found = self.replays.get(key)
            if found is None:
                return None
            value, since = found
            if self.clock.now() - since >= self.request_id_retention:
                del self.replays[key]  # forgotten: the same id now does the work again
                return None
            return value

    def remember(self, kind: str, project: str, region: str, request_id: str, value: Any) -> None:
        if request_id:
            with self.lock:
                self.replays[(kind, project, region, request_id)] = (value, self.clock.now())

    def set_replay(self, *, retention: float | None = None, workflow: str | None = None) -> None:
        """Change how request ids replay: ``retention`` virtual seconds, ``workflow`` 'retained' | 'concurrent'."""
        if retention is not None:
            if retention <= 0:
                raise ValueError("the request_id retention must be positive")
            self.request_id_retention = float(retention)
        if workflow is not None:
            if workflow not in WORKFLOW_REPLAY_MODES:
                raise ValueError(f"workflow replay must be one of {WORKFLOW_REPLAY_MODES}, not {workflow!r}")
            self.workflow_replay = workflow

    # -- lookups --------------------------------------------------------------------------------
    def cluster(self, project: str, region: str, name: str) -> ClusterRecord:
        with self.lock:
            record = self.clusters.get((project, region, name))
        if record is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND,
                           f"Not found: Cluster projects/{project}/regions/{region}/clusters/{name}")
        return record

    def job(self, project: str, region: str, job_id: str) -> JobRecord:
        with self.lock:
            record = self.jobs.get((project, region, job_id))
        if record is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND,
                           f"Not found: Job projects/{project}/regions/{region}/jobs/{job_id}")
        return record

    def copy_cluster(self, record: ClusterRecord) -> Any:
        with self.lock:
            out = pb.Cluster()
            out.CopyFrom(record.pb)
            return out

    def copy_job(self, record: JobRecord) -> Any:
        with self.lock:
            out = pb.Job()
            out.CopyFrom(record.pb)
            return out

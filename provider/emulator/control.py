"""Test controls of the emulator: the virtual clock, state-machine delays, fault injection and call counters."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import grpc  # type: ignore[import-untyped]

__all__ = ["Clock", "Delays", "Faults", "MethodFault", "Stats", "parse_code"]


class Clock:
    """Virtual wall clock used for timestamps and lifecycle TTLs.

    ``now()`` is real time, sped up ``scale`` times since the clock was made, plus every
    ``advance(seconds)`` jump. Tests call ``advance(601)`` to make a 10-minute TTL expire at once.
    Delays of state transitions are real sleeps and are not affected by this clock.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._real0 = time.time()
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self.scale = scale

    def now(self) -> float:
        """Seconds since the epoch on the virtual clock."""
        with self._lock:
            return self._real0 + (time.monotonic() - self._mono0) * self.scale + self._offset

    def advance(self, seconds: float) -> float:
        """Jump the virtual clock forward by ``seconds``; returns the new ``now()``."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def set_scale(self, scale: float) -> None:
        """Change the speed of virtual time without a jump (``scale=60``: a minute per real second)."""
        if scale <= 0:
            raise ValueError("scale must be positive")
        with self._lock:
            mono = time.monotonic()
            current = self._real0 + (mono - self._mono0) * self.scale + self._offset
            self._real0, self._mono0, self._offset, self.scale = current, mono, 0.0, scale


@dataclass(frozen=True)
class Delays:
    """Real seconds each state transition takes; defaults are fast for tests.

    ``scaled(x)`` multiplies every delay (the CLI's ``--delay-scale``; a demo may use 20 to make a
    cluster take two seconds to create, like a slow motion of Dataproc).
    """

    cluster_create: float = 0.1
    cluster_delete: float = 0.05
    cluster_update: float = 0.05
    cluster_stop: float = 0.05
    cluster_start: float = 0.05
    cluster_diagnose: float = 0.05
    job_pending: float = 0.03
    job_setup: float = 0.03
    job_simulated_run: float = 0.05
    batch_pending: float = 0.05
    driver_flush_interval: float = 0.3

    def scaled(self, factor: float) -> Delays:
        """A copy with every delay multiplied by ``factor`` (the flush interval is kept)."""
        values = {f.name: getattr(self, f.name) * factor for f in fields(self) if f.name != "driver_flush_interval"}
        return replace(self, **values)

    @classmethod
    def coerce(cls, value: Delays | dict[str, float] | float | None) -> Delays:
        """Accept ``None`` (defaults), a ``Delays``, a dict of overrides or a scale factor."""
        if value is None:
            return cls()
        if isinstance(value, Delays):
            return value
        if isinstance(value, (int, float)):
            return cls().scaled(float(value))
        return replace(cls(), **value)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def parse_code(code: grpc.StatusCode | str | int) -> grpc.StatusCode:
    """A gRPC status code from a ``StatusCode``, its name (``"UNAVAILABLE"``) or number (14)."""
    if isinstance(code, grpc.StatusCode):
        return code
    for candidate in grpc.StatusCode:
        if isinstance(code, int) and candidate.value[0] == code:
            return candidate
        if isinstance(code, str) and candidate.name == code.upper():
            return candidate
    raise ValueError(f"unknown gRPC status code {code!r}")


@dataclass
class MethodFault:
    """Fail RPC ``method`` with ``code`` the next ``times`` calls.

    ``after=False`` fails before any work is done (the server was unreachable); ``after=True`` does
    the work and then fails the reply (the reply was lost), which is what request ids protect against.
    """

    method: str
    code: grpc.StatusCode
    times: int
    message: str = "injected fault"
    after: bool = False


@dataclass
class _JobFault:
    job_id: str | None
    marker: str | None
    message: str
    times: int


@dataclass
class _ClusterFault:
    cluster_name: str | None
    detail: str
    times: int


@dataclass
class _SlowCreate:
    cluster_name: str | None
    seconds: float
    times: int


class Faults:
    """Fault injection, shared by the in-process API and the admin HTTP endpoint; ``clear()`` resets all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._methods: list[MethodFault] = []
        self._jobs: list[_JobFault] = []
        self._restarts: list[_JobFault] = []
        self._clusters: list[_ClusterFault] = []
        self._slow: list[_SlowCreate] = []

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._methods.clear()
            self._jobs.clear()
            self._restarts.clear()
            self._clusters.clear()
            self._slow.clear()

    def fail_method(
        self,
        method: str,
        code: grpc.StatusCode | str | int = grpc.StatusCode.UNAVAILABLE,
        times: int = 1,
        message: str = "injected fault",
        after: bool = False,
    ) -> None:
        """Make the next ``times`` calls of RPC ``method`` (short name, e.g. ``"CreateCluster"``) fail."""
        with self._lock:
            self._methods.append(MethodFault(method, parse_code(code), times, message, after))

    def take_method_fault(self, method: str, after: bool) -> MethodFault | None:
        """Consume one pending fault for ``method`` at the given stage (used by the RPC layer)."""
        with self._lock:
            for fault in self._methods:
                if fault.method == method and fault.after == after and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def fail_job(
        self, job_id: str | None = None, marker: str | None = None, message: str = "injected job failure",
        times: int = 1,
    ) -> None:
        """Make a job (by id, or any job whose definition contains ``marker``) end in ERROR when it runs.

        With neither ``job_id`` nor ``marker`` the next job that runs fails. Batches match on their
        batch id. The job counts as started (``stats.jobs_started``) but its program is not run.
        """
        with self._lock:
            self._jobs.append(_JobFault(job_id, marker, message, times))

    def restart_driver(self, job_id: str | None = None, marker: str | None = None,
                       message: str = "injected driver failure", times: int = 1) -> None:
        """Make a job's first driver attempt fail (matched like ``fail_job``).

        A restartable job (``scheduling.max_failures_per_hour`` or ``max_failures_total`` set) goes
        through ATTEMPT_FAILURE and runs again with a new ``driver_output_resource_uri``, as Dataproc
        restarts a driver; any other job ends in ERROR.
        """
        with self._lock:
            self._restarts.append(_JobFault(job_id, marker, message, times))

    def take_driver_restart(self, job_id: str, text: str) -> str | None:
        """The injected driver failure for this job, if any (consumes one use)."""
        return self._take(self._restarts, job_id, text)

    def take_job_fault(self, job_id: str, text: str) -> str | None:
        """The injected failure message for this job, if any (consumes one use)."""
        return self._take(self._jobs, job_id, text)

    def _take(self, faults: list[_JobFault], job_id: str, text: str) -> str | None:
        with self._lock:
            for fault in faults:
                if fault.times <= 0:
                    continue
                if fault.job_id is not None and fault.job_id != job_id:
                    continue
                if fault.marker is not None and fault.marker not in text:
                    continue
                fault.times -= 1
                return fault.message
        return None

    def cluster_error(self, cluster_name: str | None = None, detail: str = "injected cluster failure",
                      times: int = 1) -> None:
        """Make the next created cluster (or the next one named ``cluster_name``) land in ERROR."""
        with self._lock:
            self._clusters.append(_ClusterFault(cluster_name, detail, times))

    def take_cluster_error(self, cluster_name: str) -> str | None:
        with self._lock:
            for fault in self._clusters:
                if fault.times > 0 and fault.cluster_name in (None, cluster_name):
                    fault.times -= 1
                    return fault.detail
        return None

    def slow_create(self, seconds: float, cluster_name: str | None = None, times: int = 1) -> None:
        """Add ``seconds`` of real time to the next cluster creation (or the next one named so)."""
        with self._lock:
            self._slow.append(_SlowCreate(cluster_name, seconds, times))

    def take_slow_create(self, cluster_name: str) -> float:
        with self._lock:
            for fault in self._slow:
                if fault.times > 0 and fault.cluster_name in (None, cluster_name):
                    fault.times -= 1
                    return fault.seconds
        return 0.0

    def snapshot(self) -> dict[str, Any]:
        """Pending faults as plain data (for the admin endpoint)."""
        with self._lock:
            return {
                "methods": [
                    {"method": f.method, "code": f.code.name, "times": f.times, "after": f.after}
                    for f in self._methods if f.times > 0
                ],
                "jobs": [asdict(f) for f in self._jobs if f.times > 0],
                "clusters": [asdict(f) for f in self._clusters if f.times > 0],
                "slow_create": [asdict(f) for f in self._slow if f.times > 0],
            }


@dataclass
class Stats:
    """Counters: RPC calls per short method name, jobs started per job id, clusters created per name.

    ``jobs_started`` counts executions that reached RUNNING (a job that ran once has count 1, even if
    the client retried SubmitJob). ``clusters_deleted`` counts completed deletions (by request or TTL).
    """

    calls: Counter[str] = field(default_factory=Counter)
    jobs_started: Counter[str] = field(default_factory=Counter)
    batches_started: Counter[str] = field(default_factory=Counter)
    clusters_created: Counter[str] = field(default_factory=Counter)
    clusters_deleted: Counter[str] = field(default_factory=Counter)
    ttl_deletions: Counter[str] = field(default_factory=Counter)
    operation_filters: Counter[str] = field(default_factory=Counter)  # ListOperations calls per filter text
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bump(self, counter: str, key: str) -> None:
        with self._lock:
            getattr(self, counter)[key] += 1

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            for name in ("calls", "jobs_started", "batches_started", "clusters_created", "clusters_deleted",
                         "ttl_deletions", "operation_filters"):
                getattr(self, name).clear()

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                name: dict(getattr(self, name))
                for name in ("calls", "jobs_started", "batches_started", "clusters_created", "clusters_deleted",
                             "ttl_deletions", "operation_filters")
            }

"""Deferrable waits: a cluster settling (created / started / deleted), a job or a batch ending.

Triggers only *observe* (GetCluster / GetJob / GetBatch, and the job's driver output, which they
log); they never create, submit or delete, so a triggerer restart that runs one again duplicates no
work. They serialize plain values only and yield exactly one event whose payload is a
``ClusterEvent`` or ``JobEvent`` dict; ``echo`` carries the operator's own plain state back to it
(Airflow's ``dag.test()`` replaces the ``kwargs`` given to ``defer`` with the event).
The synchronous hook runs in a worker thread (``asyncio.to_thread``), which works the same against
Google and against the local emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypedDict

from ..compat import BaseTrigger, TriggerEvent
from ..errors import DataprocError
from ..hooks.dataproc import DataprocHook
from ..lifecycle import CLUSTER_WAIT_STATES, batch_phase, job_phase
from ..storage import DriverOutput, follow_output

__all__ = ["ClusterEvent", "JobEvent", "DataprocClusterTrigger", "DataprocJobTrigger", "DataprocBatchTrigger"]

_P = "dagspec.provider.triggers.dataproc"


class ClusterEvent(TypedDict):
    status: str  # "settled" | "error"
    cluster_name: str
    exists: bool
    state: str | None
    message: str
    echo: dict[str, Any]


class JobEvent(TypedDict):
    status: str  # "ended" | "error"
    id: str
    state: str | None
    message: str
    echo: dict[str, Any]


class _Base(BaseTrigger):
    """Common plain fields of the provider's triggers."""

    def __init__(self, *, project_id: str, region: str, gcp_conn_id: str, poll_interval: float = 5.0,
                 echo: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.project_id = project_id
        self.region = region
        self.gcp_conn_id = gcp_conn_id
        self.poll_interval = poll_interval
        self.echo = dict(echo or {})

    def _common(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "region": self.region, "gcp_conn_id": self.gcp_conn_id,
                "poll_interval": self.poll_interval, "echo": self.echo}

    def _hook(self) -> Any:
        return DataprocHook(self.gcp_conn_id, project_id=self.project_id, region=self.region)


class DataprocClusterTrigger(_Base):
    """Waits until a cluster is absent or in a state that is not a transition (RUNNING, ERROR, STOPPED ...)."""

    def __init__(self, *, cluster_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster_name = cluster_name

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{_P}.DataprocClusterTrigger", {"cluster_name": self.cluster_name, **self._common()}

    def _event(self, status: str, exists: bool, state: str | None, message: str = "") -> TriggerEvent:
        payload: ClusterEvent = {"status": status, "cluster_name": self.cluster_name, "exists": exists,
                                 "state": state, "message": message, "echo": self.echo}
        return TriggerEvent(dict(payload))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        try:
            while True:
                cluster = await asyncio.to_thread(hook.get_cluster, self.cluster_name)
                if cluster is None:
                    yield self._event("settled", False, None)
                    return
                state = cluster.status.state.name
                if state not in CLUSTER_WAIT_STATES:
                    yield self._event("settled", True, state, cluster.status.detail)
                    return
                self.log.info("cluster %s is %s", self.cluster_name, state)
                await asyncio.sleep(self.poll_interval)
        except DataprocError as exc:
            yield self._event("error", False, None, f"{type(exc).__name__}: {exc}")
        finally:
            hook.close()


class _WorkTrigger(_Base):
    """Waits for a job or batch to end, logging its driver output as it appears."""

    kind = "job"
    marker_timeout = 60.0  # seconds to wait, once the job ended, for the end of its driver output

    def __init__(self, *, id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.id = id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{_P}.{type(self).__name__}", {"id": self.id, **self._common()}

    def _event(self, status: str, state: str | None, message: str = "") -> TriggerEvent:
        payload: JobEvent = {"status": status, "id": self.id, "state": state, "message": message, "echo": self.echo}
        return TriggerEvent(dict(payload))

    def _observe(self, hook: Any) -> tuple[str | None, str | None, str]:
        """(state, phase, driver output uri) of the job / batch; state None when it does not exist."""
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        output: DriverOutput | None = None
        try:
            while True:
                state, phase, uri = await asyncio.to_thread(self._observe, hook)
                if state is None:
                    yield self._event("error", None, f"{self.kind} {self.id} does not exist")
                    return
                ended = phase in ("succeeded", "failed")
                output, lines = await asyncio.to_thread(follow_output, hook, output, uri, ended, self.marker_timeout)
                for line in lines:
                    self.log.info("[driver] %s", line)
                if phase in ("succeeded", "failed"):
                    yield self._event("ended", state)
                    return
                await asyncio.sleep(self.poll_interval)
        except DataprocError as exc:
            yield self._event("error", None, f"{type(exc).__name__}: {exc}")
        finally:
            hook.close()


class DataprocJobTrigger(_WorkTrigger):
    """Waits for a Dataproc job (by id) to end."""

    kind = "job"

    def _observe(self, hook: Any) -> tuple[str | None, str | None, str]:
        job = hook.get_job(self.id)
        if job is None:
            return None, None, ""
        state = job.status.state.name
        return state, job_phase(state), job.driver_output_resource_uri


class DataprocBatchTrigger(_WorkTrigger):
    """Waits for a Dataproc Serverless batch (by id) to end."""

    kind = "batch"
    marker_timeout = 0.0

    def _observe(self, hook: Any) -> tuple[str | None, str | None, str]:
        batch = hook.get_batch(self.id)
        if batch is None:
            return None, None, ""
        state = batch.state.name
        uri = batch.runtime_info.output_uri if batch.runtime_info else ""
        return state, batch_phase(state), uri if uri.startswith("gs://") else ""

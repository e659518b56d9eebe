"""Deferrable waits: a cluster settling (created / started / deleted), a job or a batch ending.

Triggers only *observe* (GetCluster / GetJob / GetBatch, and the job's driver output, which they
log); they never create, submit or delete, so a triggerer restart that runs one again duplicates no
work. They serialize plain values only and yield exactly one event whose payload is a
``ClusterEvent`` or ``JobEvent`` dict; ``echo`` carries the operator's own plain state back to it
(Airflow's ``dag.test()`` replaces the ``kwargs`` given to ``defer`` with the event). When the
operator passes ``finish`` (plain XComs to push, see ``operators/base.py``), a wait that ends in
success ends the task here instead, with a ``TaskSuccessEvent`` carrying those XComs: no worker slot
is taken to resume it. Anything else (failure, error, a cluster that is not ours) resumes the
operator on a worker as before, so retries, cleanup and error text stay the operator's.
The synchronous hook runs in a worker thread (``asyncio.to_thread``), which works the same against
Google and against the local emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypedDict

from ..compat import BaseTrigger, TaskSuccessEvent, TriggerEvent
from ..errors import DataprocError
from ..hooks.dataproc import DataprocHook
from ..lifecycle import CLUSTER_WAIT_STATES, ClusterAction, ClusterPolicy, batch_phase, decide_cluster, job_phase
from ..storage import DriverOutput, follow_output

__all__ = ["ClusterEvent", "JobEvent", "DataprocClusterTrigger", "DataprocJobTrigger", "DataprocBatchTrigger",
           "success_event"]

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


def success_event(xcoms: dict[str, Any]) -> TriggerEvent:
    """The event that ends the task successfully in the triggerer, pushing ``xcoms`` (never built where absent)."""
    assert TaskSuccessEvent is not None, "the operator passes finish only where Airflow has TaskSuccessEvent"
    return TaskSuccessEvent(xcoms=dict(xcoms))


class _Base(BaseTrigger):
    """Common plain fields of the provider's triggers."""

    def __init__(self, *, project_id: str, region: str, gcp_conn_id: str, poll_interval: float = 5.0,
                 echo: dict[str, Any] | None = None, finish: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.project_id = project_id
        self.region = region
        self.gcp_conn_id = gcp_conn_id
        self.poll_interval = poll_interval
        self.echo = dict(echo or {})
        self.finish = finish  # None: every outcome resumes the operator on a worker

    def _common(self) -> dict[str, Any]:
        common = {"project_id": self.project_id, "region": self.region, "gcp_conn_id": self.gcp_conn_id,
                  "poll_interval": self.poll_interval, "echo": self.echo}
        return common if self.finish is None else {**common, "finish": self.finish}

    def _hook(self) -> Any:
        return DataprocHook(self.gcp_conn_id, project_id=self.project_id, region=self.region)


class DataprocClusterTrigger(_Base):
    """Waits until a cluster is absent or in a state that is not a transition (RUNNING, ERROR, STOPPED ...)."""

    def __init__(self, *, cluster_name: str, delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster_name = cluster_name
        self.delay = delay  # seconds to wait before the first look (a create just sent may not show yet)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"cluster_name": self.cluster_name, **self._common()}
        return f"{_P}.DataprocClusterTrigger", {**kwargs, "delay": self.delay} if self.delay else kwargs

    def _event(self, status: str, exists: bool, state: str | None, message: str = "") -> TriggerEvent:
        payload: ClusterEvent = {"status": status, "cluster_name": self.cluster_name, "exists": exists,
                                 "state": state, "message": message, "echo": self.echo}
        return TriggerEvent(dict(payload))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            while True:
                cluster = await asyncio.to_thread(hook.get_cluster, self.cluster_name)
                if cluster is None:
                    if self.finish is not None and self.finish.get("want") == "absent":
                        self.log.info("cluster %s is gone", self.cluster_name)
                        yield success_event(self.finish.get("xcoms") or {})
                        return
                    yield self._event("settled", False, None)
                    return
                state = cluster.status.state.name
                if state not in CLUSTER_WAIT_STATES:
                    if self.finish is not None and (done := await asyncio.to_thread(self._running_and_ours, hook)):
                        yield done
                        return
                    yield self._event("settled", True, state, cluster.status.detail)
                    return
                self.log.info("cluster %s is %s", self.cluster_name, state)
                await asyncio.sleep(self.poll_interval)
        except DataprocError as exc:
            yield self._event("error", False, None, f"{type(exc).__name__}: {exc}")
        finally:
            hook.close()

    def _running_and_ours(self, hook: Any) -> TriggerEvent | None:
        """The success event when the create operator would now reuse the cluster as RUNNING, else None."""
        finish = self.finish or {}
        if finish.get("want") != "running":
            return None
        observed, _raw = hook.observe_cluster(self.cluster_name, finish.get("owner") or {})
        policy = ClusterPolicy(on_error=str(finish.get("on_error", "recreate")),
                               recreates_done=int(self.echo.get("generation", 0)),
                               creates_sent=int(self.echo.get("creates", 0)))
        decision = decide_cluster(observed, policy)
        if decision.action is not ClusterAction.REUSE or observed.state != "RUNNING":
            return None
        self.log.info("cluster %s: %s -> %s", self.cluster_name, decision.reason, decision.action.value)
        self.log.info("cluster %s is RUNNING (uuid %s)", self.cluster_name, observed.uuid)
        xcoms = {**(finish.get("xcoms") or {}), "cluster_name": self.cluster_name, "cluster_uuid": observed.uuid}
        if finish.get("return_value"):
            xcoms["return_value"] = {"cluster_name": self.cluster_name, "cluster_uuid": observed.uuid or ""}
        return success_event(xcoms)


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
                if phase == "succeeded" and self.finish is not None:
                    self.log.info("%s %s succeeded", self.kind, self.id)
                    yield success_event(self.finish.get("xcoms") or {})
                    return
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

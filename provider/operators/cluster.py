"""Ensure a run's ephemeral Dataproc cluster exists (create / reuse / recreate), and ensure it is gone.

Both operators loop over the pure decisions of ``dagspec.provider.lifecycle``: observe the
cluster, decide, perform one action, observe again, deferring to ``DataprocClusterTrigger`` (or
sleeping, when not deferrable) while a transition is under way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ClusterFailed, InvalidRequest, PreconditionFailed
from ..lifecycle import ClusterAction, ClusterPolicy, ObservedCluster, decide_cluster, decide_cluster_delete
from ..links.dataproc import DataprocClusterLink, cluster_url
from ..naming import cluster_name, label_key, label_value, ownership_labels, request_id
from ..triggers.dataproc import DataprocClusterTrigger
from .base import DataprocBaseOperator, RunIdentity

__all__ = ["DataprocCreateClusterOperator", "DataprocDeleteClusterOperator", "XCOM_CLUSTER_NAME", "XCOM_CLUSTER_UUID"]

XCOM_CLUSTER_NAME = "cluster_name"
XCOM_CLUSTER_UUID = "cluster_uuid"
_MIN_IDLE, _MIN_AUTO, _MAX_TTL = 300, 600, 14 * 24 * 3600
_CLEANUP_POLLS = 600
_MAX_DELETE_REFUSALS = 5


def _ttl(value: int, low: int, what: str) -> dict[str, int]:
    if not low <= int(value) <= _MAX_TTL:
        raise InvalidRequest(f"{what} must be between {low} s and 14 days, not {value} s")
    return {"seconds": int(value)}


class DataprocCreateClusterOperator(DataprocBaseOperator):
    """Ensure this run's cluster for ``cluster`` (a key) exists and is RUNNING; returns its name and uuid.

    The name is ``naming.cluster_name(dag_id, run_id, cluster)``; ownership labels
    (``dagspec-dag``, ``dagspec-run``, ``dagspec-cluster``, ``dagspec-task``) are added to ``labels``
    and checked before any reuse or delete; lifecycle_config always carries the idle and auto-delete
    TTLs, so a cluster is never left running for long even if the teardown never runs.
    """

    template_fields: Sequence[str] = ("cluster", "cluster_config", "labels", "project_id", "region", "gcp_conn_id")
    operator_extra_links = (DataprocClusterLink(),)

    def __init__(self, *, cluster: str, cluster_config: dict, labels: dict[str, str] | None = None,
                 idle_delete_ttl: int = 1800, auto_delete_ttl: int = 14400, on_error: str = "recreate",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.cluster_config = cluster_config
        self.labels = labels
        self.idle_delete_ttl = idle_delete_ttl
        self.auto_delete_ttl = auto_delete_ttl
        self.on_error = on_error

    # -- plan ----------------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        config = dict(self.cluster_config or {})
        lifecycle = dict(config.get("lifecycle_config") or {})
        lifecycle["idle_delete_ttl"] = _ttl(self.idle_delete_ttl, _MIN_IDLE, "idle_delete_ttl")
        lifecycle["auto_delete_ttl"] = _ttl(self.auto_delete_ttl, _MIN_AUTO, "auto_delete_ttl")
        lifecycle.pop("auto_delete_time", None)
        config["lifecycle_config"] = lifecycle
        return config

    def _names(self, context: Any) -> tuple[RunIdentity, str, dict[str, str], dict[str, str]]:
        ident = RunIdentity.of(context)
        name = cluster_name(ident.dag_id, ident.run_id, self.cluster)
        owner = ownership_labels(ident.dag_id, ident.run_id, self.cluster, ident.task_id)
        user = {label_key(k): label_value(v) for k, v in (self.labels or {}).items()}
        return ident, name, owner, {**user, **owner}

    # -- run -----------------------------------------------------------------------------------

    def execute(self, context: Any) -> dict[str, str]:
        ClusterPolicy(on_error=self.on_error)  # validates on_error before any request
        ident, name, _, _ = self._names(context)
        DataprocClusterLink.persist(context, cluster_url(self.hook().project_id, self.hook().region, name))
        self.log.info("ensuring cluster %s (key %s) in %s/%s", name, self.cluster, self.hook().project_id,
                      self.hook().region)
        return self._ensure(context, generation=0)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, str]:
        event = event if isinstance(event, dict) else {}  # dag.test() resumes an end event as its payload string
        if event.get("status") == "error":
            self.log.warning("waiting for the cluster failed: %s", event.get("message"))
        echo = event.get("echo") or {}
        generation = int(echo.get("generation", kwargs.get("generation", 0)))
        creates = int(echo.get("creates", kwargs.get("creates", 0)))
        return self._ensure(context, generation=generation, creates=creates)

    def _ensure(self, context: Any, generation: int, creates: int = 0) -> dict[str, str]:
        """Observe, decide, act, and wait before observing again after every action but a reuse."""
        ident, name, owner, labels = self._names(context)
        hook = self.hook()
        config = self._config()
        try:
            while True:
                observed, raw = hook.observe_cluster(name, owner)
                policy = ClusterPolicy(on_error=self.on_error, recreates_done=generation, creates_sent=creates)
                decision = decide_cluster(observed, policy)
                self.log.info("cluster %s: %s -> %s", name, decision.reason, decision.action.value)
                action = decision.action
                if action is ClusterAction.REUSE:
                    if observed.state != "RUNNING":
                        self.log.warning("cluster %s: %s", name, decision.reason)
                    return self._done(context, name, observed)
                if action is ClusterAction.CREATE:
                    # a later create of the same generation gets its own request id: a replay of the first
                    # would return its finished operation without creating anything
                    again = (creates,) if creates else ()
                    rid = request_id("create", ident.dag_id, ident.run_id, self.cluster, ident.try_number, generation,
                                     *again)
                    hook.create_cluster(name, config, labels, rid)
                    creates += 1
                    if self.should_defer():  # the first pause, too, is the triggerer's: no worker slot held for it
                        self._defer_wait(name, generation, creates, owner, delay=self.poll_interval)
                    self.sleep()  # let Dataproc show the cluster before observing it again: never spin
                elif action is ClusterAction.START:
                    hook.start_cluster(name, observed.uuid, request_id("start", name, observed.uuid, ident.try_number))
                elif action is ClusterAction.DELETE:
                    self._diagnose(raw)
                    hook.delete_cluster(name, observed.uuid, request_id("delete", name, observed.uuid))
                    generation, creates = generation + 1, 0
                elif action is ClusterAction.FAIL:
                    if decision.cleanup:
                        self._diagnose(raw)
                        self._cleanup(name, observed)
                    raise ClusterFailed(f"cluster {name}: {decision.reason}")
                else:  # WAIT
                    if self.should_defer():
                        self._defer_wait(name, generation, creates, owner)
                    self.sleep()
        finally:
            self.close_hook()

    def _defer_wait(self, name: str, generation: int, creates: int = 0, owner: dict[str, str] | None = None,
                    delay: float = 0.0) -> None:
        state = {"generation": generation, "creates": creates}
        # on success the trigger pushes what _done pushes (cluster_name, cluster_uuid, the return value)
        link = {DataprocClusterLink.key: cluster_url(self.hook().project_id, self.hook().region, name)}
        finish = self.finish_args(link, want="running", owner=dict(owner or {}), on_error=self.on_error)
        trigger = DataprocClusterTrigger(cluster_name=name, **self.trigger_args(), echo=state, finish=finish, delay=delay)
        self.defer(trigger=trigger, method_name="execute_complete", kwargs=state)

    def _done(self, context: Any, name: str, observed: ObservedCluster) -> dict[str, str]:
        ti = context["ti"]
        ti.xcom_push(key=XCOM_CLUSTER_NAME, value=name)
        ti.xcom_push(key=XCOM_CLUSTER_UUID, value=observed.uuid)
        self.log.info("cluster %s is RUNNING (uuid %s)", name, observed.uuid)
        return {"cluster_name": name, "cluster_uuid": observed.uuid or ""}

    def _diagnose(self, raw: Any) -> None:
        """Log what Dataproc says about a broken cluster before it is deleted."""
        if raw is None:
            return
        self.log.error("cluster %s is %s: %s", raw.cluster_name, raw.status.state.name, raw.status.detail or "(no detail)")
        for past in list(raw.status_history)[-5:]:
            self.log.error("  earlier: %s %s", past.state.name, past.detail)

    def _cleanup(self, name: str, observed: ObservedCluster) -> None:
        """Delete our broken cluster and wait until it is gone, so a failed create leaves nothing behind."""
        hook = self.hook()
        hook.delete_cluster(name, observed.uuid, request_id("delete", name, observed.uuid))
        for _ in range(_CLEANUP_POLLS):
            now, _raw = hook.observe_cluster(name)
            if not now.exists or now.uuid != observed.uuid:
                self.log.info("broken cluster %s deleted", name)
                return
            self.sleep()
        self.log.error("cluster %s still exists after deleting it; its TTLs will remove it", name)


class DataprocDeleteClusterOperator(DataprocBaseOperator):
    """Ensure this run's cluster for ``cluster`` (a key) is absent; a cluster that is not ours is left alone.

    Runs as the teardown of the create task. NotFound is success; the delete request carries the
    observed cluster_uuid of a cluster whose ownership labels match this run, so a same-named
    cluster created by someone else is never deleted.
    """

    template_fields: Sequence[str] = ("cluster", "project_id", "region", "gcp_conn_id")
    operator_extra_links = (DataprocClusterLink(),)

    def __init__(self, *, cluster: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster

    def execute(self, context: Any) -> None:
        return self._ensure_absent(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if isinstance(event, dict) and event.get("status") == "error":
            self.log.warning("waiting for the cluster failed: %s", event.get("message"))
        return self._ensure_absent(context)

    def _ensure_absent(self, context: Any) -> None:
        ident = RunIdentity.of(context)
        name = cluster_name(ident.dag_id, ident.run_id, self.cluster)
        owner = ownership_labels(ident.dag_id, ident.run_id, self.cluster)
        hook = self.hook()
        DataprocClusterLink.persist(context, cluster_url(hook.project_id, hook.region, name))
        sent: set[str] = set()
        refusals = 0
        try:
            while True:
                observed, _raw = hook.observe_cluster(name, owner)
                decision = decide_cluster_delete(observed)
                self.log.info("cluster %s: %s -> %s", name, decision.reason, decision.action.value)
                if decision.action is ClusterAction.DONE:
                    return None
                if decision.action is ClusterAction.DELETE and observed.uuid not in sent:
                    try:
                        hook.delete_cluster(name, observed.uuid, request_id("delete", name, observed.uuid))
                        sent.add(observed.uuid or "")
                    except PreconditionFailed as exc:  # changed under us (e.g. a transition began): look again
                        refusals += 1
                        if refusals > _MAX_DELETE_REFUSALS:
                            raise
                        self.log.warning("delete of cluster %s refused (%s); observing again", name, exc)
                        self.sleep()
                    continue
                if self.should_defer():
                    finish = self.finish_args({}, want="absent")  # the link was pushed above; no return value
                    self.defer(trigger=DataprocClusterTrigger(cluster_name=name, **self.trigger_args(), finish=finish),
                               method_name="execute_complete")
                self.sleep()
        finally:
            self.close_hook()

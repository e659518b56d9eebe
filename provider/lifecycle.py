"""Pure lifecycle decisions: what the operators do next, given what they observed and the policy.

No I/O here. Operators and triggers observe (get cluster / get job), call a ``decide_*`` function,
perform the one action it names, and observe again. Every branch is covered by the table tests in
``tests/provider/test_lifecycle.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ClusterAction",
    "ObservedCluster",
    "ClusterPolicy",
    "ClusterDecision",
    "decide_cluster",
    "decide_cluster_delete",
    "JobAction",
    "ObservedJob",
    "JobDecision",
    "decide_job",
    "job_phase",
    "batch_phase",
    "WorkflowAction",
    "ObservedWorkflow",
    "WorkflowDecision",
    "decide_workflow",
    "CLUSTER_WAIT_STATES",
    "JOB_ACTIVE",
]

# Dataproc ClusterStatus.State names
CLUSTER_WAIT_STATES = frozenset({"CREATING", "UPDATING", "STARTING", "STOPPING", "REPAIRING", "UNKNOWN", "DELETING"})
_CLUSTER_ERROR = frozenset({"ERROR"})
# "The cluster has encountered an error while being updated. Jobs can be submitted to the cluster,
# but the cluster cannot be updated." (ClusterStatus.State): usable, and deleting it kills running jobs
_CLUSTER_USABLE_AFTER_FAILED_UPDATE = "ERROR_DUE_TO_UPDATE"


class ClusterAction(StrEnum):
    CREATE = "create"  # send CreateCluster (with request_id)
    REUSE = "reuse"  # the cluster is ours and RUNNING: done
    WAIT = "wait"  # a transition is under way: observe again later (or defer)
    START = "start"  # ours and STOPPED: send StartCluster
    DELETE = "delete"  # delete (with cluster_uuid); from decide_cluster: then create it again
    DONE = "done"  # (delete) nothing of ours is left
    FAIL = "fail"  # give up; ``cleanup`` says whether to delete the (ours) cluster first


@dataclass(frozen=True)
class ObservedCluster:
    """What a GetCluster returned, reduced to what decisions need."""

    exists: bool
    state: str | None = None  # ClusterStatus.State name
    ours: bool = True  # the ownership labels match this run and cluster key
    uuid: str | None = None
    detail: str = ""  # status.detail, for the log

    @classmethod
    def absent(cls) -> ObservedCluster:
        return cls(exists=False)


@dataclass(frozen=True)
class ClusterPolicy:
    """How to treat a broken cluster: ``on_error`` 'recreate' (up to ``max_recreates`` times) or 'fail'."""

    on_error: str = "recreate"
    max_recreates: int = 1
    recreates_done: int = 0
    # CreateCluster requests sent in this generation without the cluster staying: a cluster that
    # vanishes after its create (e.g. deleted by hand while CREATING) is created again, a few times
    creates_sent: int = 0
    max_creates: int = 3

    def __post_init__(self) -> None:
        if self.on_error not in ("recreate", "fail"):
            raise ValueError(f"on_error must be 'recreate' or 'fail', not {self.on_error!r}")


@dataclass(frozen=True)
class ClusterDecision:
    action: ClusterAction
    reason: str
    cleanup: bool = False  # FAIL: delete our broken cluster before failing


def decide_cluster(observed: ObservedCluster, policy: ClusterPolicy) -> ClusterDecision:
    """The next step towards "this run's cluster exists and is RUNNING"."""
    A = ClusterAction
    if not observed.exists:
        if policy.creates_sent >= policy.max_creates:
            return ClusterDecision(A.FAIL, f"the cluster vanished after each of {policy.creates_sent} creates")
        if policy.creates_sent:
            return ClusterDecision(A.CREATE, f"the cluster vanished after create {policy.creates_sent}; "
                                             "creating it again")
        return ClusterDecision(A.CREATE, "the cluster does not exist")
    state = observed.state or "UNKNOWN"
    if not observed.ours:
        return ClusterDecision(A.FAIL, f"a cluster with this name exists but was not created by this run (state {state})")
    if state == "RUNNING":
        return ClusterDecision(A.REUSE, "the cluster is ours and RUNNING")
    if state == _CLUSTER_USABLE_AFTER_FAILED_UPDATE:
        # never delete it: jobs may be running on it, and new ones can still be submitted
        detail = f": {observed.detail}" if observed.detail else ""
        return ClusterDecision(A.REUSE, f"the cluster is in ERROR_DUE_TO_UPDATE{detail}; jobs can still run on it "
                                        "(it cannot be updated)")
    if state == "STOPPED":
        return ClusterDecision(A.START, "the cluster is ours and STOPPED")
    if state == "DELETING":
        return ClusterDecision(A.WAIT, "the cluster is being deleted; create it again once it is gone")
    if state in _CLUSTER_ERROR:
        why = f"the cluster is in {state}" + (f": {observed.detail}" if observed.detail else "")
        if policy.on_error == "recreate" and policy.recreates_done < policy.max_recreates:
            return ClusterDecision(A.DELETE, f"{why}; deleting it to create it again")
        if policy.on_error == "recreate":
            return ClusterDecision(A.FAIL, f"{why}; already recreated {policy.recreates_done} time(s)", cleanup=True)
        return ClusterDecision(A.FAIL, f"{why}; policy on_error=fail", cleanup=True)
    if state in CLUSTER_WAIT_STATES:
        return ClusterDecision(A.WAIT, f"the cluster is {state}")
    return ClusterDecision(A.WAIT, f"the cluster is in an unexpected state {state}")


def decide_cluster_delete(observed: ObservedCluster) -> ClusterDecision:
    """The next step towards "no cluster of this run is left" (never touching anyone else's)."""
    A = ClusterAction
    if not observed.exists:
        return ClusterDecision(A.DONE, "the cluster does not exist")
    if not observed.ours:
        return ClusterDecision(A.DONE, "a cluster with this name exists but is not ours: leaving it alone")
    if observed.state == "DELETING":
        return ClusterDecision(A.WAIT, "the cluster is already being deleted")
    if observed.state in ("CREATING", "UPDATING", "STARTING", "STOPPING", "REPAIRING"):
        # Dataproc refuses deletes during some transitions; waiting avoids a FAILED_PRECONDITION loop.
        return ClusterDecision(A.WAIT, f"the cluster is {observed.state}; delete it once that settles")
    return ClusterDecision(A.DELETE, f"the cluster is ours ({observed.state or 'UNKNOWN'})")


# -- jobs and batches -------------------------------------------------------------------------------

JOB_ACTIVE = frozenset({"PENDING", "SETUP_DONE", "RUNNING", "ATTEMPT_FAILURE", "STATE_UNSPECIFIED"})
_PHASE_JOB = {
    **{s: "active" for s in JOB_ACTIVE},
    "CANCEL_PENDING": "cancelling",
    "CANCEL_STARTED": "cancelling",
    "DONE": "succeeded",
    "ERROR": "failed",
    "CANCELLED": "failed",
}
_PHASE_BATCH = {
    "STATE_UNSPECIFIED": "active",
    "PENDING": "active",
    "RUNNING": "active",
    "CANCELLING": "cancelling",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELLED": "failed",
}


def job_phase(state: str) -> str:
    """A Dataproc JobStatus.State name as 'active' | 'cancelling' | 'succeeded' | 'failed'."""
    return _PHASE_JOB.get(state, "active")


def batch_phase(state: str) -> str:
    """A Dataproc Batch.State name as 'active' | 'cancelling' | 'succeeded' | 'failed'."""
    return _PHASE_BATCH.get(state, "active")


class JobAction(StrEnum):
    SUBMIT = "submit"  # submit attempt ``attempt`` (1 = the base id)
    REATTACH = "reattach"  # follow the running attempt ``attempt`` until it ends
    WAIT = "wait"  # a cancellation is under way: observe again, then decide (not attached)
    DONE = "done"  # attempt ``attempt`` succeeded
    FAIL = "fail"  # the attempt we followed failed
    RESUBMIT = "resubmit"  # a previous try's attempt failed: submit attempt ``attempt``


@dataclass(frozen=True)
class ObservedJob:
    """The latest attempt of a task's job: its 1-based number and its phase (see ``job_phase``)."""

    attempt: int
    phase: str
    state: str = ""


@dataclass(frozen=True)
class JobDecision:
    action: JobAction
    attempt: int
    reason: str


def decide_job(observed: ObservedJob | None, *, attached: bool, max_attempts: int = 50) -> JobDecision:
    """Get-or-submit for one task's job (or batch).

    ``attached`` is True once this execution submitted the observed attempt or reattached to it
    while it was active: its failure is then *this* try's failure. A failed attempt found at the
    start of an execution belongs to an earlier try, so this try submits the next attempt.
    """
    A = JobAction
    if observed is None:
        return JobDecision(A.SUBMIT, 1, "no attempt exists yet")
    n, phase, state = observed.attempt, observed.phase, observed.state or observed.phase
    if phase == "active":
        return JobDecision(A.REATTACH, n, f"attempt {n} is {state}")
    if phase == "cancelling":
        return JobDecision(A.WAIT, n, f"attempt {n} is being cancelled ({state})")
    if phase == "succeeded":
        return JobDecision(A.DONE, n, f"attempt {n} finished ({state})")
    if attached:
        return JobDecision(A.FAIL, n, f"attempt {n} ended in {state}")
    if n >= max_attempts:
        return JobDecision(A.FAIL, n, f"attempt {n} ended in {state} and the limit of {max_attempts} attempts is reached")
    return JobDecision(A.RESUBMIT, n + 1, f"attempt {n} of an earlier try ended in {state}; submitting attempt {n + 1}")


# -- workflows (instantiated workflow templates) ----------------------------------------------------


class WorkflowAction(StrEnum):
    INSTANTIATE = "instantiate"  # send Instantiate for attempt ``attempt`` (labelled with that attempt's tag)
    ATTACH = "attach"  # follow the operation of attempt ``attempt`` (running, or already done without error)
    WAIT = "wait"  # attempt ``attempt`` has work running but its operation is not seen yet: observe again
    DONE = "done"  # attempt ``attempt`` succeeded and only its jobs are left to tell (the operation is gone)
    FAIL = "fail"  # give up


@dataclass(frozen=True)
class ObservedWorkflow:
    """The latest attempt found of a task's workflow (1-based), done or not, its error and its operation.

    Found through the labels the provider puts on the template (Dataproc propagates them to the
    workflow's jobs and managed cluster) and the operation whose ``WorkflowMetadata`` names those
    jobs or that cluster; or the operation Instantiate returned. ``name`` is "" when the instance's
    jobs or cluster were found but not its operation.
    """

    attempt: int
    done: bool
    error: str | None = None  # operation.error.message (or a failed job's); None when nothing failed
    name: str = ""


@dataclass(frozen=True)
class WorkflowDecision:
    action: WorkflowAction
    attempt: int
    reason: str


def decide_workflow(observed: ObservedWorkflow | None, *, max_attempts: int = 50) -> WorkflowDecision:
    """Get-or-instantiate for one task's workflow, without relying on request_id replay.

    Dataproc documents a workflow's request_id only as preventing *concurrent* instances: once an
    instance has finished, the same id may start a second one. So earlier instances are found by
    their labels first; a running one is followed, a successful one is the result, and one that
    failed belongs to an earlier try: the next attempt (a new tag) starts a new workflow.
    """
    A = WorkflowAction
    if observed is None:
        return WorkflowDecision(A.INSTANTIATE, 1, "no instance of this workflow exists yet")
    n = observed.attempt
    if observed.error is not None and observed.done:
        if n >= max_attempts:
            return WorkflowDecision(A.FAIL, n, f"the workflow failed {n} times (last: {observed.error})")
        return WorkflowDecision(A.INSTANTIATE, n + 1, f"attempt {n} already ended: {observed.error}; "
                                                      f"starting attempt {n + 1}")
    if not observed.name:
        if observed.done:
            return WorkflowDecision(A.DONE, n, f"attempt {n} finished well (its operation is no longer listed)")
        return WorkflowDecision(A.WAIT, n, f"attempt {n} is running but its operation is not listed yet")
    if not observed.done:
        return WorkflowDecision(A.ATTACH, n, f"attempt {n} is running")
    return WorkflowDecision(A.ATTACH, n, f"attempt {n} is already done: attaching")

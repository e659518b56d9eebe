"""Table tests of the pure cluster and job lifecycle decisions."""

from __future__ import annotations

import pytest
from dagspec.provider.lifecycle import (
    ClusterAction as C,
)
from dagspec.provider.lifecycle import (
    ClusterPolicy,
    ObservedCluster,
    ObservedJob,
    ObservedWorkflow,
    batch_phase,
    decide_cluster,
    decide_cluster_delete,
    decide_job,
    decide_workflow,
    job_phase,
)
from dagspec.provider.lifecycle import (
    JobAction as J,
)
from dagspec.provider.lifecycle import (
    WorkflowAction as W,
)

RECREATE = ClusterPolicy(on_error="recreate")
RECREATED = ClusterPolicy(on_error="recreate", recreates_done=1)
FAIL = ClusterPolicy(on_error="fail")


def ours(state: str) -> ObservedCluster:
    return ObservedCluster(exists=True, state=state, ours=True, uuid="u-1", detail="boom")


def foreign(state: str) -> ObservedCluster:
    return ObservedCluster(exists=True, state=state, ours=False, uuid="u-2")


CLUSTER_CASES = [
    # observed, policy, action, cleanup
    (ObservedCluster.absent(), RECREATE, C.CREATE, False),
    (ObservedCluster.absent(), FAIL, C.CREATE, False),
    (ours("RUNNING"), RECREATE, C.REUSE, False),
    (ours("CREATING"), RECREATE, C.WAIT, False),
    (ours("UPDATING"), RECREATE, C.WAIT, False),
    (ours("STARTING"), RECREATE, C.WAIT, False),
    (ours("STOPPING"), RECREATE, C.WAIT, False),
    (ours("REPAIRING"), RECREATE, C.WAIT, False),
    (ours("UNKNOWN"), RECREATE, C.WAIT, False),
    (ours("DELETING"), RECREATE, C.WAIT, False),
    (ours("DELETING"), FAIL, C.WAIT, False),
    (ours("STOPPED"), RECREATE, C.START, False),
    (ours("ERROR"), RECREATE, C.DELETE, False),
    # jobs can still be submitted to a cluster whose update failed: reuse it, never delete it under its jobs
    (ours("ERROR_DUE_TO_UPDATE"), RECREATE, C.REUSE, False),
    (ours("ERROR_DUE_TO_UPDATE"), RECREATED, C.REUSE, False),
    (ours("ERROR_DUE_TO_UPDATE"), FAIL, C.REUSE, False),
    (foreign("ERROR_DUE_TO_UPDATE"), RECREATE, C.FAIL, False),
    # a cluster that vanished after our create (deleted by hand while CREATING) is created again, a few times
    (ObservedCluster.absent(), ClusterPolicy(creates_sent=1), C.CREATE, False),
    (ObservedCluster.absent(), ClusterPolicy(creates_sent=2), C.CREATE, False),
    (ObservedCluster.absent(), ClusterPolicy(creates_sent=3), C.FAIL, False),
    (ours("ERROR"), RECREATED, C.FAIL, True),
    (ours("ERROR"), FAIL, C.FAIL, True),
    (foreign("RUNNING"), RECREATE, C.FAIL, False),
    (foreign("ERROR"), RECREATE, C.FAIL, False),
    (ours("SOMETHING_NEW"), RECREATE, C.WAIT, False),
]


@pytest.mark.parametrize(("observed", "policy", "action", "cleanup"), CLUSTER_CASES)
def test_decide_cluster(observed, policy, action, cleanup) -> None:
    decision = decide_cluster(observed, policy)
    assert (decision.action, decision.cleanup) == (action, cleanup)
    assert decision.reason


def test_error_reason_carries_the_diagnosis() -> None:
    assert "boom" in decide_cluster(ours("ERROR"), FAIL).reason
    assert "boom" in decide_cluster(ours("ERROR_DUE_TO_UPDATE"), FAIL).reason


def test_policy_rejects_unknown_on_error() -> None:
    with pytest.raises(ValueError):
        ClusterPolicy(on_error="ignore")


DELETE_CASES = [
    (ObservedCluster.absent(), C.DONE),
    (foreign("RUNNING"), C.DONE),  # never touch someone else's cluster
    (ours("RUNNING"), C.DELETE),
    (ours("ERROR"), C.DELETE),
    (ours("STOPPED"), C.DELETE),
    (ours("DELETING"), C.WAIT),
    (ours("CREATING"), C.WAIT),
    (ours("UPDATING"), C.WAIT),
]


@pytest.mark.parametrize(("observed", "action"), DELETE_CASES)
def test_decide_cluster_delete(observed, action) -> None:
    assert decide_cluster_delete(observed).action is action


def job(attempt: int, state: str) -> ObservedJob:
    return ObservedJob(attempt=attempt, phase=job_phase(state), state=state)


JOB_CASES = [
    # observed, attached, action, attempt
    (None, False, J.SUBMIT, 1),
    (job(1, "PENDING"), False, J.REATTACH, 1),  # worker crashed: reattach
    (job(1, "RUNNING"), False, J.REATTACH, 1),
    (job(1, "SETUP_DONE"), True, J.REATTACH, 1),
    (job(2, "ATTEMPT_FAILURE"), False, J.REATTACH, 2),  # restartable job: Dataproc restarts the driver
    (job(1, "DONE"), False, J.DONE, 1),  # crashed after the job finished: nothing to run again
    (job(1, "DONE"), True, J.DONE, 1),
    (job(1, "ERROR"), True, J.FAIL, 1),  # the attempt this try followed failed
    (job(1, "CANCELLED"), True, J.FAIL, 1),
    (job(1, "ERROR"), False, J.RESUBMIT, 2),  # an earlier try's attempt failed: new attempt
    (job(3, "CANCELLED"), False, J.RESUBMIT, 4),
    (job(1, "CANCEL_PENDING"), False, J.WAIT, 1),
    (job(1, "CANCEL_STARTED"), True, J.WAIT, 1),
    (job(50, "ERROR"), False, J.FAIL, 50),  # attempt limit
]


@pytest.mark.parametrize(("observed", "attached", "action", "attempt"), JOB_CASES)
def test_decide_job(observed, attached, action, attempt) -> None:
    decision = decide_job(observed, attached=attached)
    assert (decision.action, decision.attempt) == (action, attempt)
    assert decision.reason


@pytest.mark.parametrize(
    ("state", "phase"),
    [("PENDING", "active"), ("RUNNING", "active"), ("CANCELLING", "cancelling"), ("SUCCEEDED", "succeeded"),
     ("FAILED", "failed"), ("CANCELLED", "failed")],
)
def test_batch_phases(state: str, phase: str) -> None:
    assert batch_phase(state) == phase
    batch = ObservedJob(attempt=1, phase=phase, state=state)
    expected = {"active": J.REATTACH, "cancelling": J.WAIT, "succeeded": J.DONE, "failed": J.RESUBMIT}[phase]
    assert decide_job(batch, attached=False).action is expected


def wf(attempt: int, done: bool, error: str | None = None, name: str = "operations/x") -> ObservedWorkflow:
    return ObservedWorkflow(attempt, done=done, error=error, name=name)


WORKFLOW_CASES = [
    # observed, max_attempts, action, attempt
    (None, 50, W.INSTANTIATE, 1),
    (wf(1, done=False), 50, W.ATTACH, 1),  # a retry while the workflow runs reattaches
    (wf(1, done=True), 50, W.ATTACH, 1),  # already succeeded: attach to read its result
    (wf(1, done=True, error="boom"), 50, W.INSTANTIATE, 2),  # an earlier try's failure: a new workflow
    (wf(7, done=True, error="boom"), 50, W.INSTANTIATE, 8),
    (wf(3, done=False), 3, W.ATTACH, 3),
    (wf(3, done=True, error="boom"), 3, W.FAIL, 3),  # the limit of attempts is reached
    (wf(1, done=True, error=""), 50, W.INSTANTIATE, 2),  # an error without a message is still an error
    # found by its labels (jobs / managed cluster) but its operation is not listed
    (wf(1, done=False, name=""), 50, W.WAIT, 1),  # work is running: observe again, never start a second one
    (wf(2, done=True, name=""), 50, W.DONE, 2),  # its jobs all succeeded: that is the result
    (wf(2, done=True, error="job failed", name=""), 50, W.INSTANTIATE, 3),
    (wf(2, done=True, error="job failed", name=""), 2, W.FAIL, 2),
]


@pytest.mark.parametrize(("observed", "max_attempts", "action", "attempt"), WORKFLOW_CASES)
def test_decide_workflow(observed, max_attempts, action, attempt) -> None:
    decision = decide_workflow(observed, max_attempts=max_attempts)
    assert (decision.action, decision.attempt) == (action, attempt)
    assert decision.reason


def test_a_failed_workflow_names_its_last_error() -> None:
    assert "boom" in decide_workflow(wf(2, done=True, error="boom"), max_attempts=2).reason

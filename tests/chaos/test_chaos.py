"""Faults a distributed Airflow inflicts on a run, on the real distributed stack (CeleryExecutor, Postgres, Redis,
two workers, two schedulers): a worker killed mid-job, a scheduler killed mid-run, the triggerer restarted while a
cluster is being created and a job runs; and the emulator's own faults (lost replies, UNAVAILABLE bursts, a cluster
that lands in ERROR) during a run. Each run must still succeed, and the emulator's own records must show
every cluster it created deleted and every Dataproc job started exactly once."""

from __future__ import annotations

import signal
import time

import pytest
from dagspec.dag_factory.stack.runs import RunResult, follow_run

from .kit import CHAOS_DAGS, Chaos

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.chaos, pytest.mark.timeout(900)]

_WORKER_PROCESS = {"worker-1": "celery-worker-1", "worker-2": "celery-worker-2"}


def _assert_clean(chaos: Chaos, dag_id: str, result: RunResult) -> None:
    """The run succeeded; every cluster created was deleted; each of its jobs was started once and is DONE."""
    assert result.ok, f"{dag_id} ended {result.state}: {result.states()}"
    records = chaos.records()
    created, deleted = records.stats["clusters_created"], records.stats["clusters_deleted"]
    assert created and created == deleted, (created, deleted)
    assert records.clusters_left() == []
    jobs = records.jobs_started("job_")
    assert sorted(j.rsplit("_", 1)[0] for j in jobs) == [f"job_{i}" for i in range(1, len(CHAOS_DAGS[dag_id][1]) + 1)]
    assert set(jobs.values()) == {1}, jobs
    assert records.jobs_not_done() == []


def _running_job(chaos: Chaos, dag_id: str, run_id: str, task_id: str, states: tuple[str, ...]) -> dict:
    """Wait until ``task_id`` is in one of ``states`` and the emulator has started its Dataproc job."""
    def ready() -> dict | None:
        ti = chaos.task(dag_id, run_id, task_id)
        started = any(j.startswith(task_id + "_") for j in chaos.records().stats["jobs_started"])
        return ti if ti.get("state") in states and started else None
    return chaos.wait(f"{task_id} {'/'.join(states)} with its Dataproc job started", ready)


def test_a_worker_killed_mid_job_is_retried_on_the_other_worker_which_reattaches_to_the_job(chaos: Chaos) -> None:
    dag_id = "chaos_worker_kill"
    chaos.admin("/reset", {})
    run_id = chaos.trigger(dag_id)
    ti = _running_job(chaos, dag_id, run_id, "job_1", ("running",))
    victim = _WORKER_PROCESS[ti["hostname"]]
    chaos.stack.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    result = follow_run(chaos.stack, dag_id, run_id, timeout=300)
    final = chaos.task(dag_id, run_id, "job_1")
    print(f"\nworker kill: job_1 ran on {ti['hostname']} (killed), retried as try {final['try_number']} on "
          f"{final['hostname']}; run {result.state} {time.monotonic() - killed_at:.0f}s after the kill")
    _assert_clean(chaos, dag_id, result)
    assert final["try_number"] >= 2 and final["hostname"] != ti["hostname"]
    log = chaos.stack.client.log_text(dag_id, run_id, "job_1", final["try_number"])
    assert "is RUNNING -> reattach" in log  # the retry found the job its killed try had submitted
    chaos.stack.restart(victim)


def test_a_scheduler_killed_mid_run_leaves_the_other_to_finish_the_run(chaos: Chaos) -> None:
    dag_id = "chaos_scheduler_kill"
    chaos.admin("/reset", {})
    run_id = chaos.trigger(dag_id)
    _running_job(chaos, dag_id, run_id, "job_1", ("running", "deferred"))
    chaos.stack.kill("scheduler-1", signal.SIGKILL)
    killed_at = time.monotonic()
    result = follow_run(chaos.stack, dag_id, run_id, timeout=300)
    print(f"\nscheduler kill: scheduler-1 killed while job_1 ran; run {result.state} "
          f"{time.monotonic() - killed_at:.0f}s later, tries {[(t['task_id'], t['try_number']) for t in result.tasks]}")
    _assert_clean(chaos, dag_id, result)
    assert {t["task_id"]: t["try_number"] for t in result.tasks} == dict.fromkeys(
        ["create_cluster_work", "job_1", "job_2", "job_3", "delete_cluster_work"], 1)  # nothing had to be retried
    chaos.stack.restart("scheduler-1")


def test_the_triggerer_restarted_while_a_cluster_is_created_and_a_job_runs_resumes_both(chaos: Chaos) -> None:
    dag_id = "chaos_triggerer_restart"
    chaos.admin("/reset", {})
    chaos.admin("/faults/slow-create", {"seconds": 20, "times": 1})
    run_id = chaos.trigger(dag_id)
    create = "create_cluster_work"
    chaos.wait(f"{create} deferred", lambda: chaos.task(dag_id, run_id, create).get("state") == "deferred")
    chaos.stack.kill("triggerer", signal.SIGKILL)
    time.sleep(2)
    chaos.stack.restart("triggerer")
    _running_job(chaos, dag_id, run_id, "job_1", ("deferred",))
    chaos.stack.kill("triggerer", signal.SIGKILL)
    time.sleep(2)
    chaos.stack.restart("triggerer")
    result = follow_run(chaos.stack, dag_id, run_id, timeout=300)
    print(f"\ntriggerer restart: killed and restarted during create and job; run {result.state}, tries "
          f"{[(t['task_id'], t['try_number']) for t in result.tasks]}")
    _assert_clean(chaos, dag_id, result)
    tries = {t["task_id"]: t["try_number"] for t in result.tasks}
    assert tries["create_cluster_work"] == 1 and tries["job_1"] == 1  # resumed by the new triggerer, not retried


def test_lost_replies_unavailable_bursts_and_a_cluster_in_error_end_in_one_recreated_cluster_and_jobs_run_once(
        chaos: Chaos) -> None:
    """CreateCluster and SubmitJob do their work but their replies are lost (the retries must find it, by request id
    and job id), reads answer UNAVAILABLE in bursts, and the first cluster lands in ERROR (the spec's default
    ``on_error: recreate``): the run succeeds on a recreated cluster and every job runs once."""
    dag_id = "chaos_emulator_faults"
    chaos.admin("/reset", {})
    chaos.admin("/faults/fail-method", {"method": "CreateCluster", "after": True, "times": 1})
    chaos.admin("/faults/fail-method", {"method": "SubmitJob", "after": True, "times": 1})
    chaos.admin("/faults/fail-method", {"method": "GetCluster", "code": "UNAVAILABLE", "times": 2})
    chaos.admin("/faults/fail-method", {"method": "GetJob", "code": "UNAVAILABLE", "times": 3})
    chaos.admin("/faults/cluster-error", {"times": 1})
    run_id = chaos.trigger(dag_id)
    result = follow_run(chaos.stack, dag_id, run_id, timeout=300)
    records = chaos.records()
    print(f"\nemulator faults: run {result.state}; clusters created {records.stats['clusters_created']}, deleted "
          f"{records.stats['clusters_deleted']}; jobs {records.stats['jobs_started']}; calls "
          f"{ {k: v for k, v in records.stats['calls'].items() if k in ('CreateCluster', 'SubmitJob', 'DeleteCluster')} }")
    _assert_clean(chaos, dag_id, result)
    assert list(records.stats["clusters_created"].values()) == [2]  # the one in ERROR, then its replacement
    assert chaos.admin("/faults") == {"methods": [], "jobs": [], "clusters": [], "slow_create": []}  # all fired

"""Faults a distributed Airflow inflicts on a run, on the real distributed stack (CeleryExecutor, Postgres, Redis,
two workers, two schedulers): a worker killed mid-job, a scheduler killed mid-run, the triggerer restarted while a
cluster is being created and a job runs, the worker running the delete-cluster teardown killed mid-delete; and the
emulator's own faults (lost replies, UNAVAILABLE bursts, a cluster that lands in ERROR, a job failing once) during a
run. Each run must still succeed, and the emulator's own records must show
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


def test_a_worker_killed_while_the_delete_cluster_teardown_runs_leaves_the_retry_to_delete_the_cluster(
        chaos: Chaos) -> None:
    """DeleteCluster answers UNAVAILABLE until the worker running the teardown is SIGKILLed mid-call, so the cluster
    is still RUNNING when its worker dies. Airflow retries the teardown on the other worker and that retry deletes
    it: the emulator's records show the cluster deleted by a DeleteCluster call (not by its TTL) after the kill."""
    dag_id, delete = "chaos_teardown_kill", "delete_cluster_work"
    chaos.admin("/reset", {})
    chaos.admin("/faults/fail-method", {"method": "DeleteCluster", "code": "UNAVAILABLE", "times": 100000})
    run_id = chaos.trigger(dag_id)

    def delete_stuck() -> dict | None:
        ti = chaos.task(dag_id, run_id, delete)
        calls = chaos.records().stats["calls"].get("DeleteCluster", 0)
        return ti if ti.get("state") == "running" and calls >= 2 else None

    ti = chaos.wait(f"{delete} running and its DeleteCluster calls refused", delete_stuck)
    victim = _WORKER_PROCESS[ti["hostname"]]
    chaos.stack.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    at_kill = chaos.records()
    chaos.admin("/faults/clear", {})
    result = follow_run(chaos.stack, dag_id, run_id, timeout=400)
    final = chaos.task(dag_id, run_id, delete)
    records = chaos.records()
    print(f"\nteardown kill: {delete} ran on {ti['hostname']} (killed with {at_kill.clusters_left()} still there), "
          f"retried as try {final['try_number']} on {final['hostname']}; DeleteCluster calls "
          f"{at_kill.stats['calls'].get('DeleteCluster')} before the kill, {records.stats['calls'].get('DeleteCluster')} "
          f"in all; TTL deletions {records.stats['ttl_deletions']}; run {result.state} "
          f"{time.monotonic() - killed_at:.0f}s after the kill")
    assert [c["state"] for c in at_kill.state["clusters"]] == ["RUNNING"]  # nothing had deleted it yet
    assert at_kill.stats["clusters_deleted"] == {}
    _assert_clean(chaos, dag_id, result)
    assert final["try_number"] >= 2 and final["hostname"] != ti["hostname"]  # the retry, on the other worker
    assert records.stats["ttl_deletions"] == {}  # deleted by the retry's DeleteCluster, not by the cluster's TTL
    assert records.stats["calls"]["DeleteCluster"] > at_kill.stats["calls"]["DeleteCluster"]
    chaos.stack.restart(victim)


def test_a_job_failing_once_is_resubmitted_exactly_once_by_the_task_retry_and_nothing_is_left_running(
        chaos: Chaos) -> None:
    """job_1's first attempt ends in ERROR (an injected failure): the task fails, Airflow retries it, and the retry
    sees attempt 1 failed and submits attempt 2 (``<job id>-r2``), which succeeds; job_2 then runs once."""
    dag_id = "chaos_job_fails_once"
    chaos.admin("/reset", {})
    chaos.admin("/faults/fail-job", {"marker": f"{dag_id}.job_1", "message": "chaos: job_1 fails once", "times": 1})
    run_id = chaos.trigger(dag_id)
    result = follow_run(chaos.stack, dag_id, run_id, timeout=300)
    records = chaos.records()
    tries = {t["task_id"]: t["try_number"] for t in result.tasks}
    started = records.jobs_started("job_")
    print(f"\njob fails once: run {result.state}; jobs started {started}; tries {tries}")
    assert result.ok, f"{dag_id} ended {result.state}: {result.states()}"
    created, deleted = records.stats["clusters_created"], records.stats["clusters_deleted"]
    assert created and created == deleted, (created, deleted)
    assert records.clusters_left() == []
    first = [j for j in started if j.startswith("job_1_") and not j.endswith("-r2")]
    assert len(first) == 1 and started[first[0]] == 1
    assert started.get(first[0] + "-r2") == 1  # resubmitted exactly once, as attempt 2
    assert sorted(j.rsplit("_", 1)[0] for j in started if j.startswith("job_2_")) == ["job_2"]
    assert set(started.values()) == {1} and len(started) == 3, started
    assert tries["job_1"] == 2 and tries["job_2"] == 1 and tries["create_cluster_work"] == 1
    mine = {j["job_id"]: j["state"] for j in records.state["jobs"] if j["job_id"] in started}
    assert mine == {first[0]: "ERROR", first[0] + "-r2": "DONE",
                    next(j for j in started if j.startswith("job_2_")): "DONE"}  # nothing left running
    assert chaos.admin("/faults")["jobs"] == []  # the injected failure fired

"""The local stack end to end through Airflow's REST API: the dag-processor serves every example and reports the
broken spec with its line; the scheduler, LocalExecutor and triggerer run the flagship on an ephemeral emulated
Dataproc cluster; the job tasks carry the Dataproc link and the driver output; every listener is on 127.0.0.1."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .kit import BROKEN, BROKEN_LINE, FLAGSHIP, Flagship

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.airflow, pytest.mark.timeout(900)]

JOBS = ("clean", "revenue_by_region", "top_products")


def test_every_example_dag_is_served_and_the_broken_spec_is_an_import_error_with_its_line(flagship: Flagship) -> None:
    client = flagship.stack.client
    assert set(client.dags()) == flagship.expected_dags
    deadline = time.monotonic() + 60
    errors = client.import_errors()
    while not errors and time.monotonic() < deadline:  # written by the dag-processor's next parse
        time.sleep(1)
        errors = client.import_errors()
    assert [e["filename"] for e in errors] == [BROKEN]
    trace = errors[0]["stack_trace"]
    assert f"broken_spec.yaml:{BROKEN_LINE}:" in trace and "dependson" in trace and "depends_on" in trace


def test_the_flagship_runs_through_the_scheduler_on_an_ephemeral_cluster(flagship: Flagship) -> None:
    run = flagship.run
    if not run.ok:
        from dagspec.dag_factory.stack.report import format_report, gather

        pytest.fail(format_report(gather(flagship.stack, run), run.seconds, 0.0))
    assert set(run.states().values()) == {"success"}
    assert {"create_cluster_etl", "delete_cluster_etl", *JOBS} <= set(run.states())
    stats = flagship.stack.emulator_stats()
    assert list(stats["clusters_created"].values()) == [1]
    assert stats["clusters_deleted"] == stats["clusters_created"]
    assert sorted(job.rsplit("_", 1)[0] for job in stats["jobs_started"]) == sorted(JOBS)
    assert set(stats["jobs_started"].values()) == {1}  # each job ran once
    summary = flagship.stack.client.xcom(FLAGSHIP, run.run_id, "check_results")
    assert summary["orders"] == 240 and sorted(summary["by_region"]) == ["amer", "apac", "emea"]


def test_job_tasks_have_the_dataproc_link_and_their_driver_output_in_the_task_log(flagship: Flagship) -> None:
    client, run = flagship.stack.client, flagship.run
    job_id = client.xcom(FLAGSHIP, run.run_id, "clean", "job_id")
    assert job_id and job_id.startswith("clean_")
    links = client.extra_links(FLAGSHIP, run.run_id, "clean")
    assert links["Dataproc Job"] and f"/jobs/{job_id}?" in links["Dataproc Job"]
    tries = {t["task_id"]: t["try_number"] for t in run.tasks}
    log = client.log_text(FLAGSHIP, run.run_id, "clean", tries["clean"])
    assert "[driver] clean-sales: kept 240 rows, dropped 4" in log


def _listening_inodes() -> dict[str, str]:
    """Socket inode -> local address of every TCP socket in LISTEN state on this machine."""
    out: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                out[fields[9]] = fields[1]
    return out


def _group_pids(pgids: set[int]) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) in pgids:
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def test_every_process_of_the_stack_listens_on_loopback_only(flagship: Flagship) -> None:
    pgids = {child.pid for child in flagship.stack.children.values() if child.pid}
    listening = _listening_inodes()
    found: dict[int, list[str]] = {}
    for pid in _group_pids(pgids):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in listening:
                found.setdefault(pid, []).append(listening[target[8:-1]])
    addresses = {addr.split(":")[0] for addrs in found.values() for addr in addrs}
    assert len([a for addrs in found.values() for a in addrs]) >= 4  # api-server, Dataproc gRPC, GCS, admin
    # 127.0.0.1 in /proc/net/tcp's byte order; in tcp6, ::ffff:127.0.0.1 (gRPC's socket) or ::1
    assert addresses <= {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}, found

"""What the demo learned about a finished run, gathered from the REST API, the emulator and GCS, and its text form."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from .runs import RunResult
from .stack import LocalStack

__all__ = ["JobOutput", "RunReport", "gather", "driver_lines", "format_report", "read_csv_results", "fmt_seconds"]

_NOISE = ("WARN", "log4j", "setLogLevel", "Setting default log level", "incubator modules", "Spark log level")


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 120 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def driver_lines(log_text: str) -> list[str]:
    """The job's driver output as the operator streamed it into the task log (``[driver] ...`` lines)."""
    return [line.split("[driver] ", 1)[1] for line in log_text.splitlines() if "[driver] " in line]


@dataclass
class JobOutput:
    task_id: str
    job_id: str | None
    driver: list[str]

    def summary(self, lines: int = 2) -> list[str]:
        """The last meaningful driver lines (Spark's start-up chatter left out)."""
        useful = [ln for ln in self.driver if ln.strip() and not any(n in ln for n in _NOISE)]
        return useful[-lines:]


@dataclass
class RunReport:
    run: RunResult
    stats: dict[str, Any] = field(default_factory=dict)
    jobs: list[JobOutput] = field(default_factory=list)
    check: Any = None
    results: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    failed_logs: dict[str, str] = field(default_factory=dict)


def read_csv_results(gcs_host: str, bucket: str, prefixes: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    """Rows of the CSV part files under each prefix of ``bucket``, read back from the GCS emulator."""
    # lazy: the Google client loads only when the report reads a bucket
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[import-untyped]

    client = storage.Client(project="local-project", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": gcs_host})
    out: dict[str, list[dict[str, str]]] = {}
    try:
        for name, prefix in prefixes.items():
            blobs = sorted(client.list_blobs(bucket, prefix=prefix), key=lambda b: b.name)
            parts = [b for b in blobs if b.name.rsplit("/", 1)[-1].startswith("part-")]
            out[name] = [row for b in parts for row in csv.DictReader(io.StringIO(b.download_as_text()))]
    finally:
        client.close()
    return out


def gather(stack: LocalStack, run: RunResult, result_prefixes: dict[str, str] | None = None,
           check_task: str = "check_results") -> RunReport:
    """Ask the API for each task's log, job id and XCom, the emulator for its counters, GCS for the results."""
    client, report = stack.client, RunReport(run)
    report.stats = stack.emulator_stats()
    for ti in run.tasks:
        task_id, tries = ti["task_id"], max(1, int(ti.get("try_number") or 1))
        if ti.get("state") is None:
            continue
        text = client.log_text(run.dag_id, run.run_id, task_id, tries)
        lines = driver_lines(text)
        if lines:
            job_id = client.xcom(run.dag_id, run.run_id, task_id, "job_id")
            report.jobs.append(JobOutput(task_id, job_id, lines))
        if ti.get("state") not in ("success", "skipped"):
            report.failed_logs[task_id] = "\n".join(text.splitlines()[-25:])
    if any(t["task_id"] == check_task and t.get("state") == "success" for t in run.tasks):
        report.check = client.xcom(run.dag_id, run.run_id, check_task)
    if result_prefixes:
        bucket = stack.env["DAGSPEC_DEMO_BUCKET"]
        report.results = read_csv_results(stack.emulator_env["STORAGE_EMULATOR_HOST"], bucket, result_prefixes)
    return report


def _order(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(tasks, key=lambda t: (t.get("start_date") or "~", t["task_id"]))


def format_report(report: RunReport, wall: float, started_in: float) -> str:
    run, out = report.run, []
    out.append(f"DAG run    {run.dag_id} / {run.run_id}: {run.state.upper()} in {fmt_seconds(run.seconds)}")
    out.append("Tasks")
    for ti in _order(run.tasks):
        took = f"{ti['duration']:.1f}s" if ti.get("duration") else ""
        tries = f"  (try {ti['try_number']})" if (ti.get("try_number") or 1) > 1 else ""
        out.append(f"  {ti['task_id']:<22} {str(ti.get('state')):<16} {took:>7}{tries}")
    created, deleted = report.stats.get("clusters_created", {}), report.stats.get("clusters_deleted", {})
    out.append("Clusters   (emulator admin stats)")
    for name in sorted(set(created) | set(deleted)):
        gone = "deleted" if deleted.get(name) else "NOT deleted"
        out.append(f"  {name}: created {created.get(name, 0)}x, {gone}")
    if not created:
        out.append("  none created")
    out.append(f"Jobs       {len(report.stats.get('jobs_started', {}))} started on the emulator; driver output:")
    for job in report.jobs:
        out.append(f"  {job.task_id:<18} {job.job_id or '?'}")
        out.extend(f"      | {line}" for line in job.summary())
        if not job.summary():
            out.append(f"      ({len(job.driver)} driver lines in the task log, only Spark's start-up messages)")
    if report.results:
        out.append("Results    read back from GCS")
        for name, rows in report.results.items():
            out.append(f"  {name}: {len(rows)} rows")
            out.extend(f"      {', '.join(f'{k}={v}' for k, v in row.items())}" for row in rows[:5])
    if report.check is not None:
        out.append(f"Check      check_results returned {report.check}")
    for task_id, text in report.failed_logs.items():
        out.append(f"--- last lines of the log of {task_id} ---")
        out.append(text)
    out.append(f"Wall time  {fmt_seconds(wall)} (stack start {fmt_seconds(started_in)}, run {fmt_seconds(run.seconds)})")
    return "\n".join(out)

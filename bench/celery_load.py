"""Load scenario on the distributed stack: N concurrent runs of a three-job pipeline, each on its own ephemeral
cluster, with the emulator's load-test jobs (no Spark work). Not a timed test: it reports what held.

    .venv/bin/python bench/celery_load.py --runs 20 --job-seconds 10

Reports runs succeeded, clusters created = deleted, jobs started = jobs expected (each once), the peak memory of
every process of the stack (RSS summed over their process groups) and the Celery worker slots held while the
clusters are created and the jobs run (task instances ``running``; the deferrable operators hand their waits to
the triggerer, so this stays close to zero). Last line: ``BENCH celery_load ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

from dagspec.dag_factory.stack import StackConfig, local_stack
from dagspec.dag_factory.stack.runs import TERMINAL_RUN_STATES

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "load_pipeline"


def _spec(seconds: int, runs: int) -> str:
    jobs = "".join(textwrap.dedent(f"""\
          job_{i}:
            pyspark:
              main: gs://dagspec-demo/load/noop.py
              properties:
                dataproc-emulator.simulate.seconds: "{seconds}"
            cluster: work
        """) + (f"  depends_on: job_{i - 1}\n" if i > 1 else "") for i in (1, 2, 3))
    return textwrap.dedent(f"""\
        description: Load scenario - three simulated jobs in a row on an ephemeral cluster per run.
        schedule: null
        start_date: 2024-06-01
        catchup: false
        max_active_runs: {runs}
        default_args:
          retries: 1
          retry_delay: 5s
        dataproc:
          staging_bucket: gs://dagspec-demo/staging
          poll_interval: 2s
          deferrable: true
        clusters:
          work:
            extends: single-node
        tasks:
        """) + textwrap.indent(jobs, "  ")


def _rss_kb(pgids: list[int]) -> int:
    """Resident memory of every process in the given process groups, in KiB."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp in pgids:
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--job-seconds", type=int, default=10)
    p.add_argument("--timeout", type=float, default=1200)
    args = p.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="dagspec-load-"))
    import shutil

    shutil.copytree(ROOT / "templates", base / "templates")
    dags = base / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "dags" / "dagspec_loader.py", dags)
    (dags / f"{DAG_ID}.yaml").write_text(_spec(args.job_seconds, args.runs))
    config = StackConfig(home=base / "home", dags_folder=dags, api_port=0, poll_interval="2s", parse_interval=30,
                         executor="celery", parallelism=64, warm_spark=False,  # simulated jobs: no Spark
                         extra_env={"AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "128",
                                    "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": str(args.runs)})
    print(f"load: {args.runs} runs x 3 jobs of {args.job_seconds}s on the celery stack (home {config.home})", flush=True)
    with local_stack(config, start_timeout=300, say=lambda m: print(f"  {m}", flush=True)) as stack:
        stack.wait_for_dags([DAG_ID], timeout=240)
        stack.client.unpause(DAG_ID)
        started = time.monotonic()
        run_ids = [stack.client.trigger(DAG_ID) for _ in range(args.runs)]
        pgids = [c.pid for c in stack.all_children() if c.pid]
        peak_kb, slots, deferred, queued = 0, [], [], []
        held_by: Counter[str] = Counter()  # running samples per task id: which tasks hold the worker slots
        states: dict[str, str] = {}
        while time.monotonic() - started < args.timeout:
            stack.check()
            peak_kb = max(peak_kb, _rss_kb(pgids))
            tis = stack.client.get(f"/dags/{DAG_ID}/dagRuns/~/taskInstances?limit=1000")["task_instances"]
            running = sum(1 for t in tis if t["state"] == "running")
            waiting = sum(1 for t in tis if t["state"] == "deferred")
            if running or waiting:
                slots.append(running)
                deferred.append(waiting)
                queued.append(sum(1 for t in tis if t["state"] in ("scheduled", "queued")))
                held_by.update(t["task_id"] for t in tis if t["state"] == "running")
            states = {r: stack.client.run(DAG_ID, r)["state"] for r in run_ids}
            if all(s in TERMINAL_RUN_STATES for s in states.values()):
                break
            time.sleep(2)
        wall = time.monotonic() - started
        stats = stack.emulator_stats()
    succeeded = sum(1 for s in states.values() if s == "success")
    created, deleted = stats["clusters_created"], stats["clusters_deleted"]
    jobs = stats["jobs_started"]
    once = all(v == 1 for v in jobs.values())
    mean_slots = sum(slots) / len(slots) if slots else 0.0
    print(f"\nruns succeeded      {succeeded}/{args.runs} in {wall:.0f}s\n"
          f"clusters            created {sum(created.values())} ({len(created)} names), deleted "
          f"{sum(deleted.values())}; equal: {created == deleted}\n"
          f"jobs started        {sum(jobs.values())} (expected {3 * args.runs}); each once: {once}\n"
          f"peak memory (RSS)   {peak_kb / 1024:.0f} MiB, every process of the stack\n"
          f"worker slots held   max {max(slots, default=0)}, mean {mean_slots:.2f} while up to "
          f"{max(deferred, default=0)} tasks waited deferred on the triggerer\n"
          f"slots held by task  {', '.join(f'{k} {v}' for k, v in held_by.most_common())} (running samples); "
          f"tasks waiting for a slot (scheduled/queued): max {max(queued, default=0)}, mean "
          f"{sum(queued) / len(queued) if queued else 0.0:.1f}", flush=True)
    print(f"BENCH celery_load runs={args.runs} succeeded={succeeded} clusters_created={sum(created.values())} "
          f"clusters_deleted={sum(deleted.values())} jobs_started={sum(jobs.values())} jobs_expected={3 * args.runs} "
          f"peak_rss_mib={peak_kb / 1024:.0f} slots_max={max(slots, default=0)} slots_mean={mean_slots:.2f} "
          f"wall_s={wall:.0f}", flush=True)
    ok = succeeded == args.runs and created == deleted and once and sum(jobs.values()) == 3 * args.runs
    if ok:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    sys.exit(main())

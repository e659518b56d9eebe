"""What the chaos tests share: their specs (simulated Dataproc jobs, no Spark), the emulator's records of a run,
and small waits on the stack's state."""

from __future__ import annotations

import json
import textwrap
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagspec.dag_factory.stack import LocalStack

__all__ = ["CHAOS_DAGS", "ROOT", "Chaos", "Records", "write_specs"]

ROOT = Path(__file__).resolve().parents[2]
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# dag_id -> (deferrable, seconds of each job in order). Jobs do no Spark work (the emulator's load-test mode).
CHAOS_DAGS: dict[str, tuple[bool, tuple[int, ...]]] = {
    "chaos_worker_kill": (False, (45,)),          # the worker itself polls the job: kill it mid-job
    "chaos_scheduler_kill": (True, (8, 8, 8)),    # three jobs in a row: a scheduler dies between them
    "chaos_triggerer_restart": (True, (10,)),     # the triggerer waits on the cluster and the job
    "chaos_emulator_faults": (True, (3, 3)),      # lost replies, UNAVAILABLE bursts, a cluster in ERROR
    "chaos_teardown_kill": (True, (2,)),          # the worker running the delete-cluster teardown is killed
    "chaos_job_fails_once": (True, (3, 3)),       # job_1's first attempt fails: the task retry resubmits it
}


def _spec(deferrable: bool, seconds: tuple[int, ...], dag_id: str = "") -> str:
    jobs = ""
    previous = ""
    for i, s in enumerate(seconds, 1):
        jobs += textwrap.dedent(f"""\
          job_{i}:
            pyspark:
              main: gs://dagspec-demo/chaos/noop.py
              properties:
                dataproc-emulator.simulate.seconds: "{s}"
                chaos.marker: "{dag_id}.job_{i}"
            cluster: work
        """)
        if previous:
            jobs += f"  depends_on: {previous}\n"
        previous = f"job_{i}"
    return textwrap.dedent(f"""\
        description: A chaos test's pipeline of simulated Dataproc jobs on an ephemeral cluster.
        schedule: null
        start_date: 2024-06-01
        catchup: false
        default_args:
          retries: 2
          retry_delay: 2s
        dataproc:
          staging_bucket: gs://dagspec-demo/staging
          poll_interval: 1s
          deferrable: {str(deferrable).lower()}
        clusters:
          work:
            extends: single-node
        tasks:
        """) + textwrap.indent(jobs, "  ")


def write_specs(dags: Path) -> None:
    for dag_id, (deferrable, seconds) in CHAOS_DAGS.items():
        (dags / f"{dag_id}.yaml").write_text(_spec(deferrable, seconds, dag_id))


@dataclass
class Records:
    """The emulator's own records after a run: its counters (/stats) and what it still holds (/state)."""

    stats: dict[str, Any]
    state: dict[str, Any]

    def clusters_created(self, prefix: str) -> dict[str, int]:
        return {k: v for k, v in self.stats["clusters_created"].items() if prefix in k}

    def clusters_deleted(self, prefix: str) -> dict[str, int]:
        return {k: v for k, v in self.stats["clusters_deleted"].items() if prefix in k}

    def jobs_started(self, prefix: str) -> dict[str, int]:
        return {k: v for k, v in self.stats["jobs_started"].items() if k.startswith(prefix)}

    def clusters_left(self) -> list[str]:
        return [c["name"] for c in self.state["clusters"]]

    def jobs_not_done(self) -> list[tuple[str, str]]:
        return [(j["job_id"], j["state"]) for j in self.state["jobs"] if j["state"] != "DONE"]


@dataclass
class Chaos:
    """The running distributed stack plus the emulator's admin API."""

    stack: LocalStack

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.stack.admin_url + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                         method="GET" if body is None else "POST")
        with _NO_PROXY.open(request, timeout=10) as response:
            return json.loads(response.read())

    def records(self) -> Records:
        return Records(self.admin("/stats"), self.admin("/state"))

    def trigger(self, dag_id: str) -> str:
        self.stack.client.unpause(dag_id)
        return self.stack.client.trigger(dag_id)

    def task(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        for ti in self.stack.client.task_instances(dag_id, run_id):
            if ti["task_id"] == task_id:
                return ti
        return {}

    def wait(self, what: str, predicate: Callable[[], Any], timeout: float = 180.0) -> Any:
        """Poll ``predicate`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.stack.check()
            value = predicate()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}")

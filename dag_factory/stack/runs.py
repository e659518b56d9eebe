"""Run a DAG on the local stack through the REST API and follow it, reporting each task state change."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .stack import LocalStack

__all__ = ["RunResult", "follow_run", "run_dag", "TERMINAL_RUN_STATES"]

TERMINAL_RUN_STATES = ("success", "failed")


@dataclass
class RunResult:
    """A finished (or abandoned) DAG run: its final state and its task instances as the API shows them."""

    dag_id: str
    run_id: str
    state: str
    seconds: float
    tasks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def states(self) -> dict[str, str | None]:
        return {t["task_id"]: t.get("state") for t in self.tasks}


def follow_run(stack: LocalStack, dag_id: str, run_id: str, timeout: float = 900.0,
               on_change: Callable[[str, str | None], None] | None = None, interval: float = 1.0) -> RunResult:
    """Poll a run until it ends (or ``timeout``), calling ``on_change(task_id, state)`` on every change."""
    started = time.monotonic()
    seen: dict[str, str | None] = {}
    while True:
        stack.check()
        run = stack.client.run(dag_id, run_id)
        tasks = stack.client.task_instances(dag_id, run_id)
        for ti in sorted(tasks, key=lambda t: (t.get("start_date") or "~", t["task_id"])):
            key, state = ti["task_id"] if ti.get("map_index", -1) < 0 else f"{ti['task_id']}[{ti['map_index']}]", ti["state"]
            if key not in seen or seen[key] != state:
                seen[key] = state
                if on_change is not None and state is not None:
                    on_change(key, state)
        elapsed = time.monotonic() - started
        if run["state"] in TERMINAL_RUN_STATES or elapsed > timeout:
            state = run["state"] if run["state"] in TERMINAL_RUN_STATES else f"timeout ({run['state']})"
            return RunResult(dag_id, run_id, state, elapsed, tasks)
        time.sleep(interval)


def run_dag(stack: LocalStack, dag_id: str, conf: dict[str, Any] | None = None, timeout: float = 900.0,
            on_change: Callable[[str, str | None], None] | None = None) -> RunResult:
    """Unpause ``dag_id``, trigger a manual run now and follow it to its end."""
    stack.client.unpause(dag_id)
    run_id = stack.client.trigger(dag_id, conf)
    return follow_run(stack, dag_id, run_id, timeout, on_change)

"""Helpers for the provider tests: trigger runs, job scripts (no Google fakes; task contexts: task_kit)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

from dagspec.dag_factory.airflow.build import import_object
from dagspec.provider.compat import TaskDeferred

__all__ = ["run_trigger", "drive", "ended_in_triggerer", "write_scripts", "FAST"]

FAST = {"poll_interval": 0.1}


async def _first(trigger: Any) -> Any:
    async for event in trigger.run():
        return event
    return None


def run_trigger(trigger: Any) -> Any:
    """Round-trip the trigger through ``serialize()`` (as the triggerer does), run it, return its one event."""
    path, kwargs = trigger.serialize()
    rebuilt = import_object(path)(**kwargs)
    return asyncio.run(_first(rebuilt))


def ended_in_triggerer(event: Any) -> bool:
    """The event ends the task in the triggerer (a ``TaskSuccessEvent`` and the like) instead of resuming it."""
    return getattr(event, "task_instance_state", None) is not None


def drive(op: Any, context: dict[str, Any], max_deferrals: int = 50) -> Any:
    """Run ``op.execute``; whenever it defers, run the trigger and resume it, like Airflow would."""
    try:
        return op.execute(context)
    except TaskDeferred as deferred:
        current = deferred
    for _ in range(max_deferrals):
        event = run_trigger(current.trigger)
        if ended_in_triggerer(event):  # as Airflow's triggerer does: push the event's XComs, end the task
            for key, value in (event.xcoms or {}).items():
                context["ti"].xcom_push(key=key, value=value)
            return (event.xcoms or {}).get("return_value")
        try:
            return getattr(op, current.method_name)(context, event=event.payload, **(current.kwargs or {}))
        except TaskDeferred as again:
            current = again
    raise AssertionError("the operator kept deferring")


SCRIPTS = {
    "ok.py": '''
        import os, sys
        out = sys.argv[1]
        print("driver says hello")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "result.txt"), "w") as f:
            f.write("ok\\n")
        print("result written")
    ''',
    "fail.py": '''
        import sys
        for i in range(60):
            print(f"working on step {i}")
        raise SystemExit("bad input: column price is missing")
    ''',
    "slow.py": '''
        import sys, time
        print("slow job started", flush=True)
        time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 3)
        print("slow job finished")
    ''',
}


def write_scripts(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in SCRIPTS.items():
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root

"""The saga transform: each compensation task runs on failure and is followed by a guard that keeps the run failed.

A task with ``compensates: [t1, t2]`` must run only when one of them failed, be skipped when they
succeed, and the run must still end FAILED after a successful compensation. Airflow 3.3 decides a
run's state from its *effective leaves* only (``DagRun.update_state`` → ``_tis_for_dagrun_state``:
tasks with no downstream other than teardowns): FAILED if every task is finished and a leaf is
``failed``/``upstream_failed``, SUCCESS if every leaf is ``success``/``skipped``. Making ``t1``
upstream of the compensation turns ``t1`` from a leaf into an inner task, so a failed ``t1``
followed by a successful compensation would end SUCCESS. The plan therefore says:

* the compensation gets trigger rule ``one_failed`` (runs as soon as one compensated task is
  ``failed``/``upstream_failed``; ``skipped`` once all of them finished otherwise);
* a ``CompensationGuard`` leaf (``<compensation>__saga_failed``, same group, ``retries=0``, trigger
  rule ``all_success``) follows it and fails on purpose. Compensation succeeded → guard FAILED →
  run FAILED. Compensation failed → guard ``upstream_failed`` → run FAILED. Compensated tasks
  succeeded → compensation skipped → guard skipped → leaves decide as usual.

A teardown-based trick (keeping ``t1`` a leaf by making the compensation a teardown) was rejected:
teardowns get ``all_done_setup_success``, are excluded from the run state and are re-run on clears.
Being part of the plan, the guards show in ``render``, exports, golden plans and ``deploy --dry-run``.
"""

from __future__ import annotations

from .context import CompileContext
from .graph import Graph
from .plan import GUARD_SUFFIX, TaskPlan, replace
from .tasks import GUARD_OPERATOR

__all__ = ["guard_id", "add_guards"]


def guard_id(task_id: str) -> str:
    """The id of the guard task that follows compensation ``task_id``."""
    return task_id + GUARD_SUFFIX


def add_guards(ctx: CompileContext, graph: Graph, tasks: dict[str, TaskPlan]) -> None:
    """Give each compensation in ``tasks`` its trigger rule and its guard; a clash with a spec's id is DSP022."""
    for task in [t for t in tasks.values() if t.compensates]:
        gid = guard_id(task.task_id)
        if gid in graph.nodes or gid in tasks:
            where = graph.nodes[gid].path if gid in graph.nodes else ("tasks",)
            ctx.error("DSP022", f"task id `{gid}` is reserved for the guard dagspec adds after compensation "
                      f"`{task.task_id}`", where, "rename that task", key=True)
            continue
        tasks[task.task_id] = replace(task, args={**task.args, "trigger_rule": "one_failed"})
        tasks[gid] = TaskPlan(gid, GUARD_OPERATOR, {
            "compensation": task.task_id, "compensates": list(task.compensates), "retries": 0,
            "trigger_rule": "all_success",
            "doc_md": f"Fails the run after compensation `{task.task_id}` ran "
                      f"(one of {', '.join(task.compensates)} failed).",
        }, (task.task_id,), group=task.group, kind="saga_guard", source=task.source)

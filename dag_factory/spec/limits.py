"""Per-spec budgets: how many tasks and DAGs one spec file may ask for, checked before they cost anything.

Airflow times the dagspec loader as one DAG file (``[core] dagbag_import_timeout``, 30 s): a spec
that asks for tens of thousands of tasks would take the whole folder down with it. The budgets turn
such a spec into its own error, found by counting the YAML before any task is validated, compiled
or built. The defaults are generous; administrators change them in Airflow's configuration
(``[dagspec] max_tasks_per_dag`` ...) or the matching environment variables
(``AIRFLOW__DAGSPEC__MAX_TASKS_PER_DAG`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Diagnostic
from .yaml_source import SourceMap

__all__ = ["Budget", "count_tasks", "TASKS_CODE", "INSTANCES_CODE", "FILE_TASKS_CODE", "GENERATED_KINDS"]

TASKS_CODE = "DSP063"  # one DAG has more tasks than max_tasks_per_dag
INSTANCES_CODE = "DSP064"  # one file makes more DAGs than max_instances_per_file
FILE_TASKS_CODE = "DSP065"  # one file makes more tasks in all than max_tasks_per_file
GENERATED_KINDS = frozenset({"cluster_create", "cluster_delete", "param_items", "saga_guard"})  # tasks the compiler adds


@dataclass(frozen=True)
class Budget:
    """Limits for one spec file; ``None`` switches a limit off."""

    max_tasks_per_dag: int | None = 5000
    max_instances_per_file: int | None = 500
    max_tasks_per_file: int | None = 20000

    KEYS = ("max_tasks_per_dag", "max_instances_per_file", "max_tasks_per_file")

    @classmethod
    def from_env(cls, env: Mapping[str, Any]) -> Budget:
        """The budget from ``AIRFLOW__DAGSPEC__MAX_...`` values (empty: the default; 0 or less: no limit)."""
        values: dict[str, int | None] = {}
        for key in cls.KEYS:
            raw = env.get(f"AIRFLOW__DAGSPEC__{key.upper()}")
            if raw is None or not str(raw).strip():
                continue
            try:
                number = int(str(raw).strip())
            except ValueError:
                raise ValueError(f"[dagspec] {key} must be a whole number, not {raw!r}") from None
            values[key] = number if number > 0 else None
        return cls(**values)  # type: ignore[arg-type]

    def check_tasks(self, tasks: Any, source: SourceMap, where: tuple[Any, ...] = ("tasks",)) -> list[Diagnostic]:
        """An error at ``tasks:`` when one DAG's tasks (groups' members included) exceed the budget."""
        limit = self.max_tasks_per_dag
        if limit is None:
            return []
        count = count_tasks(tasks)
        if count <= limit:
            return []
        loc = source.find(where, key=True)
        return [Diagnostic(TASKS_CODE, f"{count} tasks in one DAG, more than the budget of {limit}",
                           loc.file, loc.line, loc.column,
                           "split it into several specs (joined by assets or `trigger_dag`), or ask your "
                           "administrator to raise `[dagspec] max_tasks_per_dag`")]

    def check_instances(self, instances: list[Any], tasks: Any, source: SourceMap) -> list[Diagnostic]:
        """Errors at ``instances:`` when the file makes too many DAGs, or too many tasks in all."""
        loc = source.find(("instances",), key=True)
        out = []
        if self.max_instances_per_file is not None and len(instances) > self.max_instances_per_file:
            out.append(Diagnostic(INSTANCES_CODE, f"{len(instances)} instances, more than the budget of "
                                  f"{self.max_instances_per_file} DAGs per spec file", loc.file, loc.line, loc.column,
                                  "split the instances over several spec files, or ask your administrator to raise "
                                  "`[dagspec] max_instances_per_file`"))
        limit = self.max_tasks_per_file
        if limit is not None and not out:
            per_dag = count_tasks(tasks)
            if per_dag * len(instances) > limit:
                out.append(Diagnostic(FILE_TASKS_CODE, f"{len(instances)} instances of {per_dag} tasks make "
                                      f"{per_dag * len(instances)} tasks, more than the budget of {limit} per spec file",
                                      loc.file, loc.line, loc.column,
                                      "split the instances over several spec files, or ask your administrator "
                                      "to raise `[dagspec] max_tasks_per_file`"))
        return out

    def check_plans(self, plans: list[Any], file: str) -> list[Diagnostic]:
        """The same limits on compiled plans (for plans that come from the cache, compiled under
        another budget): a cheap count, placed at each plan's source."""
        out: list[Diagnostic] = []
        if self.max_instances_per_file is not None and len(plans) > self.max_instances_per_file:
            out.append(Diagnostic(INSTANCES_CODE, f"{len(plans)} DAGs, more than the budget of "
                                  f"{self.max_instances_per_file} DAGs per spec file", file, 1, 1))
        total = 0
        for plan in plans:
            count = sum(1 for t in plan.tasks if t.kind not in GENERATED_KINDS)
            total += count
            if self.max_tasks_per_dag is not None and count > self.max_tasks_per_dag:
                src = plan.source
                out.append(Diagnostic(TASKS_CODE, f"DAG `{plan.dag_id}` has {count} tasks, more than the budget "
                                      f"of {self.max_tasks_per_dag}", src.file, src.line, src.column))
        if not out and self.max_tasks_per_file is not None and total > self.max_tasks_per_file:
            out.append(Diagnostic(FILE_TASKS_CODE, f"{total} tasks in all, more than the budget of "
                                  f"{self.max_tasks_per_file} per spec file", file, 1, 1))
        return out


def count_tasks(tasks: Any) -> int:
    """The tasks below a raw ``tasks:`` mapping, group members included (groups themselves are not tasks)."""
    count = 0
    pending = [tasks]
    while pending:
        current = pending.pop()
        if not isinstance(current, dict):
            continue
        for value in current.values():
            if isinstance(value, dict) and isinstance(value.get("tasks"), dict):
                pending.append(value["tasks"])
            else:
                count += 1
    return count

"""Compiled plan -> Dataproc workflow template, for specs made only of Dataproc jobs on one cluster.

Reads the same plan Airflow is built from: job tasks carry Dataproc job dicts already. An ephemeral
cluster becomes ``placement.managedCluster``, a selected one ``placement.clusterSelector`` (a
cluster selected by name uses Dataproc's ``goog-dataproc-cluster-name`` label); ``depends_on``
becomes ``prerequisiteStepIds``, task ``retries`` ``scheduling.maxFailuresTotal``,
``dagrun_timeout`` ``dagTimeout``, and every field that is exactly ``{{ params.NAME }}`` a field of
parameter ``NAME`` (its ``pattern``/``enum`` become ``validation``), holding the param's default.
What a template cannot express is reported as a DSP088 error on the task that prevents export.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dagspec.provider.dataproc_rules import (
    MAX_PREFIX_LENGTH,
    label_problems,
    parameter_name_problem,
    step_id_problem,
)
from dagspec.provider.fieldpath import format_path

from ..compile.plan import DagPlan, Duration, TaskPlan
from ..errors import Diagnostic
from .names import JOB_TYPES, convert_keys
from .regexes import regexes_of
from .to_spec import NAME_LABEL

__all__ = ["Exported", "export_plan", "DEFAULT_IDLE_TTL", "DEFAULT_AUTO_TTL"]

DEFAULT_IDLE_TTL, DEFAULT_AUTO_TTL = 1800, 14400
_REF = re.compile(r"^\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_JINJA = re.compile(r"\{\{|\{%")
_JOB_KINDS = set(JOB_TYPES.values())
# operator arguments that say where a job runs or how Airflow waits: not part of a template
_PLACEMENT_ARGS = {"job", "cluster", "cluster_name", "cluster_labels", "files_root", "project_id", "region",
                   "staging_bucket", "gcp_conn_id", "deferrable", "poll_interval", "retries"}
# Airflow-only knobs that do not change what runs
_HARMLESS_ARGS = {"owner", "queue", "pool", "pool_slots", "priority_weight", "weight_rule", "doc_md",
                  "task_display_name", "email", "email_on_retry", "email_on_failure", "retry_delay",
                  "retry_exponential_backoff", "max_retry_delay", "executor", "run_as_user", "do_xcom_push",
                  "max_active_tis_per_dag", "max_active_tis_per_dagrun"}


@dataclass
class Exported:
    """The template (camelCase, as ``gcloud dataproc workflow-templates instantiate-from-file`` reads it),
    or None, and the diagnostics: errors (DSP088) name what prevents the export."""

    template: dict[str, Any] | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    blockers: tuple[str, ...] = ()  # the ids of the tasks that prevent the export (sorted)


def _seconds_text(seconds: float) -> str:
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds}s"


class _Exporter:
    def __init__(self, plan: DagPlan) -> None:
        self.plan = plan
        self.diags: list[Diagnostic] = []
        self.blockers: set[str] = set()

    def problem(self, task: TaskPlan | None, message: str, hint: str = "", *, warning: bool = False) -> None:
        src = task.source if task is not None and task.source else self.plan.source
        if task is not None and not warning:
            self.blockers.add(task.task_id)
        self.diags.append(Diagnostic("DSP089" if warning else "DSP088", message, src.file, src.line, src.column, hint,
                                     "warning" if warning else "error"))

    def run(self) -> Exported:
        plan = self.plan
        creates = {t.args.get("cluster"): t for t in plan.tasks if t.kind == "cluster_create"}
        # the cluster's lifecycle is the template's placement; a saga guard's compensation is reported itself
        lifecycle = {t.task_id for t in plan.tasks if t.kind in ("cluster_create", "cluster_delete", "saga_guard")}
        jobs: list[tuple[TaskPlan, tuple[str, Any]]] = []
        for task in plan.tasks:
            if task.task_id in lifecycle:
                continue
            if task.kind not in _JOB_KINDS or "job" not in task.args:
                what = "a serverless batch" if "batch" in task.args else f"a `{task.kind}` task"
                self.problem(task, f"task `{task.task_id}` is {what}; a workflow template runs only Dataproc jobs "
                             "on one cluster", "move it to another DAG, or run the template from a DAG with "
                             "DataprocInstantiateWorkflowTemplateOperator")
                continue
            if self.task_ok(task):
                jobs.append((task, self.target(task)))
        if plan.schedule.kind != "none":
            self.problem(None, f"the schedule ({plan.schedule.kind}) is not part of a workflow template; it is "
                         "not exported", "instantiate the template on a schedule with Cloud Scheduler", warning=True)
        if not jobs and not self.diags:
            self.problem(None, "the spec has no Dataproc job tasks to export")
        targets = Counter(t for _, t in jobs)
        if len(targets) > 1:
            main = targets.most_common(1)[0][0]
            for task, target in jobs:
                if target != main:
                    self.problem(task, f"task `{task.task_id}` runs on {self.describe(target)}, the others on "
                                 f"{self.describe(main)}; a workflow template has one cluster",
                                 "split the spec into one spec per cluster")
        if not jobs:
            return Exported(None, self.diags, tuple(sorted(self.blockers)))
        main_target = targets.most_common(1)[0][0]
        kept = [(task, target) for task, target in jobs if target == main_target]
        template = self.build(kept, creates)
        self.labels(template, [task for task, _ in kept], creates.get(main_target[1]) if main_target[0] == "cluster"
                    else None)
        if any(d.severity == "error" for d in self.diags):  # found while building too: report them all
            return Exported(None, self.diags, tuple(sorted(self.blockers)))
        return Exported(template, self.diags)

    def describe(self, target: tuple[str, Any]) -> str:
        kind, value = target
        if kind == "cluster":
            return f"cluster `{value}`"
        if kind == "name":
            return f"the existing cluster `{value}`"
        return f"a cluster selected by labels {dict(value)}"

    def task_ok(self, task: TaskPlan) -> bool:
        problems = []
        if task.group:
            problems.append(f"is inside task group `{task.group}`")
        if task.expand or task.expand_kwargs:
            problems.append("is mapped (`expand`)")
        if task.setup or task.teardown or task.teardown_of:
            problems.append("is a setup/teardown task")
        if task.compensates:
            problems.append("compensates other tasks")
        extra = sorted(set(task.args) - _PLACEMENT_ARGS - _HARMLESS_ARGS)
        if extra:
            problems.append(f"sets {', '.join(f'`{e}`' for e in extra)}, which Dataproc templates cannot express")
        for problem in problems:
            self.problem(task, f"task `{task.task_id}` {problem}")
        return not problems

    def target(self, task: TaskPlan) -> tuple[str, Any]:
        args = task.args
        if args.get("cluster"):
            return "cluster", args["cluster"]
        if args.get("cluster_name"):
            return "name", args["cluster_name"]
        return "labels", tuple(sorted((args.get("cluster_labels") or {}).items()))

    # -- building ------------------------------------------------------------------------------
    def build(self, jobs: list[tuple[TaskPlan, tuple[str, Any]]], creates: dict[Any, TaskPlan]) -> dict[str, Any]:
        plan = self.plan
        kind, value = jobs[0][1]
        owner: dict[tuple[Any, ...], TaskPlan | None] = {}
        if kind == "cluster":
            create = creates[value]
            placement = {"managed_cluster": self.managed(value, create)}
            owner[("placement",)] = create
        elif kind == "name":
            placement = {"cluster_selector": {"cluster_labels": {NAME_LABEL: value}}}
        else:
            placement = {"cluster_selector": {"cluster_labels": dict(value)}}
        ids = {task.task_id for task, _ in jobs}
        steps = []
        for i, (task, _) in enumerate(jobs):
            owner[("jobs", i)] = task
            bad_id = step_id_problem(task.task_id)
            if bad_id:
                self.problem(task, f"task `{task.task_id}` becomes a step id Dataproc refuses: {bad_id}",
                             "rename the task: 3 to 50 letters, digits, `_` or `-`, a letter or digit at both ends")
            body = {k: v for k, v in dict(task.args["job"]).items() if k != "labels"}
            step: dict[str, Any] = {"step_id": task.task_id, **body}
            if task.args["job"].get("labels"):
                step["labels"] = dict(task.args["job"]["labels"])
            prereqs = [u for u in task.upstream if u in ids]
            if prereqs:
                step["prerequisite_step_ids"] = prereqs
            if task.args.get("retries") is not None:
                step["scheduling"] = {"max_failures_total": int(task.args["retries"])}
            self.local_files(task, body)
            steps.append(step)
        template: dict[str, Any] = {"id": re.sub(r"[^A-Za-z0-9_-]", "-", plan.dag_id)}
        labels = self.hoist(steps, placement)
        if labels:
            template["labels"] = labels
        template["placement"] = placement
        template["jobs"] = steps
        parameters = self.parameters(template, owner)
        if parameters:
            template["parameters"] = parameters
        timeout = plan.dag_kwargs.get("dagrun_timeout")
        if isinstance(timeout, Duration):
            template["dag_timeout"] = _seconds_text(timeout.seconds)
        return convert_keys(template, "camel")

    def labels(self, template: dict[str, Any], tasks: list[TaskPlan], create: TaskPlan | None) -> None:
        """Labels Dataproc would refuse (upper case, too long, more than 32) prevent the export."""
        holders: list[tuple[TaskPlan | None, str, Any]] = [(None, "the template", template.get("labels"))]
        holders += [(task, f"task `{task.task_id}`", step.get("labels"))
                    for task, step in zip(tasks, template["jobs"], strict=True)]
        managed = template["placement"].get("managedCluster")
        if managed is not None:
            holders.append((create, "the cluster", managed.get("labels")))
        for task, where, labels in holders:
            for problem in label_problems(dict(labels or {})):
                self.problem(task, f"{where}: {problem}", "Dataproc label keys start with a lower-case letter; keys "
                             "and values hold only lower-case letters, digits, `_` and `-`, at most 63 characters")

    def managed(self, key: str, create: TaskPlan) -> dict[str, Any]:
        args = create.args
        config = dict(args.get("cluster_config") or {})
        lifecycle = dict(config.pop("lifecycle_config", None) or {})
        idle, auto = args.get("idle_delete_ttl", DEFAULT_IDLE_TTL), args.get("auto_delete_ttl", DEFAULT_AUTO_TTL)
        if idle != DEFAULT_IDLE_TTL:
            lifecycle["idle_delete_ttl"] = _seconds_text(idle)
        if auto != DEFAULT_AUTO_TTL:
            lifecycle["auto_delete_ttl"] = _seconds_text(auto)
        if lifecycle:
            config["lifecycle_config"] = lifecycle
        name = re.sub(r"[^a-z0-9-]+", "-", str(key).lower()).strip("-") or "cluster"
        if not name[0].isalpha():
            name = f"c-{name}"
        # a managed cluster name is a prefix Dataproc appends a suffix to: 2 to 35 characters
        name = name[:MAX_PREFIX_LENGTH].rstrip("-").ljust(2, "0")
        out: dict[str, Any] = {"cluster_name": name, "config": config}
        if args.get("labels"):
            out["labels"] = dict(args["labels"])
        return out

    def hoist(self, steps: list[dict[str, Any]], placement: dict[str, Any]) -> dict[str, str]:
        """Labels every job (and the managed cluster) carries become template labels (Dataproc propagates them)."""
        holders = [s.get("labels") or {} for s in steps]
        managed = placement.get("managed_cluster")
        if managed is not None:
            holders.append(managed.get("labels") or {})
        common = dict(holders[0])
        for labels in holders[1:]:
            common = {k: v for k, v in common.items() if labels.get(k) == v}
        common = {k: v for k, v in common.items() if not _JINJA.search(str(v))}
        if not common:
            return {}
        for holder in [*steps, *([managed] if managed is not None else [])]:
            rest = {k: v for k, v in (holder.get("labels") or {}).items() if k not in common}
            if rest:
                holder["labels"] = rest
            else:
                holder.pop("labels", None)
        return common

    def local_files(self, task: TaskPlan, body: dict[str, Any]) -> None:
        for _kind, job in body.items():
            for key, value in (job.items() if isinstance(job, dict) else ()):
                if not (key.endswith("_uri") or key.endswith("_uris")):
                    continue
                for uri in value if isinstance(value, list) else [value]:
                    text = str(uri)
                    ref = _REF.match(text)
                    if ref and ref.group(1) in self.plan.params:
                        text = str(self.plan.params[ref.group(1)].default or "")
                    if text and "://" not in text:
                        self.problem(task, f"task `{task.task_id}` uses the local file `{text}`; a workflow template "
                                     "needs gs:// URIs", "upload it (e.g. `dagspec deploy`) and write its gs:// URI")

    def parameters(self, template: dict[str, Any], owner: dict[tuple[Any, ...], TaskPlan | None]) -> list[dict[str, Any]]:
        fields: dict[str, list[tuple[Any, ...]]] = {}

        def walk(node: Any, path: tuple[Any, ...], holder: Any) -> Any:
            holder = owner.get(path[:2], owner.get(path[:1], holder))
            if isinstance(node, dict):
                return {k: walk(v, path + (k,), holder) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v, path + (i,), holder) for i, v in enumerate(node)]
            if isinstance(node, str):
                ref = _REF.match(node)
                if ref and ref.group(1) in self.plan.params:
                    fields.setdefault(ref.group(1), []).append(path)
                    default = self.plan.params[ref.group(1)].default
                    return "" if default is None else str(default)
                if _JINJA.search(node):
                    where = f"task `{holder.task_id}`" if isinstance(holder, TaskPlan) else "the template"
                    self.problem(holder if isinstance(holder, TaskPlan) else None,
                                 f"{where} uses Airflow templating `{node}`, which Dataproc does not render",
                                 "only a whole field that is exactly `{{ params.NAME }}` becomes a template parameter")
            return node

        filled = walk(template, (), None)
        template.clear()
        template.update(filled)
        out = []
        for name, param in self.plan.params.items():
            if name not in fields:
                self.problem(None, f"param `{name}` is not a whole field of any job or of the cluster; it is not "
                             "exported", warning=True)
                continue
            bad_name = parameter_name_problem(name)
            if bad_name:
                self.problem(None, f"param `{name}` becomes a template parameter name Dataproc refuses: {bad_name}",
                             f"rename the param to `{re.sub(r'[^A-Z0-9_]', '_', name.upper())[:40]}`")
            entry: dict[str, Any] = {"name": name, "fields": [format_path(p, template) for p in fields[name]]}
            if param.description:
                entry["description"] = param.description
            schema = dict(param.schema or {})
            if schema.get("pattern") and schema.get("enum"):
                self.problem(None, f"param `{name}` has `pattern` and `enum`; the template keeps `enum`", warning=True)
            if schema.get("enum"):
                entry["validation"] = {"values": {"values": [str(v) for v in schema["enum"]]}}
            elif schema.get("pattern"):
                entry["validation"] = {"regex": {"regexes": regexes_of(str(schema["pattern"]))}}
            out.append(entry)
        return out


def export_plan(plan: DagPlan) -> Exported:
    """The workflow template equivalent to ``plan``, or None with DSP088 errors naming what prevents it."""
    return _Exporter(plan).run()

"""Dataproc workflow template -> spec data: steps become tasks, placement a cluster, parameters params.

``template_to_spec`` takes the template as read from YAML (camelCase, snake_case or mixed keys) and
its ``SourceMap``, and returns plain spec data (what a spec file would hold), where each spec path
came from in the template (for positions), and diagnostics placed on the template's lines:

- each step -> a task named by its ``stepId``, ``depends_on`` = ``prerequisiteStepIds``; job fields
  take the spec's names (``mainPythonFileUri`` -> ``main`` ...); ``scheduling`` -> ``retries``;
- ``placement.managedCluster`` -> an ephemeral cluster named ``clusterName`` (``lifecycleConfig``
  TTLs -> ``idle_delete_ttl``/``auto_delete_ttl``); ``placement.clusterSelector`` -> ``select``;
- template ``labels`` -> added to the cluster's and every job's labels (Dataproc propagates them);
- ``parameters`` -> string params with ``pattern`` (from ``regex``, matched in full) or ``enum``
  (from ``values``); each field a parameter names holds ``{{ params.NAME }}``, rendered by Airflow
  at run time. A field that is not text (``numInstances: 2``) keeps the template's value, with a
  warning: Airflow renders templates as text and Dataproc wants a number there;
- ``dagTimeout`` -> ``dagrun_timeout``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from dagspec.provider.dataproc_rules import (
    label_issues,
    managed_cluster_prefix_problem,
    parameter_name_problem,
    step_id_problem,
)
from dagspec.provider.fieldpath import FieldPathError, resolve_path

from ..errors import Diagnostic, did_you_mean
from ..spec.yaml_source import SourceMap, YamlPath
from .names import IGNORED_TEMPLATE_KEYS, JOB_TYPES, QUERY_KINDS, SPEC_FIELDS, STEP_KEYS, TEMPLATE_KEYS, camel, convert_keys
from .positions import original_path
from .regexes import pattern_of

__all__ = ["Converted", "template_to_spec", "is_workflow_template", "param_ref", "SELECTED_CLUSTER",
           "STEP_ID_CODE", "PARAMETER_NAME_CODE", "NAMING_CODE"]

# Dataproc's own rules (dagspec.provider.dataproc_rules), so a template fails at validate time, not at instantiate
STEP_ID_CODE = "DSP077"  # a step id Dataproc refuses (3-50 chars, no `_`/`-` at either end)
PARAMETER_NAME_CODE = "DSP078"  # a parameter name Dataproc refuses (`[A-Z0-9_]`, at most 40)
NAMING_CODE = "DSP079"  # a managed-cluster name prefix or a label Dataproc refuses

SELECTED_CLUSTER = "selected"
NAME_LABEL = "goog-dataproc-cluster-name"
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR = re.compile(r"\$\{(?=[a-z]+\.[A-Za-z0-9_]+)")


def param_ref(name: str) -> str:
    """The Jinja text that stands for a param's value in a spec field."""
    return "{{ params." + name + " }}"


def is_workflow_template(data: Any) -> bool:
    """Whether YAML data is a Dataproc workflow template: ``jobs`` whose items have a ``stepId``."""
    if not isinstance(data, dict) or "tasks" in data or not isinstance(data.get("jobs"), list):
        return False
    return any(isinstance(j, dict) and ("stepId" in j or "step_id" in j) for j in data["jobs"])


@dataclass
class Converted:
    """The result of an import: spec data, where it came from, and every problem found."""

    data: dict[str, Any]
    origins: dict[YamlPath, YamlPath] = field(default_factory=dict)  # spec path -> normalized template path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    template: dict[str, Any] = field(default_factory=dict)  # the normalized (snake_case) template


def _seconds(text: Any) -> float | None:
    """A protobuf Duration (``"1800s"``, ``"1.5s"``) or a number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(text))
    if not match:
        return None
    value = float(match.group(1))
    return int(value) if value.is_integer() else value


def _text(value: Any) -> Any:
    """Scalars as text (Dataproc job fields and labels are strings); lists and maps walked."""
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _escape(value: Any) -> Any:
    """Protect ``${ns.NAME}`` written in the template from the spec's variable syntax."""
    if isinstance(value, str):
        return _VAR.sub("$${", value)
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


class _TemplateConverter:
    def __init__(self, raw: dict[str, Any], source: SourceMap, use_id: bool) -> None:
        self.raw = raw
        self.source = source
        self.use_id = use_id
        self.norm: dict[str, Any] = convert_keys(raw, "snake")
        self.out = Converted({}, template=self.norm)

    # -- diagnostics ------------------------------------------------------------------------------
    def diag(self, code: str, message: str, path: YamlPath, hint: str = "", *, key: bool = False,
             warning: bool = False) -> None:
        loc = self.source.find(original_path(path, self.raw), key=key)
        self.out.diagnostics.append(Diagnostic(code, message, loc.file, loc.line, loc.column, hint,
                                               "warning" if warning else "error"))

    def link(self, spec_path: YamlPath, norm_path: YamlPath, value: Any) -> None:
        self.out.origins[spec_path] = norm_path
        if isinstance(value, dict):
            for k, v in value.items():
                self.link(spec_path + (k,), norm_path + (k,), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.link(spec_path + (i,), norm_path + (i,), v)

    # -- the whole template -----------------------------------------------------------------------
    def run(self) -> Converted:
        t = self.norm
        for key in t:
            if key not in TEMPLATE_KEYS | IGNORED_TEMPLATE_KEYS:
                self.diag("DSP086", f"template key `{key}` is not kept in the spec", (key,),
                          did_you_mean(key, TEMPLATE_KEYS) or "dagspec specs have no equivalent", key=True,
                          warning=True)
        jobs = t.get("jobs")
        if not isinstance(jobs, list) or not jobs:
            self.diag("DSP080", "a workflow template needs `jobs`: a list of steps", ("jobs",), key=True)
            return self.out
        steps = self.check_steps(jobs)
        subst = self.parameters(t, steps)
        data: dict[str, Any] = {}
        if self.use_id and isinstance(t.get("id"), str):
            data["dag_id"] = t["id"]
            self.out.origins[("dag_id",)] = ("id",)
        if self.out_params:
            data["params"] = self.out_params
        if "dag_timeout" in t:
            seconds = _seconds(t["dag_timeout"])
            if seconds is None:
                self.diag("DSP080", f"`dagTimeout` must be a duration like `1800s`, not `{t['dag_timeout']}`",
                          ("dag_timeout",))
            else:
                data["dagrun_timeout"] = seconds
                self.out.origins[("dagrun_timeout",)] = ("dag_timeout",)
        cluster = self.cluster(subst)
        if cluster is not None:
            data["clusters"] = {cluster[0]: cluster[1]}
        data["tasks"] = self.tasks(subst, steps, cluster[0] if cluster else None)
        self.out.data = _escape(data)
        return self.out

    # -- steps -------------------------------------------------------------------------------------
    def check_steps(self, jobs: list[Any]) -> dict[str, tuple[int, str | None]]:
        """Step id -> (index, job field); reports malformed steps, unknown prerequisites and cycles."""
        steps: dict[str, tuple[int, str | None]] = {}
        for i, job in enumerate(jobs):
            if not isinstance(job, dict) or not isinstance(job.get("step_id"), str) or not job["step_id"]:
                self.diag("DSP080", "each step needs a `stepId`", ("jobs", i), "write `- stepId: clean`")
                continue
            sid = job["step_id"]
            bad_id = step_id_problem(sid)
            if bad_id:
                self.diag(STEP_ID_CODE, bad_id, ("jobs", i, "step_id"),
                          "Dataproc step ids are 3 to 50 letters, digits, `_` or `-`, with a letter or digit at "
                          "both ends, e.g. `clean-sales`")
            self.check_labels(job.get("labels"), ("jobs", i, "labels"), f"step `{sid}`: ")
            if sid in steps:
                first = self.source.find(original_path(("jobs", steps[sid][0], "step_id"), self.raw))
                self.diag("DSP080", f"duplicate step id `{sid}` (first at line {first.line})", ("jobs", i, "step_id"))
                continue
            kinds = [k for k in job if k in JOB_TYPES]
            unknown = [k for k in job if k not in STEP_KEYS]
            typo = False
            for key in unknown:
                if key.endswith("_job") or not kinds:
                    typo = True
                    close = did_you_mean(key, JOB_TYPES)
                    self.diag("DSP081", f"step `{sid}`: unknown job type `{original_path(('jobs', i, key), self.raw)[-1]}`",
                              ("jobs", i, key), close.replace("_job", "Job") if close else
                              "job types: pysparkJob, sparkJob, sparkSqlJob, hiveJob, pigJob, hadoopJob, sparkRJob, "
                              "prestoJob, trinoJob, flinkJob", key=True)
                else:
                    self.diag("DSP086", f"step `{sid}`: `{key}` is not kept in the spec", ("jobs", i, key),
                              "dagspec job tasks have no equivalent", key=True, warning=True)
            if not kinds and not typo:
                self.diag("DSP081", f"step `{sid}` has no job", ("jobs", i, "step_id"),
                          "add one of pysparkJob, sparkJob, sparkSqlJob, hiveJob, ...")
            if len(kinds) > 1:
                self.diag("DSP081", f"step `{sid}` has several jobs: {', '.join(kinds)}", ("jobs", i, kinds[1]),
                          "a step runs one job; split it into steps", key=True)
            steps[sid] = (i, kinds[0] if len(kinds) == 1 else None)
        for sid, (i, _) in steps.items():
            prereqs = jobs[i].get("prerequisite_step_ids") or []
            if not isinstance(prereqs, list):
                self.diag("DSP080", "`prerequisiteStepIds` must be a list of step ids", ("jobs", i, "prerequisite_step_ids"))
                jobs[i]["prerequisite_step_ids"] = []
                continue
            for j, pre in enumerate(prereqs):
                if pre not in steps:
                    self.diag("DSP082", f"step `{sid}`: unknown prerequisite step `{pre}`",
                              ("jobs", i, "prerequisite_step_ids", j), did_you_mean(str(pre), steps) or
                              f"steps: {', '.join(steps)}")
        self.cycles(jobs, steps)
        return steps

    def cycles(self, jobs: list[Any], steps: dict[str, tuple[int, str | None]]) -> None:
        graph = {s: [p for p in (jobs[i].get("prerequisite_step_ids") or []) if p in steps] for s, (i, _) in steps.items()}
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(node: str, stack: list[str]) -> None:
            state[node] = 1
            for nxt in graph[node]:
                if state.get(nxt) == 1:
                    members = stack[stack.index(nxt):] + [node] if nxt in stack else [nxt, node]
                    members = list(dict.fromkeys(members))
                    if frozenset(members) not in reported:
                        reported.add(frozenset(members))
                        chain = " -> ".join([*members, members[0]])
                        self.diag("DSP083", f"steps depend on each other in a cycle: {chain}",
                                  ("jobs", steps[members[0]][0], "prerequisite_step_ids"),
                                  "remove one of these prerequisites", key=True)
                elif state.get(nxt) is None:
                    visit(nxt, stack + [nxt])
            state[node] = 2

        for node in graph:
            if node not in state:
                visit(node, [node])

    # -- parameters --------------------------------------------------------------------------------
    out_params: dict[str, Any]

    def parameters(self, t: dict[str, Any], steps: dict[str, tuple[int, str | None]]) -> dict[str, Any]:
        """Check the parameters, fill ``out_params``; the template with ``{{ params.X }}`` put in their fields."""
        self.out_params = {}
        subst = copy.deepcopy(t)
        params = t.get("parameters") or []
        if not isinstance(params, list):
            self.diag("DSP085", "`parameters` must be a list", ("parameters",))
            return subst
        owner: dict[YamlPath, str] = {}
        for i, p in enumerate(params):
            here = ("parameters", i)
            name = p.get("name") if isinstance(p, dict) else None
            if not isinstance(name, str) or not _PARAM_NAME.match(name):
                self.diag("DSP085", "each parameter needs a `name` (letters, digits, `_`)", here,
                          "Dataproc parameter names look like `INPUT_PATH`")
                continue
            if name in self.out_params:
                self.diag("DSP085", f"duplicate parameter `{name}`", here + ("name",))
                continue
            bad_name = parameter_name_problem(name)
            if bad_name:
                self.diag(PARAMETER_NAME_CODE, bad_name, here + ("name",),
                          f"Dataproc parameter names are capital letters, digits and `_`: write `{name.upper()[:40]}`"
                          if name.upper() != name else "at most 40 capital letters, digits and `_`, not a digit first")
            fields = p.get("fields")
            if not isinstance(fields, list) or not fields:
                self.diag("DSP085", f"parameter `{name}` needs `fields`: the paths it sets", here + ("name",))
                continue
            paths: list[YamlPath] = []
            for j, text in enumerate(fields):
                try:
                    path = resolve_path(str(text), t)
                except FieldPathError as exc:
                    self.diag("DSP084", f"parameter `{name}`: {exc}", here + ("fields", j),
                              "paths look like `jobs['clean'].pysparkJob.args[0]` or "
                              "`placement.managedCluster.config.masterConfig.numInstances`")
                    continue
                if path in owner:
                    self.diag("DSP085", f"field `{text}` is set by parameters `{owner[path]}` and `{name}`",
                              here + ("fields", j))
                    continue
                owner[path] = name
                paths.append(path)
            if not paths:
                continue
            self.out_params[name] = self.param(name, p, here, t, paths, subst)
        return subst

    def param(self, name: str, p: dict[str, Any], here: YamlPath, t: dict[str, Any], paths: list[YamlPath],
              subst: dict[str, Any]) -> dict[str, Any]:
        default = _get(t, paths[0])
        out: dict[str, Any] = {"type": "string", "default": _text(default)}
        self.out.origins[("params", name)] = here
        self.out.origins[("params", name, "default")] = here + ("fields", 0)
        if p.get("description"):
            out["description"] = str(p["description"])
        validation = p.get("validation") or {}
        regexes = ((validation.get("regex") or {}).get("regexes")) if isinstance(validation, dict) else None
        values = ((validation.get("values") or {}).get("values")) if isinstance(validation, dict) else None
        if regexes is not None and values is not None:
            self.diag("DSP085", f"parameter `{name}`: give `regex` or `values`, not both", here + ("validation",))
        if regexes is not None:
            if not isinstance(regexes, list) or not regexes:
                self.diag("DSP085", f"parameter `{name}`: `regex.regexes` must be a non-empty list", here + ("validation",))
            else:
                out["pattern"] = pattern_of([str(r) for r in regexes])
                self.out.origins[("params", name, "pattern")] = here + ("validation", "regex")
                try:
                    ok = any(re.fullmatch(str(r), out["default"]) for r in regexes)
                except re.error as exc:
                    self.diag("DSP085", f"parameter `{name}`: bad regex: {exc}", here + ("validation",))
                    ok = True
                if not ok:
                    self._no_default(name, out, here, "its regexes")
        elif values is not None:
            if not isinstance(values, list) or not values:
                self.diag("DSP085", f"parameter `{name}`: `values.values` must be a non-empty list", here + ("validation",))
            else:
                out["enum"] = [_text(v) for v in values]
                self.out.origins[("params", name, "enum")] = here + ("validation", "values", "values")
                if out["default"] not in out["enum"]:
                    self._no_default(name, out, here, "its values")
        for path in paths:
            self.substitute(name, path, t, subst)
        return out

    def _no_default(self, name: str, out: dict[str, Any], here: YamlPath, what: str) -> None:
        self.diag("DSP085", f"parameter `{name}`: the template's value `{out['default']}` does not match {what}; "
                  "the param has no default, so every run must give it", here + ("name",), warning=True)
        out["default"] = None

    def substitute(self, name: str, path: YamlPath, t: dict[str, Any], subst: dict[str, Any]) -> None:
        value = _get(t, path)
        field_name = camel(str(path[-1]) if not isinstance(path[-1], int) else str(path[-2]))
        here = next(((("parameters", i, "fields", j)) for i, p in enumerate(t.get("parameters") or [])
                     if isinstance(p, dict) and p.get("name") == name
                     for j, f in enumerate(p.get("fields") or []) if _safe_resolve(f, t) == path), ("parameters",))
        if path[:3] == ("placement", "cluster_selector", "zone"):
            self.diag("DSP087", f"parameter `{name}`: `zone` of a cluster selector is not kept in the spec", here,
                      warning=True)
        elif path == ("placement", "managed_cluster", "cluster_name"):
            self.diag("DSP087", f"parameter `{name}` sets the cluster name, which dagspec derives per run; "
                      "it has no effect", here, warning=True)
        elif path[0] == "jobs" and len(path) > 2 and path[2] in ("step_id", "prerequisite_step_ids", "scheduling"):
            self.diag("DSP084", f"parameter `{name}`: `{field_name}` cannot be set by a parameter", here)
        elif not isinstance(value, str) or "lifecycle_config" in path:
            self.diag("DSP087", f"parameter `{name}`: `{field_name}` is not a text field; Airflow renders params as "
                      f"text, so the spec keeps the template's value `{value}` there", here,
                      "the param is still offered; pass the value through a text field (args, properties) to use it",
                      warning=True)
        else:
            _set(subst, path, param_ref(name))

    # -- placement ---------------------------------------------------------------------------------
    def check_labels(self, labels: Any, where: YamlPath, what: str = "") -> None:
        """Dataproc's label rules (lower-case keys and values, at most 32) on a template's label map."""
        if not isinstance(labels, dict):
            return
        for key, in_value, problem in label_issues(_text(labels)):
            self.diag(NAMING_CODE, what + problem, where if key is None else where + (key,),
                      "label keys start with a lower-case letter; keys and values hold only lower-case letters, "
                      "digits, `_` and `-`, at most 63 characters; at most 32 labels",
                      key=key is None or not in_value)

    def cluster(self, t: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        placement = t.get("placement")
        labels = _text(t.get("labels") or {})
        self.check_labels(t.get("labels"), ("labels",), "template ")
        if not isinstance(placement, dict) or not placement:
            self.diag("DSP080", "a workflow template needs `placement`: `managedCluster` or `clusterSelector`",
                      ("placement",) if "placement" in t else (), "add `placement: {managedCluster: {clusterName: "
                      "etl, config: {}}}`", key=True)
            return None
        kinds = [k for k in ("managed_cluster", "cluster_selector") if k in placement]
        if len(kinds) != 1:
            self.diag("DSP080", "`placement` needs exactly one of `managedCluster` and `clusterSelector`",
                      ("placement",), key=True)
            return None
        if kinds[0] == "cluster_selector":
            sel = placement["cluster_selector"] or {}
            if sel.get("zone"):
                self.diag("DSP086", "the selector's `zone` is not kept in the spec (dagspec selects by labels)",
                          ("placement", "cluster_selector", "zone"), key=True, warning=True)
            wanted = _text(sel.get("cluster_labels") or {})
            self.link(("clusters", SELECTED_CLUSTER), ("placement", "cluster_selector"), {})
            if list(wanted) == [NAME_LABEL]:
                self.link(("clusters", SELECTED_CLUSTER, "select", "name"),
                          ("placement", "cluster_selector", "cluster_labels", NAME_LABEL), wanted[NAME_LABEL])
                return SELECTED_CLUSTER, {"select": {"name": wanted[NAME_LABEL]}}
            self.link(("clusters", SELECTED_CLUSTER, "select", "labels"), ("placement", "cluster_selector", "cluster_labels"),
                      wanted)
            return SELECTED_CLUSTER, {"select": {"labels": wanted}}
        mc = placement["managed_cluster"] or {}
        base = ("placement", "managed_cluster")
        name = str(mc.get("cluster_name") or "cluster")
        if not mc.get("cluster_name"):
            self.diag(NAMING_CODE, "the managed cluster needs a `clusterName` (Dataproc adds a suffix to it)", base,
                      "write `clusterName: etl`", key=True)
        else:
            bad_prefix = managed_cluster_prefix_problem(str(mc["cluster_name"]))
            if bad_prefix:
                self.diag(NAMING_CODE, bad_prefix, base + ("cluster_name",),
                          "Dataproc appends a random suffix to this prefix: 2 to 35 lower-case letters, digits and "
                          "`-`, a letter first, no `-` at the end")
        self.check_labels(mc.get("labels"), base + ("labels",), "managed cluster ")
        config = copy.deepcopy(mc.get("config") or {})
        cluster: dict[str, Any] = {}
        self.link(("clusters", name), base, {})
        lifecycle = config.pop("lifecycle_config", None) or {}
        for key in ("idle_delete_ttl", "auto_delete_ttl"):
            if key in lifecycle:
                seconds = _seconds(lifecycle.pop(key))
                where = base + ("config", "lifecycle_config", key)
                if seconds is None:
                    self.diag("DSP080", f"`{key}` must be a duration like `1800s`", where)
                else:
                    cluster[key] = seconds
                    self.out.origins[("clusters", name, key)] = where
        for key in lifecycle:
            self.diag("DSP086", f"`lifecycleConfig.{key}` is not kept: dagspec clusters use idle and auto-delete TTLs",
                      base + ("config", "lifecycle_config", key), key=True, warning=True)
        cluster["config"] = config
        self.link(("clusters", name, "config"), base + ("config",), config)
        own = _text(mc.get("labels") or {})
        cluster["labels"] = {**labels, **own}
        for k in cluster["labels"]:
            self.out.origins[("clusters", name, "labels", k)] = base + ("labels", k) if k in own else ("labels", k)
        if not cluster["labels"]:
            del cluster["labels"]
        return name, cluster

    # -- tasks -------------------------------------------------------------------------------------
    def tasks(self, t: dict[str, Any], steps: dict[str, tuple[int, str | None]], cluster: str | None) -> dict[str, Any]:
        labels = _text(t.get("labels") or {})
        tasks: dict[str, Any] = {}
        for sid, (i, job_field) in steps.items():
            job = t["jobs"][i]
            here = ("jobs", i)
            self.out.origins[("tasks", sid)] = here
            if job_field is None:
                tasks[sid] = {"empty": True}
                continue
            kind = JOB_TYPES[job_field]
            raw_body = job.get(job_field) or {}
            if not isinstance(raw_body, dict):
                self.diag("DSP080", f"step `{sid}`: the job must be a mapping of its fields, not "
                          f"`{type(raw_body).__name__}`", here + (job_field,), "write e.g. "
                          "`pysparkJob: {mainPythonFileUri: gs://bucket/job.py}`")
                tasks[sid] = {"empty": True}
                continue
            body = self.job_body(sid, kind, raw_body, here + (job_field,))
            own = _text(job.get("labels") or {})
            if labels or own:
                body["labels"] = {**labels, **own}
                for k in body["labels"]:
                    self.out.origins[("tasks", sid, kind, "labels", k)] = here + ("labels", k) if k in own else ("labels", k)
            task: dict[str, Any] = {kind: body}
            self.out.origins[("tasks", sid, kind)] = here + (job_field,)
            if cluster:
                task["cluster"] = cluster
            prereqs = [p for p in job.get("prerequisite_step_ids") or [] if p in steps]
            if prereqs:
                task["depends_on"] = prereqs
                self.link(("tasks", sid, "depends_on"), here + ("prerequisite_step_ids",), prereqs)
            scheduling = job.get("scheduling") or {}
            if isinstance(scheduling, dict) and scheduling:
                retries = scheduling.get("max_failures_total", scheduling.get("max_failures_per_hour"))
                if "max_failures_per_hour" in scheduling:
                    self.diag("DSP086", f"step `{sid}`: `maxFailuresPerHour` becomes Airflow `retries` (no hourly window)",
                              here + ("scheduling", "max_failures_per_hour"), key=True, warning=True)
                if retries is not None:
                    task["retries"] = int(retries)
                    self.out.origins[("tasks", sid, "retries")] = here + ("scheduling",)
            tasks[sid] = task
        return tasks

    def job_body(self, sid: str, kind: str, job: dict[str, Any], here: YamlPath) -> dict[str, Any]:
        fields = SPEC_FIELDS[kind]
        body: dict[str, Any] = {}
        for key, value in job.items():
            if key in fields:
                body[fields[key]] = value if key == "continue_on_failure" else _text(value)
                self.link(("tasks", sid, kind, fields[key]), here + (key,), value)
            elif key == "query_list" and kind in QUERY_KINDS and isinstance(value, dict):
                queries = _text(value.get("queries") or [])
                if len(queries) == 1:
                    body["query"] = queries[0]
                    self.out.origins[("tasks", sid, kind, "query")] = here + ("query_list", "queries", 0)
                else:
                    body["queries"] = queries
                    self.link(("tasks", sid, kind, "queries"), here + ("query_list", "queries"), queries)
            else:
                known = sorted(set(fields) | ({"query_list"} if kind in QUERY_KINDS else set()))
                self.diag("DSP086", f"step `{sid}`: `{key}` is not kept in the spec", here + (key,),
                          f"{kind} tasks take: {', '.join(known)}", key=True, warning=True)
        return body


def _get(data: Any, path: YamlPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: YamlPath, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _safe_resolve(text: Any, t: dict[str, Any]) -> YamlPath | None:
    try:
        return resolve_path(str(text), t)
    except FieldPathError:
        return None


def template_to_spec(raw: dict[str, Any], source: SourceMap, *, use_id: bool = True) -> Converted:
    """Convert a workflow template read from YAML into spec data (see the module docstring).

    ``use_id``: take ``id`` as the ``dag_id`` (the CLI); the dag_folder hook names DAGs by file instead.
    """
    return _TemplateConverter(raw, source, use_id).run()

"""The spec reference in Markdown, generated from the spec models (docs/spec-reference.md)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from . import dataproc_schema, models
from .shorthand import Shorthand

__all__ = ["render_reference", "CODES"]

CODES = {
    "DSP001": "YAML syntax error, unreadable file, or a value YAML cannot build",
    "DSP002": "a YAML tag (`!!python/...`) or merge key (`<<`) that specs do not allow",
    "DSP003": "the file is too large, nested too deeply, or expands (anchors) too much",
    "DSP004": "a key appears twice in one mapping",
    "DSP010": "unknown key (with a did-you-mean hint)",
    "DSP011": "wrong type or invalid value",
    "DSP012": "a required key is missing",
    "DSP013": "a task has no action key, or several",
    "DSP014": "a param's schema is not valid JSON Schema, or its default does not satisfy it",
    "DSP015": "a param `pattern` that is not a regular expression",
    "DSP016": "a param `pattern` whose matching can take exponential time (nested or ambiguous repeats)",
    "DSP020": "reference to an unknown task, group or param",
    "DSP021": "dependency cycle (its members are named) or a task depending on itself",
    "DSP022": "invalid or duplicate task id",
    "DSP023": "the same DAG id in two files",
    "DSP030": "bad schedule: cron expression or preset",
    "DSP040": "an operator or callable import path that does not resolve",
    "DSP041": "an argument the operator (or Airflow's DAG) does not take",
    "DSP042": "an operator or callable the administrator's policy does not allow",
    "DSP043": "an import path that names the wrong kind of object (a module as operator, a value as callable)",
    "DSP044": "a notifier or timetable whose `args` do not fit its signature",
    "DSP045": "under a policy: an `airflow:` pass-through key that loads code or reads files outside the dag folder",
    "DSP046": "the DAG id is already defined by a Python DAG file (or another DAG file Airflow parsed)",
    "DSP047": "a cluster's or a Dataproc job's `labels` break Dataproc's rules (keys start with a lower-case letter; keys "
              "and values at most 63 of lower-case letters, digits, `_`, `-`): a warning naming the label the operators "
              "send instead; an error when two labels become one, or over 32 with the labels dagspec adds",
    "DSP050": "unknown variable `${ns.NAME}`",
    "DSP051": "template or cluster profile not found, or templates extending each other in a cycle",
    "DSP052": "`${env.NAME}` names an environment variable the administrator's `allowed_env` does not allow",
    "DSP060": "unknown cluster, or a Dataproc task without `cluster:`/`serverless:`",
    "DSP061": "a cluster no task uses (warning)",
    "DSP062": "Dataproc job fields that do not fit the job type or placement",
    "DSP063": "a DAG with more tasks than `[dagspec] max_tasks_per_dag` (default 5000)",
    "DSP064": "a spec file with more instances than `[dagspec] max_instances_per_file` (default 500)",
    "DSP065": "a spec file whose DAGs have more tasks in all than `[dagspec] max_tasks_per_file` (default 20000)",
    "DSP066": "a spec whose DAGs took longer to build than `[dagspec] max_build_seconds` (loader only)",
    "DSP067": "a field Dataproc's message does not have, in a cluster `config` (with a did-you-mean hint)",
    "DSP068": "a Dataproc field of the wrong type, or a value its enum does not have",
    "DSP069": "a Dataproc TTL outside Dataproc's limits (idle delete 5 min-14 days, auto-delete and serverless 10 min-14 days)",
    "DSP070": "invalid DAG id",
    "DSP071": "a file a spec names resolves (symlinks resolved) outside the dag folder and the template folders",
    "DSP072": "a file a spec names does not exist or is not a regular file (a folder, FIFO or device)",
    "DSP073": "a file a spec names is larger than its cap (1 MiB for doc and SQL files, 1 GiB for job files)",
    "DSP074": "a text file a spec names (`doc_file`) is not UTF-8",
    "DSP075": "a bucket dagspec would write to that `[dagspec] allowed_buckets` does not allow",
    "DSP076": "deploy: a symlink leading out of the dag folder, or a loop, is not followed (warning)",
    "DSP077": "workflow template: a step id Dataproc refuses (3 to 50 letters, digits, `_`, `-`; no `_`/`-` at either end)",
    "DSP078": "workflow template: a parameter name Dataproc refuses (capital letters, digits and `_`, at most 40, "
              "not a digit first)",
    "DSP079": "workflow template: a managed cluster name prefix (2 to 35 characters) or a label (lower-case keys and "
              "values, at most 32) Dataproc refuses",
    "DSP080": "workflow template structure (no `jobs` with `stepId`, duplicate step ids, a bad `workflow_template:` "
              "include)",
    "DSP081": "workflow template: a step with an unknown job type, no job, or several",
    "DSP082": "workflow template: an unknown prerequisite step",
    "DSP083": "workflow template: steps depending on each other in a cycle (its members are named)",
    "DSP084": "workflow template: a parameter field path that names nothing, or a field a parameter cannot set",
    "DSP085": "workflow template: a parameter problem (not a list, no name, a default its validation rejects)",
    "DSP086": "workflow template: a template field the spec cannot keep (warning)",
    "DSP087": "workflow template: a parameter that cannot be templated (warning)",
    "DSP088": "export-template: what prevents exporting the spec as a workflow template",
    "DSP089": "export-template: what the export drops (warning)",
    "DSP090": "an Airflow 3.4 YAML DAG (`$schema: https://airflow.apache.org/schemas/dag/...`) where a dagspec spec was expected",
    "DSP091": "Airflow 3.4 importer: compiling and building this spec took longer than `[core] dagbag_import_timeout`",
    "DSP092": "validate/deploy --airflow-version: a DAG or operator argument that the target Airflow line does not have",
    "DSP093": "validate/deploy --airflow-version: a spec feature the target Airflow line cannot run (on 2.11: an asset "
              "named without a URI, `wait_for_asset`)",
    "DSP094": "deploy: a problem that only matters once the dag folder is in a bucket (no loader, a file outside it)",
    "DSP095": "validate/deploy: the dag folder has more specs than its parse units are sized for; "
              "run `dagspec init-dag-folder DIR --auto` (warning)",
    "DSP096": "validate/deploy: the dag folder's loader files disagree (two layouts, or a unit file missing) (warning)",
    "DSP100": "import-dag-factory: something that cannot be converted (with its source file:line)",
    "DSP101": "import-dag-factory: something converted approximately, and how",
    "DSP102": "import-dag-factory: something dropped, as dag-factory itself ignores it on Airflow 3",
    "DSP103": "loader (Airflow 3.4.0 final and later): dagspec's DAG importer is the default parse path but is not "
              "registered; the loader builds the specs and logs the config line once per process (warning)",
    "DSP104": "deploy --airflow-version 3.4.0 or later: the gcloud command that registers dagspec's DAG importer on "
              "the environment (warning)",
    "DSP105": "`[dagspec] dag_importer`: a value other than auto/on/off, or `on` on an Airflow before 3.4",
    "DSP110": "two fields of a Dataproc oneof (alternatives, like `auto_delete_ttl` and `auto_delete_time`)",
    "DSP111": "a compiled job or batch that Dataproc's message does not take (a dagspec bug after a client upgrade)",
    "DSP900": "Airflow rejected the compiled DAG (loader), or dagspec itself failed on this file (a bug to report)",
}


def _type(annotation: Any) -> str:
    text = repr(annotation) if not isinstance(annotation, type) else annotation.__name__
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *meta = typing.get_args(annotation)
        short = next((x for x in meta if isinstance(x, Shorthand)), None)
        if short is not None and short.expand is models.parse_duration:
            return "[duration](#durations)"
        long = _type(inner)
        if short is None:
            return long
        one = "text" if short.short != "items" else _type(typing.get_args(inner)[0])
        return f"{one} \\| {long}"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_type(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " \\| ".join(dict.fromkeys(parts))
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        item = _type(args[0]) if args else ""
        return ("list of (" + item + ")" if "\\|" in item else f"list of {item}") if args else "list"
    if origin is dict:
        args = typing.get_args(annotation)
        return f"mapping of {_type(args[1])}" if args else "mapping"
    for name in ("str", "int", "float", "bool"):
        if text == name:
            return {"float": "number", "str": "text"}.get(name, name)
    if isinstance(annotation, type) and annotation in models._TASK_CLASSES.values():
        return "[task](#task-options)"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if text.startswith("ForwardRef("):
        return _type(getattr(models, text[len("ForwardRef('"):-2]))
    if annotation is typing.Any:
        return "any"
    return text.replace("typing.", "").replace("|", "\\|")


def _field_type(field: Any) -> str:
    annotation = field.annotation
    shorthands = [x for x in field.metadata if isinstance(x, Shorthand)]
    if shorthands:  # pydantic keeps a field's own Annotated metadata apart from its annotation
        annotation = typing.Annotated[annotation, *shorthands]
    return _type(annotation)


def _table(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        default = ""
        if field.default is not PydanticUndefined and field.default not in (None, [], {}):
            default = f"`{field.default}`"
        elif field.default is PydanticUndefined and field.default_factory is None:
            default = "required"
        doc = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_field_type(field)} | {default} | {doc} |")
    return rows


_ACTIONS = {
    "bash": "a shell command (BashOperator)", "python": "a Python function by import path (PythonOperator)",
    "empty": "nothing: a join or placeholder (EmptyOperator)", "branch": "choose the downstream tasks to run",
    "short_circuit": "skip downstream tasks when a condition is false", "trigger_dag": "start a run of another DAG",
    "wait_for_dag": "wait for a task or run of another DAG", "wait_for_asset": "wait for an asset update",
    "operator": "any operator class by import path; its arguments under `args`", "tasks": "a task group",
    "pyspark": "a Dataproc PySpark job", "spark": "a Dataproc Spark (JVM) job", "spark_sql": "a Dataproc Spark SQL job",
    "hive": "a Dataproc Hive job", "pig": "a Dataproc Pig job", "hadoop": "a Dataproc Hadoop MapReduce job",
    "spark_r": "a Dataproc SparkR job", "presto": "a Dataproc Presto job", "trino": "a Dataproc Trino job",
    "flink": "a Dataproc Flink job",
}

_SHORTHANDS = [
    "## Shorthands",
    "",
    "`validate` and the editor schemas (`dagspec schema`) accept these short forms, shown as \"text \\| ...\" in "
    "the tables:",
    "",
    "| written | means |",
    "| --- | --- |",
    "| `bash: echo hi` | `bash: {command: echo hi}` |",
    "| `python: mycompany.jobs.run` | `python: {callable: mycompany.jobs.run}` |",
    "| `short_circuit: \"{{ params.go }}\"` | `short_circuit: {condition: ...}` |",
    "| `trigger_dag: other_dag`, `wait_for_dag: other_dag` | `{dag_id: other_dag}` |",
    "| `wait_for_asset: s3://b/f.csv` | `wait_for_asset: {uri: s3://b/f.csv}` |",
    "| `pyspark: jobs/clean.py`, `spark_r: jobs/r.R` | `{main: ...}` |",
    "| `spark_sql: SELECT 1` (also `hive`, `pig`, `presto`, `trino`) | `{query: SELECT 1}` |",
    "| `depends_on: a` (also `extends`, `teardown_of`, `compensates`, `email`, branch `cases`) | a list of one |",
    "| `on_failure_callback: mycompany.alerts.page` (every callback) | a list of one |",
    "| `schedule: 6h` | `schedule: {every: 6h}` |",
    "| `schedule: \"@daily\"`, `schedule: \"0 6 * * *\"` | `schedule: {cron: ...}` |",
    "| `retries: ${var.retries}` | a value that holds a variable takes the variable's value (a list stays a list) |",
    "",
    "### Durations",
    "",
    "A duration is a number of seconds (`90`), or text: `30s`, `5m`, `1h30m`, `2d`, `1w`, `500ms`, or ISO 8601 "
    "`PT1H`.",
    "",
]


def render_reference() -> str:
    """The whole reference page."""
    out = [
        "# Spec reference",
        "",
        "Generated from the spec models by `dagspec schema --markdown`; the JSON Schema (`dagspec schema`) says the",
        "same for editors. Durations are seconds or text like `30s`, `5m`, `1h30m`, `2d`.",
        "",
        "## The spec (top level)",
        "",
        *_table(models.Spec),
        "",
        "## Task options",
        "",
        "Every task has exactly one action key (below) and any of these options:",
        "",
        *_table(models.TaskCommon),
        "",
        "A Dataproc job task (`pyspark`, `spark`, `spark_sql`, `hive`, `pig`, `hadoop`, `spark_r`, `presto`, `trino`, "
        "`flink`) also takes:",
        "",
        *_table(models._JobTask, skip=tuple(models.TaskCommon.model_fields)),
        "",
        "A Dataproc task without `cluster:` or `serverless:` runs on the spec's only cluster; with several clusters "
        "(or none) it is an error (DSP060).",
        "",
        "### OperatorOptions",
        "",
        "The options above that every Airflow operator takes are also what `default_args` (of the spec and of a "
        "group) accepts:",
        "",
        *_table(models.OperatorOptions),
        "",
        *_SHORTHANDS,
        "## Actions",
        "",
        "| action key | what it runs | written as |",
        "| --- | --- | --- |",
    ]
    for key, cls in models._TASK_CLASSES.items():
        field = cls.model_fields[key]
        target = _field_type(field)
        out.append(f"| `{key}` | {_ACTIONS[key]} | {target} |")
    out.append("")
    listed: list[type[BaseModel]] = [
        models.BashAction, models.PythonAction, models.BranchAction, models.ShortCircuitAction,
        models.TriggerDagAction, models.WaitForDagAction, models.WaitForAssetAction, models.GroupTask,
        models.PySparkJob, models.SparkJob, models.SparkSqlJob, models.HiveJob, models.PrestoJob, models.SparkRJob,
        models.FlinkJob, models.Serverless, models.DataprocOptions, models.EphemeralCluster, models.SelectedCluster,
        models.ClusterSelector, models.ParamModel, models.Instance, models.Notifier, models.FromTask,
        models.FromParam, models.Every, models.CronSchedule, models.TimetableSchedule, models.AssetsSchedule,
        models.AllOf, models.AnyOf, models.AssetModel,
    ]
    for model in listed:
        out += [f"### {model.__name__}", ""]
        if model.__doc__:
            out += [model.__doc__.strip().splitlines()[0], ""]
        out += _table(model, skip=tuple(models.TaskCommon.model_fields) if model is models.GroupTask else ()) + [""]
    out += _dataproc_section()
    out += ["## Diagnostic codes", "", "| code | meaning |", "| --- | --- |"]
    out += [f"| {code} | {text} |" for code, text in CODES.items()]
    return "\n".join(out) + "\n"


def _dataproc_section() -> list[str]:
    table = dataproc_schema.table()
    fields = table["messages"]["ClusterConfig"]["fields"]
    out = [
        "## Dataproc configuration",
        "",
        f"A cluster's `config` is Dataproc's ClusterConfig, checked when the spec compiles against the message definitions of "
        f"google-cloud-dataproc {table['version']} (unknown fields DSP067, types and enum values DSP068, TTLs DSP069, "
        "oneofs DSP110). Field names are snake_case, as the client takes them. Durations are `600s`, seconds, or "
        "`10m`/`1h30m`/`2d`; times are RFC 3339. `dagspec schema` carries every field, so editors complete them. "
        "Its top-level fields:",
        "",
        "| field | type |",
        "| --- | --- |",
    ]
    out += [f"| `{name}` | {_proto_type(ftype, bool(rep))} |" for name, (ftype, rep) in fields.items()]
    out += ["", "TTL limits Dataproc states (seconds):", "", "| field | min | max |", "| --- | --- | --- |"]
    out += [f"| `{name}` | {low} | {high} |" for name, (low, high) in table["limits"].items()]
    return out + [""]


def _proto_type(ftype: str, repeated: bool) -> str:
    kind, _, ref = ftype.partition(":")
    text = {"msg": f"{ref}", "enum": f"{ref} (enum)", "map": f"mapping of {ref}"}.get(kind, kind)
    return f"list of {text}" if repeated else text

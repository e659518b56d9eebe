"""The spec language as strict, frozen pydantic models: a typo is an error, never silently dropped.

A spec is a YAML mapping: DAG-level keys, optional ``clusters`` (Dataproc) and ``tasks`` keyed by
task id. Each task has exactly one *action* key (``bash``, ``python``, ``operator``, ``pyspark``,
``tasks`` for a group, ...) which selects its model; the remaining keys are the task options every
Airflow operator shares (dependencies, retries, trigger rule, pools, callbacks ...).
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from .shorthand import DURATION_TEXT, Shorthand
from .values import parse_duration

__all__ = [
    "Spec",
    "TaskModel",
    "ACTION_KEYS",
    "JOB_KINDS",
    "Duration",
    "Callback",
    "ParamModel",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Duration = Annotated[float, Shorthand(parse_duration, {"type": "string", "pattern": DURATION_TEXT}, "`30s`, `5m`, `1h30m`, `2d`"),
                     Field(description="seconds, or `30s`, `5m`, `1h30m`, `2d`")]
DottedPath = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")]
StrList = Annotated[list[str], Shorthand(lambda v: [v] if isinstance(v, str) else v, {"type": "string"}, "one item")]
TriggerRule = Literal[
    "all_success", "all_failed", "all_done", "all_done_setup_success", "all_done_min_one_success",
    "one_success", "one_failed", "one_done", "none_failed", "none_failed_min_one_success",
    "none_skipped", "always", "all_skipped",
]


class Notifier(Strict):
    """A notifier class by import path, instantiated with ``args``."""

    notifier: DottedPath
    args: dict[str, Any] = Field(default_factory=dict)


CallbackItem = Union[DottedPath, Notifier]
Callback = Annotated[
    list[CallbackItem],
    Shorthand(lambda v: v if isinstance(v, list) else [v], "items", "one item"),
    Field(description="a function by dotted path, a {notifier, args} mapping, or a list of them"),
]


class AssetModel(Strict):
    """An Airflow asset by URI and/or name; a plain string is its URI (or its name when it has no `://`)."""

    uri: str | None = Field(default=None, description="e.g. `s3://bucket/sales.csv`")
    name: str | None = Field(default=None, description="the asset's name")


AssetItem = Union[str, AssetModel]


class ParamModel(Strict):
    """A typed DAG param; the keys besides default/description are JSON-schema keywords."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    default: Any = None
    description: str | None = None
    type: str | list[str] | None = None
    enum: list[Any] | None = None
    const: Any = None
    title: str | None = None
    format: str | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusiveMinimum: float | None = None  # noqa: N815 - JSON-schema spelling
    exclusiveMaximum: float | None = None  # noqa: N815
    multipleOf: float | None = None  # noqa: N815
    minLength: int | None = None  # noqa: N815
    maxLength: int | None = None  # noqa: N815
    minItems: int | None = None  # noqa: N815
    maxItems: int | None = None  # noqa: N815
    uniqueItems: bool | None = None  # noqa: N815
    items: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    required: list[str] | None = None
    examples: list[Any] | None = None
    values_display: dict[str, str] | None = None


def _param_form(value: Any) -> str:
    """A mapping that uses (or nearly uses) a param keyword is a typed param, checked strictly, so
    that ``defualt:`` is an error instead of making the whole mapping the default."""
    if isinstance(value, ParamModel):
        return "typed"
    if isinstance(value, dict):
        keys = list(ParamModel.model_fields)
        for key in value:
            if key in ParamModel.model_fields or difflib.get_close_matches(str(key), keys, n=1, cutoff=0.8):
                return "typed"
    return "value"


ParamValue = Annotated[
    Union[Annotated[ParamModel, Tag("typed")], Annotated[Any, Tag("value")]],
    Discriminator(_param_form),
    Field(description="a default value, or {type, default, description, enum, minimum, pattern, ...}; "
                      "a mapping default is written `{default: {...}}`"),
]


class OperatorOptions(Strict):
    """Options every Airflow operator takes; usable per task and in ``default_args``."""

    owner: str | None = Field(default=None, description="shown in the UI")
    email: StrList | None = Field(default=None, description="address(es) for Airflow's email alerts")
    email_on_retry: bool | None = None
    email_on_failure: bool | None = None
    retries: int | None = Field(default=None, ge=0, description="how many times to retry a failed task")
    retry_delay: Duration | None = Field(default=None, description="wait before a retry")
    retry_exponential_backoff: bool | float | None = Field(default=None, description="double the wait after each retry")
    max_retry_delay: Duration | None = Field(default=None, description="cap of the growing wait")
    execution_timeout: Duration | None = Field(default=None, description="fail the task after this long")
    depends_on_past: bool | None = Field(default=None, description="wait for this task's previous run to succeed")
    wait_for_downstream: bool | None = None
    trigger_rule: TriggerRule | None = Field(default=None,
                                             description="when the task runs, given its upstream states (default all_success)")
    pool: str | None = Field(default=None, description="Airflow pool limiting concurrency")
    pool_slots: int | None = Field(default=None, ge=1)
    queue: str | None = Field(default=None, description="executor queue")
    priority_weight: int | None = Field(default=None, description="scheduling priority")
    weight_rule: Literal["downstream", "upstream", "absolute"] | None = None
    max_active_tis_per_dag: int | None = None
    max_active_tis_per_dagrun: int | None = None
    executor: str | None = None
    run_as_user: str | None = None
    do_xcom_push: bool | None = Field(default=None, description="push the task's result to XCom")
    on_execute_callback: Callback | None = None
    on_failure_callback: Callback | None = Field(default=None, description="function path(s) or {notifier, args}")
    on_success_callback: Callback | None = Field(default=None, description="function path(s) or {notifier, args}")
    on_retry_callback: Callback | None = Field(default=None, description="function path(s) or {notifier, args}")
    on_skipped_callback: Callback | None = None


class FromTask(Strict):
    """The output (XCom) of an upstream task."""

    task: str
    key: str = "return_value"


class FromParam(Strict):
    """The value of a DAG param (must be a list for mapping)."""

    param: str


MapSource = Union[list[Any], FromTask, FromParam]


class TaskCommon(OperatorOptions):
    """What every task may say besides its action."""

    depends_on: StrList = Field(default_factory=list, description="task or group ids this task runs after")
    doc: str | None = Field(default=None, description="markdown shown for the task in the UI")
    display_name: str | None = Field(default=None, description="name shown in the UI instead of the id")
    inlets: list[AssetItem] = Field(default_factory=list, description="assets (URIs or names) the task reads")
    outlets: list[AssetItem] = Field(default_factory=list, description="assets the task updates (triggers asset schedules)")
    setup: bool = Field(default=False, description="an Airflow setup task (pair it with a `teardown_of`)")
    teardown_of: StrList = Field(default_factory=list, description="makes this a teardown of these setup tasks")
    compensates: StrList = Field(default_factory=list, description="runs only when one of these tasks failed (saga)")
    expand: dict[str, MapSource] | None = Field(default=None, description="dynamic task mapping")
    expand_kwargs: MapSource | None = Field(default=None, description="map over a list of argument mappings")
    map_index_template: str | None = Field(default=None, description="Jinja label of each mapped instance in the UI")
    args: dict[str, Any] = Field(default_factory=dict, description="more operator arguments, checked against it")


# --- actions -------------------------------------------------------------------------------------


class BashAction(Strict):
    command: str | None = Field(default=None, description="required unless `expand` maps bash_command")
    env: dict[str, str] | None = None
    append_env: bool | None = None
    cwd: str | None = None
    skip_on_exit_code: int | list[int] | None = None


class PythonAction(Strict):
    callable: DottedPath
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class BranchAction(Strict):
    """Branch on a rendered value (``on`` + ``cases``), or on a callable's returned task ids."""

    on: str | None = None
    cases: dict[str, StrList] = Field(default_factory=dict)
    default: StrList = Field(default_factory=list)
    callable: DottedPath | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)


class ShortCircuitAction(Strict):
    condition: str | None = None
    callable: DottedPath | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    ignore_downstream_trigger_rules: bool = True


class TriggerDagAction(Strict):
    dag_id: str
    conf: dict[str, Any] | None = None
    wait: bool = False
    poke_interval: Duration | None = None
    reset_dag_run: bool | None = None
    logical_date: str | None = None
    allowed_states: list[str] | None = None
    failed_states: list[str] | None = None


class WaitForDagAction(Strict):
    dag_id: str
    task_id: str | None = None
    task_group_id: str | None = None
    allowed_states: list[str] | None = None
    failed_states: list[str] | None = None
    execution_delta: Duration | None = None
    mode: Literal["poke", "reschedule"] = "reschedule"
    poke_interval: Duration | None = None
    timeout: Duration | None = None
    deferrable: bool | None = None


class WaitForAssetAction(Strict):
    uri: str
    mode: Literal["poke", "reschedule"] = "reschedule"
    poke_interval: Duration | None = None
    timeout: Duration | None = None


def _short(field: str):
    """Let an action be written as one string: ``bash: echo hi`` == ``bash: {command: echo hi}``."""
    return Shorthand(lambda v: {field: v} if isinstance(v, str) else v, {"type": "string"}, f"short for `{{{field}: ...}}`")


class BashTask(TaskCommon):
    bash: Annotated[BashAction, _short("command")]


class PythonTask(TaskCommon):
    python: Annotated[PythonAction, _short("callable")]


class EmptyTask(TaskCommon):
    empty: Literal[True]


class BranchTask(TaskCommon):
    branch: BranchAction


class ShortCircuitTask(TaskCommon):
    short_circuit: Annotated[ShortCircuitAction, _short("condition")]


class TriggerDagTask(TaskCommon):
    trigger_dag: Annotated[TriggerDagAction, _short("dag_id")]


class WaitForDagTask(TaskCommon):
    wait_for_dag: Annotated[WaitForDagAction, _short("dag_id")]


class WaitForAssetTask(TaskCommon):
    wait_for_asset: Annotated[WaitForAssetAction, _short("uri")]


class OperatorTask(TaskCommon):
    operator: DottedPath


class GroupTask(Strict):
    """A task group: nested ``tasks``; ``expand`` makes it a mapped task group."""

    tasks: dict[str, TaskModel]  # type: ignore[valid-type]
    tooltip: str | None = None
    depends_on: StrList = Field(default_factory=list)
    expand: dict[str, MapSource] | None = None
    expand_kwargs: MapSource | None = None
    default_args: OperatorOptions | None = None


# --- Dataproc jobs -------------------------------------------------------------------------------


class DataprocOptions(Strict):
    """Where Dataproc work runs and how the provider reaches it (spec-wide or per task)."""

    project: str | None = None
    region: str | None = None
    conn_id: str | None = None
    staging_bucket: str | None = None
    deferrable: bool | None = None
    poll_interval: Duration | None = None


class _Job(Strict):
    properties: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class _Query(_Job):
    query: str | None = None
    query_file: str | None = None
    queries: list[str] | None = None
    script_variables: dict[str, str] = Field(default_factory=dict)


class PySparkJob(_Job):
    main: str = Field(description="main .py file: a path relative to the spec, or gs://")
    args: list[str] = Field(default_factory=list)
    py_files: list[str] = Field(default_factory=list)
    jars: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    archives: list[str] = Field(default_factory=list)


class SparkJob(_Job):
    main_class: str | None = None
    main_jar: str | None = None
    args: list[str] = Field(default_factory=list)
    jars: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    archives: list[str] = Field(default_factory=list)


class SparkSqlJob(_Query):
    jars: list[str] = Field(default_factory=list)


class HiveJob(_Query):
    continue_on_failure: bool = False
    jars: list[str] = Field(default_factory=list)


class PrestoJob(_Query):
    output_format: str | None = None
    client_tags: list[str] = Field(default_factory=list)
    continue_on_failure: bool = False


class SparkRJob(_Job):
    main: str
    args: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    archives: list[str] = Field(default_factory=list)


class FlinkJob(_Job):
    main_class: str | None = None
    main_jar: str | None = None
    args: list[str] = Field(default_factory=list)
    jars: list[str] = Field(default_factory=list)
    savepoint: str | None = None


class Serverless(Strict):
    """Run as a Dataproc Serverless batch instead of on a cluster."""

    runtime_version: str | None = None
    service_account: str | None = None
    subnetwork: str | None = None
    network_tags: list[str] = Field(default_factory=list)
    properties: dict[str, str] = Field(default_factory=dict)
    ttl: Duration | None = None


class _JobTask(TaskCommon):
    """What a Dataproc job task (``pyspark``, ``spark_sql`` ...) may say besides the task options."""

    cluster: str | None = Field(default=None, description="a cluster from `clusters:`; without it (and without "
                                "`serverless:`) the job runs on the spec's only cluster (DSP060 when it has none or several)")
    serverless: Serverless | None = Field(default=None, description="run as a Dataproc Serverless batch instead")
    dataproc: DataprocOptions | None = Field(default=None, description="this task's project, region, connection ... "
                                             "(over the spec's `dataproc:`)")


class PySparkTask(_JobTask):
    pyspark: Annotated[PySparkJob, _short("main")]


class SparkTask(_JobTask):
    spark: SparkJob


class SparkSqlTask(_JobTask):
    spark_sql: Annotated[SparkSqlJob, _short("query")]


class HiveTask(_JobTask):
    hive: Annotated[HiveJob, _short("query")]


class PigTask(_JobTask):
    pig: Annotated[HiveJob, _short("query")]


class HadoopTask(_JobTask):
    hadoop: SparkJob


class SparkRTask(_JobTask):
    spark_r: Annotated[SparkRJob, _short("main")]


class PrestoTask(_JobTask):
    presto: Annotated[PrestoJob, _short("query")]


class TrinoTask(_JobTask):
    trino: Annotated[PrestoJob, _short("query")]


class FlinkTask(_JobTask):
    flink: FlinkJob


_TASK_CLASSES: dict[str, type[BaseModel]] = {
    "bash": BashTask,
    "python": PythonTask,
    "empty": EmptyTask,
    "branch": BranchTask,
    "short_circuit": ShortCircuitTask,
    "trigger_dag": TriggerDagTask,
    "wait_for_dag": WaitForDagTask,
    "wait_for_asset": WaitForAssetTask,
    "operator": OperatorTask,
    "tasks": GroupTask,
    "pyspark": PySparkTask,
    "spark": SparkTask,
    "spark_sql": SparkSqlTask,
    "hive": HiveTask,
    "pig": PigTask,
    "hadoop": HadoopTask,
    "spark_r": SparkRTask,
    "presto": PrestoTask,
    "trino": TrinoTask,
    "flink": FlinkTask,
}
ACTION_KEYS: tuple[str, ...] = tuple(_TASK_CLASSES)
JOB_KINDS: tuple[str, ...] = ("pyspark", "spark", "spark_sql", "hive", "pig", "hadoop", "spark_r", "presto", "trino", "flink")


_ACTION_SET = frozenset(ACTION_KEYS)
_KIND_OF_CLASS: dict[type, str | None] = {}  # a task model class -> its action key (fixed per class)


def task_kind(value: Any) -> str | None:
    """The action key of a raw task mapping, or None when it has none or several."""
    if isinstance(value, BaseModel):
        cls = type(value)
        if cls not in _KIND_OF_CLASS:
            fields = cls.model_fields
            _KIND_OF_CLASS[cls] = next(
                (key for key in ACTION_KEYS if key in fields and key not in TaskCommon.model_fields), None)
        return _KIND_OF_CLASS[cls]
    if not isinstance(value, dict):
        return None
    found = _ACTION_SET.intersection(value)
    return next(iter(found)) if len(found) == 1 else None


TaskModel = Annotated[  # type: ignore[valid-type]
    Union[tuple(Annotated[cls, Tag(key)] for key, cls in _TASK_CLASSES.items())],  # type: ignore[misc]  # noqa: UP007
    Discriminator(
        task_kind,
        custom_error_type="task_action",
        custom_error_message="a task needs exactly one action key",
    ),
]


# --- clusters ------------------------------------------------------------------------------------


class EphemeralCluster(Strict):
    """Created before the first task that uses it, deleted after the last, whatever happens."""

    extends: str | None = Field(default=None, description="a cluster profile in templates/clusters/")
    config: dict[str, Any] = Field(
        default_factory=dict, json_schema_extra={"x-dataproc-message": "ClusterConfig"},
        description="Dataproc ClusterConfig (snake_case fields), checked against google-cloud-dataproc's own "
                    "message definitions when the spec compiles")
    labels: dict[str, str] = Field(default_factory=dict)
    idle_delete_ttl: Duration = 1800
    auto_delete_ttl: Duration = 14400
    on_error: Literal["recreate", "fail"] = "recreate"


class ClusterSelector(Strict):
    labels: dict[str, str] = Field(default_factory=dict)
    name: str | None = None


class SelectedCluster(Strict):
    """An existing cluster, chosen by name or by labels (like a Workflow Template's selector)."""

    select: ClusterSelector


Cluster = Annotated[
    Annotated[EphemeralCluster, Tag("ephemeral")] | Annotated[SelectedCluster, Tag("select")],
    Discriminator(lambda v: "select" if (isinstance(v, dict) and "select" in v) or isinstance(v, SelectedCluster)
                  else "ephemeral"),
]


# --- the DAG -------------------------------------------------------------------------------------


class Every(Strict):
    """``schedule: {every: 6h}``: a fixed interval (the same as ``schedule: 6h``)."""

    every: Duration = Field(description="time between runs")


class CronSchedule(Strict):
    """``schedule: {cron: "0 6 * * *", timezone: Europe/Paris}``: a cron expression in a time zone."""

    cron: str = Field(description="five fields, or a preset like `@daily`")
    timezone: str | None = Field(default=None, description="IANA time zone (default: the spec's `timezone`, else UTC)")


class TimetableSchedule(Strict):
    """``schedule: {timetable: mycompany.timetables.Workdays, args: {...}}``: an Airflow timetable class."""

    timetable: DottedPath = Field(description="import path of the timetable class")
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of its constructor")


class AssetsSchedule(Strict):
    """Run when assets are updated: a list (all of them), or ``{all: [...]}`` / ``{any: [...]}``, nested."""

    assets: AssetExpr = Field(description="an asset, a list of them (all), or `{all: [...]}` / `{any: [...]}`")


class AllOf(Strict):
    """``{all: [...]}``: run when every asset (or expression) listed was updated."""

    all: list[AssetExpr]


class AnyOf(Strict):
    """``{any: [...]}``: run when one of the assets (or expressions) listed was updated."""

    any: list[AssetExpr]


AssetExpr = Union[str, AssetModel, AllOf, AnyOf, list[str | AssetModel | AllOf | AnyOf]]

ScheduleSpec = Union[None, str, Every, CronSchedule, TimetableSchedule, AssetsSchedule]


class Instance(Strict):
    """One DAG made from this spec, with its own variable values and overrides."""

    dag_id: str
    vars: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    schedule: ScheduleSpec = None
    params: dict[str, Any] = Field(default_factory=dict)


class Spec(Strict):
    """A dagspec workflow: one YAML file, one Airflow DAG (or one per ``instances`` entry)."""

    dag_id: str | None = Field(default=None, description="default: the file name without .yaml")
    extends: StrList = Field(default_factory=list, description="templates (in templates/) this spec builds on")
    workflow_template: str | None = Field(default=None, description="a Dataproc workflow template file (relative "
                                          "to the spec) whose steps become tasks of this spec")
    vars: dict[str, Any] = Field(default_factory=dict, description="values for ${var.NAME}")
    instances: list[Instance] | None = Field(default=None, description="one DAG per entry")
    description: str | None = Field(default=None, description="one line shown in the DAG list")
    doc: str | None = Field(default=None, description="markdown shown in the UI")
    doc_file: str | None = Field(default=None, description="markdown file, relative to the spec")
    schedule: ScheduleSpec = Field(default=None, description="cron (`0 6 * * *`), preset (`@daily`), duration (`6h`), "
                                   "{cron, timezone}, {timetable, args}, {assets: ...}, or null (manual only)")
    start_date: date | datetime | None = Field(default=None, description="first logical date (in `timezone`, default UTC)")
    end_date: date | datetime | None = Field(default=None, description="no runs after this date")
    timezone: str | None = Field(default=None, description="IANA time zone of start/end dates, e.g. Europe/Paris")
    catchup: bool | None = Field(default=None, description="run the missed intervals since start_date")
    tags: list[str] = Field(default_factory=list, description="UI tags (combined with folder defaults and templates)")
    owner: str | None = Field(default=None, description="default owner of every task")
    owner_links: dict[str, str] = Field(default_factory=dict, description="owner -> URL or mailto: link in the UI")
    params: dict[str, ParamValue] = Field(default_factory=dict, description="run parameters: a default value, or "
                                                 "{type, default, description, enum, minimum, pattern, ...}")
    default_args: OperatorOptions = Field(default_factory=OperatorOptions, description="options for every task")
    max_active_runs: int | None = Field(default=None, ge=1, description="runs of this DAG at once")
    max_active_tasks: int | None = Field(default=None, ge=1, description="tasks of one run at once")
    max_consecutive_failed_dag_runs: int | None = Field(default=None, description="pause the DAG after this many failed runs")
    dagrun_timeout: Duration | None = Field(default=None, description="fail a run that takes longer")
    access_control: dict[str, Any] | None = Field(default=None, description="role -> permissions, as Airflow's DAG takes")
    is_paused_upon_creation: bool | None = Field(default=None, description="start paused when first seen")
    render_template_as_native_obj: bool | None = Field(default=None, description="Jinja renders Python objects, not text")
    dag_display_name: str | None = Field(default=None, description="name shown in the UI instead of the id")
    on_success_callback: Callback | None = Field(default=None, description="function path(s) or {notifier, args}")
    on_failure_callback: Callback | None = Field(default=None, description="function path(s) or {notifier, args}")
    airflow: dict[str, Any] = Field(default_factory=dict, description="any other airflow.sdk.DAG argument")
    dataproc: DataprocOptions = Field(default_factory=DataprocOptions, description="project, region, connection, staging "
                                      "bucket for Dataproc tasks")
    clusters: dict[str, Cluster] = Field(default_factory=dict, description="named Dataproc clusters: ephemeral, or "
                                         "`select:` an existing one")
    tasks: dict[str, TaskModel] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="the tasks, keyed by task id; each has one action")


for _model in (GroupTask, AssetsSchedule, AllOf, AnyOf, Instance, Spec):
    _model.model_rebuild()

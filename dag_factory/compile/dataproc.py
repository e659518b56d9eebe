"""Dataproc in the plan: job tasks to job/batch dicts, and ephemeral clusters to setup/teardown.

An ephemeral cluster is a graph transform: a create task (Airflow *setup*) runs after everything
the cluster's first jobs wait for, every job on the cluster depends on it, and a delete task
(Airflow *teardown* of the create) runs after the last job, so the cluster is deleted whatever
happened while a failed job still fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import did_you_mean
from ..spec import dataproc_schema as schema
from ..spec import models
from ..spec.yaml_source import YamlPath
from .context import CompileContext
from .files import check_bucket, check_job_files
from .labels import check_cluster_labels, check_job_labels
from .tasks import OPERATORS, drop_none

__all__ = ["job_args", "ClusterUse", "cluster_tasks", "check_cluster", "create_task_id", "delete_task_id"]

_JOB_FIELD = {
    "pyspark": "pyspark_job", "spark": "spark_job", "spark_sql": "spark_sql_job", "hive": "hive_job",
    "pig": "pig_job", "hadoop": "hadoop_job", "spark_r": "spark_r_job", "presto": "presto_job",
    "trino": "trino_job", "flink": "flink_job",
}
_BATCH_FIELD = {"pyspark": "pyspark_batch", "spark": "spark_batch", "spark_sql": "spark_sql_batch",
                "spark_r": "spark_r_batch"}


def create_task_id(cluster: str) -> str:
    return f"create_cluster_{cluster}"


def delete_task_id(cluster: str) -> str:
    return f"delete_cluster_{cluster}"


@dataclass
class ClusterUse:
    """Which tasks run on each named cluster (filled while compiling job tasks)."""

    users: dict[str, list[str]] = field(default_factory=dict)


def _main(ctx: CompileContext, job: Any, path: YamlPath, uri_key: str) -> dict[str, Any]:
    if bool(job.main_class) == bool(job.main_jar):
        ctx.error("DSP062", "give exactly one of `main_class` and `main_jar`", path,
                  "main_class runs a class from `jars`; main_jar runs the jar's own main class")
        return {}
    return {"main_class": job.main_class} if job.main_class else {uri_key: job.main_jar}


def _queries(ctx: CompileContext, job: Any, path: YamlPath) -> dict[str, Any]:
    given = [k for k in ("query", "query_file", "queries") if getattr(job, k)]
    if len(given) != 1:
        ctx.error("DSP062", "give exactly one of `query`, `query_file` and `queries`", path,
                  "query: inline text; query_file: a .sql file (relative to the spec, or gs://)")
        return {}
    if job.query_file:
        return {"query_file_uri": job.query_file}
    return {"query_list": {"queries": [job.query] if job.query else list(job.queries)}}


def _job_body(ctx: CompileContext, kind: str, job: Any, path: YamlPath) -> dict[str, Any]:
    props = dict(job.properties) or None
    if kind == "pyspark":
        body = {"main_python_file_uri": job.main, "args": job.args, "python_file_uris": job.py_files,
                "jar_file_uris": job.jars, "file_uris": job.files, "archive_uris": job.archives}
    elif kind in ("spark", "hadoop"):
        body = {**_main(ctx, job, path, "main_jar_file_uri"), "args": job.args, "jar_file_uris": job.jars,
                "file_uris": job.files, "archive_uris": job.archives}
    elif kind == "spark_r":
        body = {"main_r_file_uri": job.main, "args": job.args, "file_uris": job.files, "archive_uris": job.archives}
    elif kind == "flink":
        body = {**_main(ctx, job, path, "main_jar_file_uri"), "args": job.args, "jar_file_uris": job.jars,
                "savepoint_uri": job.savepoint}
    else:  # query jobs
        body = {**_queries(ctx, job, path), "script_variables": dict(job.script_variables) or None}
        if kind in ("spark_sql", "hive", "pig"):
            body["jar_file_uris"] = job.jars
        if kind in ("hive", "pig", "presto", "trino"):
            body["continue_on_failure"] = job.continue_on_failure or None
        if kind in ("presto", "trino"):
            body.update(output_format=job.output_format, client_tags=job.client_tags)
    body["properties"] = props
    return {k: v for k, v in body.items() if v not in (None, [], {})}


def _batch_body(ctx: CompileContext, kind: str, job: Any, serverless: models.Serverless, path: YamlPath) -> dict[str, Any]:
    if kind not in _BATCH_FIELD:
        ctx.error("DSP062", f"`{kind}` jobs cannot run on Dataproc Serverless", path,
                  f"serverless runs: {', '.join(_BATCH_FIELD)}; use `cluster:` instead")
        return {}
    body = _job_body(ctx, kind, job, path)
    if kind == "spark_sql":
        if "query_file_uri" not in body:
            ctx.error("DSP062", "serverless Spark SQL needs `query_file`", path, "put the query in a .sql file")
        body = drop_none({"query_file_uri": body.get("query_file_uri"), "query_variables": body.get("script_variables"),
                          "jar_file_uris": body.get("jar_file_uris")})
    properties = {**serverless.properties, **body.pop("properties", {})}
    execution = drop_none({"service_account": serverless.service_account, "subnetwork_uri": serverless.subnetwork,
                           "network_tags": serverless.network_tags or None,
                           "ttl": f"{int(serverless.ttl)}s" if serverless.ttl else None})
    batch: dict[str, Any] = {_BATCH_FIELD[kind]: body}
    runtime = drop_none({"version": serverless.runtime_version, "properties": properties or None})
    if runtime:
        batch["runtime_config"] = runtime
    if execution:
        batch["environment_config"] = {"execution_config": execution}
    if job.labels:
        batch["labels"] = dict(job.labels)
    if serverless.ttl is not None:
        _report(ctx, schema.check_ttl(serverless.ttl, "ExecutionConfig", "ttl", path[:-1] + ("serverless", "ttl"),
                                      "serverless.ttl"))
    return _fits(ctx, "Batch", batch, path)


def _placement(ctx: CompileContext, own: models.DataprocOptions | None = None) -> dict[str, Any]:
    """Project, region, connection ... from the spec's ``dataproc:`` options, overridden by a task's ``own``."""
    options = ctx.loaded.spec.dataproc.model_dump(exclude_none=True)
    if own is not None:
        options.update(own.model_dump(exclude_none=True))
    return drop_none({"project_id": options.get("project"), "region": options.get("region"),
                      "gcp_conn_id": options.get("conn_id"), "staging_bucket": options.get("staging_bucket"),
                      "deferrable": options.get("deferrable"), "poll_interval": options.get("poll_interval")})


def job_args(ctx: CompileContext, kind: str, task: Any, full_id: str, path: YamlPath,
             use: ClusterUse) -> tuple[str, dict[str, Any]]:
    """Operator path and arguments for a Dataproc job task (on a cluster or serverless)."""
    job = getattr(task, kind)
    here = path + (kind,)
    files_root = str(ctx.loaded.path.parent)
    common = {**_placement(ctx, task.dataproc), "files_root": files_root}
    check_job_files(ctx, job, here)
    check_job_labels(ctx, full_id, job.labels, here + ("labels",))
    own = task.dataproc is not None and task.dataproc.staging_bucket is not None
    check_bucket(ctx, common.get("staging_bucket"), (path if own else ()) + ("dataproc", "staging_bucket"),
                 "staging")
    if task.serverless is not None:
        if task.cluster:
            ctx.error("DSP062", "a job runs on a `cluster` or `serverless`, not both", path + ("serverless",))
        return OPERATORS["batch"], {"batch": _batch_body(ctx, kind, job, task.serverless, here), "batch_key": full_id, **common}
    clusters = ctx.loaded.spec.clusters
    name = task.cluster
    if name is None:
        if len(clusters) == 1:
            name = next(iter(clusters))
        else:
            ctx.error("DSP060", f"Dataproc task `{full_id}` needs `cluster:` or `serverless:`", here,
                      f"clusters in this spec: {', '.join(clusters) or 'none (add a `clusters:` section)'}", key=True)
            return OPERATORS["job"], {}
    cluster = clusters.get(name)
    if cluster is None:
        ctx.error("DSP060", f"unknown cluster `{name}`", path + ("cluster",),
                  did_you_mean(name, clusters) or f"clusters in this spec: {', '.join(clusters) or 'none'}")
        return OPERATORS["job"], {}
    use.users.setdefault(name, []).append(full_id)
    body = {_JOB_FIELD[kind]: _job_body(ctx, kind, job, here)}
    if job.labels:
        body["labels"] = dict(job.labels)
    body = _fits(ctx, "Job", body, here)
    if isinstance(cluster, models.SelectedCluster):
        target = {"cluster_name": cluster.select.name} if cluster.select.name else {"cluster_labels": dict(cluster.select.labels)}
    else:
        target = {"cluster": name}
    return OPERATORS["job"], {"job": body, **target, **common}


def cluster_tasks(ctx: CompileContext, name: str, cluster: models.EphemeralCluster) -> tuple[dict[str, Any], dict[str, Any]]:
    """Arguments of the create and delete tasks of an ephemeral cluster."""
    placement = _placement(ctx)
    placement.pop("staging_bucket", None)
    config = check_cluster(ctx, name, cluster)
    for key in ("config_bucket", "temp_bucket"):
        check_bucket(ctx, config.get(key), ("clusters", name, "config", key), f"cluster {key.replace('_', ' ')}")
    bucket = ctx.loaded.spec.dataproc.staging_bucket
    if bucket and "config_bucket" not in config:
        config["config_bucket"] = bucket.removeprefix("gs://").split("/")[0]
    create = {"cluster": name, "cluster_config": config, "labels": dict(cluster.labels),
              "idle_delete_ttl": int(cluster.idle_delete_ttl), "auto_delete_ttl": int(cluster.auto_delete_ttl),
              "on_error": cluster.on_error, **placement}
    delete = {"cluster": name, **placement}
    return create, delete


def check_cluster(ctx: CompileContext, name: str, cluster: models.EphemeralCluster) -> dict[str, Any]:
    """The cluster's TTLs and ``config`` checked against Dataproc's LifecycleConfig and ClusterConfig
    (DSP067-DSP069, DSP110) and its labels against Dataproc's label rules (DSP047); returns the config as the
    client takes it (durations as ``"600s"``)."""
    here: YamlPath = ("clusters", name)
    check_cluster_labels(ctx, name, cluster.labels)
    for key in ("idle_delete_ttl", "auto_delete_ttl"):
        _report(ctx, schema.check_ttl(getattr(cluster, key), "LifecycleConfig", key, here + (key,)))
    if not cluster.config:
        return {}
    config, problems = schema.check("ClusterConfig", dict(cluster.config), here + ("config",))
    _report(ctx, problems)
    return config


def _fits(ctx: CompileContext, message: str, body: dict[str, Any], path: YamlPath) -> dict[str, Any]:
    """A job or batch body as compiled from the spec's fields must fit Dataproc's own message; a
    mismatch means dagspec's field mapping no longer fits the installed client (DSP111)."""
    checked, problems = schema.check(message, body, path)
    for p in problems:
        if p.code != "DSP069":  # the spec's own TTLs are reported where they are written
            where = ".".join(str(k) for k in p.path[len(path):])
            ctx.error("DSP111", f"the compiled {message} does not fit Dataproc's message at `{where}`: {p.message}",
                      path, "a dagspec bug after a google-cloud-dataproc upgrade: please report it", key=True)
    return checked


def _report(ctx: CompileContext, problems: list[schema.Problem]) -> None:
    for p in problems:
        ctx.error(p.code, p.message, p.path, p.hint, key=p.key)

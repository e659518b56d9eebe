"""Pure OpenLineage decisions: which Spark properties to inject into a job, batch or template, and which gs:// datasets it names.

Nothing here imports Airflow, OpenLineage or Google libraries: plain dicts in, plain dicts out, so each
rule is table-tested (tests/provider/test_lineage.py). ``provider/openlineage.py`` feeds these functions
with what the OpenLineage provider knows at run time (the task's lineage run id, the client's transport).

The rules follow the OpenLineage provider's Spark conventions, as the Google provider's Dataproc
operators apply them:

- only Spark and PySpark jobs (``spark_job``/``pyspark_job``), Spark and PySpark batches
  (``spark_batch``/``pyspark_batch``) and those jobs inside an inline workflow template are touched;
- parent-job information is added only when no property starting with ``spark.openlineage.parent``
  is set, transport information only when none starting with ``spark.openlineage.transport`` is:
  a property the user set is never overwritten, and a partial user setting is never completed;
- transport information exists only for ``http`` transports (or the ``http`` members of a
  ``composite`` transport): Spark cannot write to Airflow's file or console transport.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PARENT_PREFIX", "TRANSPORT_PREFIX", "Injection", "decide_injection", "parent_properties",
           "transport_properties", "merge_properties", "inject_into_job", "inject_into_batch",
           "inject_into_template", "gcs_dataset", "gcs_datasets", "spark_section"]

PARENT_PREFIX = "spark.openlineage.parent"
TRANSPORT_PREFIX = "spark.openlineage.transport"
_JOB_KINDS = ("spark_job", "pyspark_job", "sparkJob", "pysparkJob")
_BATCH_KINDS = ("spark_batch", "pyspark_batch", "sparkBatch", "pysparkBatch")


@dataclass(frozen=True)
class Injection:
    """What to add to Spark properties this run: parent-job information, transport information, or neither."""

    parent: bool
    transport: bool

    @property
    def any(self) -> bool:
        return self.parent or self.transport


def decide_injection(operator_parent: bool | None, operator_transport: bool | None, *, config_parent: bool,
                     config_transport: bool, available: bool) -> Injection:
    """The operator's switch wins when set; otherwise ``[openlineage] spark_inject_*``; nothing without OpenLineage.

    ``available`` is whether the OpenLineage provider is installed, enabled and has its listener.
    """
    parent = config_parent if operator_parent is None else bool(operator_parent)
    transport = config_transport if operator_transport is None else bool(operator_transport)
    if not available:
        return Injection(False, False)
    return Injection(parent, transport)


def parent_properties(*, namespace: str, job_name: str, run_id: str, root_run_id: str, root_job_name: str,
                      root_namespace: str | None = None) -> dict[str, str]:
    """The Spark properties naming the Airflow task as the parent (and its DAG run as the root) of Spark's runs."""
    return {
        "spark.openlineage.parentJobNamespace": namespace,
        "spark.openlineage.parentJobName": job_name,
        "spark.openlineage.parentRunId": run_id,
        "spark.openlineage.rootParentRunId": root_run_id,
        "spark.openlineage.rootParentJobName": root_job_name,
        "spark.openlineage.rootParentJobNamespace": root_namespace or namespace,
    }


def _http_settings(http: Mapping[str, Any]) -> dict[str, str]:
    settings = {"type": "http", "url": str(http.get("url") or ""), "endpoint": str(http.get("endpoint") or ""),
                "timeoutInMillis": str(int(float(http.get("timeout") or 0)) * 1000)}
    if http.get("compression"):
        settings["compression"] = str(http["compression"])
    if http.get("api_key"):  # the key itself: Spark's client adds "Bearer " when it sends it
        settings["auth.type"] = "api_key"
        settings["auth.apiKey"] = str(http["api_key"])
    for key, value in (http.get("headers") or {}).items():
        settings[f"headers.{key}"] = str(value)
    return settings


def transport_properties(transport: Mapping[str, Any] | None) -> dict[str, str]:
    """Spark properties for the OpenLineage client's transport, described as a plain dict.

    ``{"kind": "http", "url", "endpoint", "timeout" (seconds), "compression", "api_key", "headers"}``,
    or ``{"kind": "composite", "continue_on_failure": bool, "transports": [{"name", "kind", ...}]}``;
    any other kind (file, console, kafka, ...) gives nothing.
    """
    if not transport:
        return {}
    if transport.get("kind") == "http":
        return {f"{TRANSPORT_PREFIX}.{k}": v for k, v in _http_settings(transport).items()}
    if transport.get("kind") != "composite":
        return {}
    members = [t for t in transport.get("transports") or [] if t.get("kind") == "http"]
    if not members:
        return {}
    props = {f"{TRANSPORT_PREFIX}.type": "composite",
             f"{TRANSPORT_PREFIX}.continueOnFailure": str(bool(transport.get("continue_on_failure")))}
    for member in members:
        for key, value in _http_settings(member).items():
            props[f"{TRANSPORT_PREFIX}.transports.{member.get('name')}.{key}"] = value
    return props


def _has_prefix(properties: Mapping[str, Any], prefix: str) -> bool:
    return any(str(key).startswith(prefix) for key in properties)


def merge_properties(existing: Mapping[str, Any] | None, parent: Mapping[str, str] | None,
                     transport: Mapping[str, str] | None) -> dict[str, Any]:
    """``existing`` plus each group (parent, transport) the user set no property of; user keys always win."""
    merged = dict(existing or {})
    for group, prefix in ((parent, PARENT_PREFIX), (transport, TRANSPORT_PREFIX)):
        if group and not _has_prefix(existing or {}, prefix):
            merged.update({k: v for k, v in group.items() if k not in merged})
    return merged


def spark_section(job: Mapping[str, Any]) -> str | None:
    """The key of the job's Spark or PySpark section (``spark_job``, ``pysparkJob``, ...), or None."""
    return next((kind for kind in _JOB_KINDS if kind in job), None)


def inject_into_job(job: Mapping[str, Any], parent: Mapping[str, str] | None,
                    transport: Mapping[str, str] | None) -> dict[str, Any]:
    """A copy of a Job dict with the groups added to its Spark properties; other job types are left alone."""
    out = dict(job)
    kind = spark_section(job)
    if kind is None:
        return out
    section = dict(job[kind] or {})
    section["properties"] = merge_properties(section.get("properties"), parent, transport)
    out[kind] = section
    return out


def inject_into_batch(batch: Mapping[str, Any], parent: Mapping[str, str] | None,
                      transport: Mapping[str, str] | None) -> dict[str, Any]:
    """A copy of a Batch dict with the groups added to ``runtime_config.properties`` (Spark and PySpark batches)."""
    out = dict(batch)
    if not any(kind in batch for kind in _BATCH_KINDS):
        return out
    key = "runtimeConfig" if "runtimeConfig" in batch and "runtime_config" not in batch else "runtime_config"
    runtime = dict(batch.get(key) or {})
    runtime["properties"] = merge_properties(runtime.get("properties"), parent, transport)
    out[key] = runtime
    return out


def inject_into_template(template: Mapping[str, Any], parent: Mapping[str, str] | None,
                         transport: Mapping[str, str] | None) -> dict[str, Any]:
    """A copy of an inline WorkflowTemplate dict with every Spark/PySpark step's properties injected."""
    out = dict(template)
    if "jobs" in template:
        out["jobs"] = [inject_into_job(step, parent, transport) for step in template.get("jobs") or []]
    return out


# -- datasets ----------------------------------------------------------------------------------------
_OUTPUT_WORDS = re.compile(r"out|dest|dst|target|sink|write|save|export", re.IGNORECASE)
_INFRA_KEYS = re.compile(r"^(spark[.:]|spark-env:|hadoop|yarn|dataproc|hive|mapred|core:|hdfs:|pig:|presto|trino|"
                         r"flink|capacity-scheduler:|distcp:|zeppelin|jupyter)", re.IGNORECASE)
_WILDCARD = re.compile(r"[*?\[{]")


def gcs_dataset(uri: str) -> tuple[str, str] | None:
    """OpenLineage's naming for a gs:// path: (``gs://bucket``, object path); a wildcard names its folder."""
    if not uri.startswith("gs://"):
        return None
    bucket, _, path = uri[5:].partition("/")
    if not bucket:
        return None
    cut = _WILDCARD.search(path)
    if cut:
        path = path[:cut.start()].rpartition("/")[0]
    path = path.rstrip("/")
    return f"gs://{bucket}", path or "/"


def _add(target: list[tuple[str, str]], uri: str) -> None:
    found = gcs_dataset(uri.strip())
    if found and found not in target:
        target.append(found)


def gcs_datasets(section: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(inputs, outputs) named by gs:// paths in a job section's ``args``, ``properties`` and ``script_variables``.

    A path is an output when its label (``--output gs://..``, ``--output=gs://..``, ``output=gs://..``,
    or the property name) mentions out/dest/dst/target/sink/write/save/export, an input otherwise. Of
    the unlabelled positional paths, the last is the output when there are two or more (``wordcount
    gs://in gs://out``). Code and dependencies (main file, jars, py files, archives) are not datasets,
    nor are properties of Spark, Hadoop or Dataproc themselves (``spark.eventLog.dir``, ...).
    """
    inputs: list[tuple[str, str]] = []
    outputs: list[tuple[str, str]] = []
    args = [str(a) for a in section.get("args") or []]
    unlabelled: list[str] = []
    for i, arg in enumerate(args):
        label, value = "", arg
        if "=" in arg and not arg.startswith("gs://"):
            label, _, value = arg.partition("=")
        elif i > 0 and args[i - 1].startswith("-") and "=" not in args[i - 1]:
            label = args[i - 1]
        if not value.startswith("gs://"):
            continue
        if label:
            _add(outputs if _OUTPUT_WORDS.search(label) else inputs, value)
        else:
            unlabelled.append(value)
    if len(unlabelled) >= 2:
        _add(outputs, unlabelled[-1])
        unlabelled = unlabelled[:-1]
    for value in unlabelled:
        _add(inputs, value)
    named: dict[str, Any] = {**(section.get("script_variables") or section.get("scriptVariables") or {})}
    named.update({k: v for k, v in (section.get("properties") or {}).items() if not _INFRA_KEYS.match(str(k))})
    for key, value in named.items():
        if str(value).startswith("gs://"):
            _add(outputs if _OUTPUT_WORDS.search(str(key)) else inputs, str(value))
    return inputs, outputs

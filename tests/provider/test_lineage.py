"""The pure OpenLineage rules of provider/lineage.py, as tables: what is injected where, and which gs:// paths are datasets."""

from __future__ import annotations

from typing import Any

import pytest
from dagspec.provider.lineage import (
    Injection,
    decide_injection,
    gcs_dataset,
    gcs_datasets,
    inject_into_batch,
    inject_into_job,
    inject_into_template,
    merge_properties,
    parent_properties,
    transport_properties,
)

PARENT = parent_properties(namespace="ns", job_name="dag.task", run_id="run-1", root_run_id="root-1",
                           root_job_name="dag")
TRANSPORT = {"spark.openlineage.transport.type": "http", "spark.openlineage.transport.url": "http://ol"}


def test_parent_properties_name_the_task_as_parent_and_the_dag_run_as_root() -> None:
    assert PARENT == {
        "spark.openlineage.parentJobNamespace": "ns",
        "spark.openlineage.parentJobName": "dag.task",
        "spark.openlineage.parentRunId": "run-1",
        "spark.openlineage.rootParentRunId": "root-1",
        "spark.openlineage.rootParentJobName": "dag",
        "spark.openlineage.rootParentJobNamespace": "ns",
    }
    other_root = parent_properties(namespace="ns", job_name="d.t", run_id="r", root_run_id="x", root_job_name="up",
                                   root_namespace="upstream-ns")
    assert other_root["spark.openlineage.rootParentJobNamespace"] == "upstream-ns"


@pytest.mark.parametrize(("op_parent", "op_transport", "conf_parent", "conf_transport", "available", "expected"), [
    (None, None, False, False, True, Injection(False, False)),   # off by default, like [openlineage]
    (None, None, True, False, True, Injection(True, False)),     # spark_inject_parent_job_info = True
    (None, None, True, True, True, Injection(True, True)),
    (False, None, True, True, True, Injection(False, True)),     # the operator's switch wins over the config
    (True, True, False, False, True, Injection(True, True)),
    (True, True, True, True, False, Injection(False, False)),    # no provider, disabled, or no listener: nothing
])
def test_the_operator_switch_wins_over_the_config_and_nothing_without_openlineage(
        op_parent: Any, op_transport: Any, conf_parent: bool, conf_transport: bool, available: bool,
        expected: Injection) -> None:
    assert decide_injection(op_parent, op_transport, config_parent=conf_parent, config_transport=conf_transport,
                            available=available) == expected


@pytest.mark.parametrize(("existing", "expected_keys_added"), [
    ({}, set(PARENT) | set(TRANSPORT)),
    ({"spark.executor.memory": "2g"}, set(PARENT) | set(TRANSPORT)),
    # any parent property set by the user: no parent property is added (not even the missing ones)
    ({"spark.openlineage.parentRunId": "mine"}, set(TRANSPORT)),
    ({"spark.openlineage.parentJobName": "mine"}, set(TRANSPORT)),
    # any transport property set by the user: no transport property is added
    ({"spark.openlineage.transport.type": "console"}, set(PARENT)),
    ({"spark.openlineage.parentRunId": "a", "spark.openlineage.transport.url": "b"}, set()),
    # root-parent and other openlineage properties do not count as parent ones (the provider's prefixes)
    ({"spark.openlineage.namespace": "mine"}, set(PARENT) | set(TRANSPORT)),
])
def test_merge_never_overwrites_or_completes_what_the_user_set(existing: dict, expected_keys_added: set) -> None:
    merged = merge_properties(existing, PARENT, TRANSPORT)
    assert {k: merged[k] for k in existing} == existing
    assert set(merged) - set(existing) == expected_keys_added


def test_merge_with_nothing_to_inject_is_the_user_properties() -> None:
    assert merge_properties({"a": "1"}, None, None) == {"a": "1"}
    assert merge_properties(None, None, {}) == {}


@pytest.mark.parametrize(("job", "section"), [
    ({"pyspark_job": {"main_python_file_uri": "gs://b/m.py"}}, "pyspark_job"),
    ({"spark_job": {"main_class": "M", "properties": {"x": "1"}}}, "spark_job"),
    ({"pysparkJob": {"mainPythonFileUri": "gs://b/m.py"}}, "pysparkJob"),
    ({"sparkJob": {"mainClass": "M"}}, "sparkJob"),
])
def test_spark_and_pyspark_jobs_get_the_properties(job: dict, section: str) -> None:
    out = inject_into_job(job, PARENT, None)
    assert out[section]["properties"]["spark.openlineage.parentRunId"] == "run-1"
    assert out[section]["properties"].get("x", "1") == "1"
    assert "properties" not in job[section] or job[section]["properties"] == {"x": "1"}  # the input is not changed


@pytest.mark.parametrize("kind", ["spark_sql_job", "hive_job", "hadoop_job", "pig_job", "spark_r_job", "presto_job",
                                  "trino_job", "flink_job"])
def test_other_job_types_are_left_alone_as_the_google_provider_does(kind: str) -> None:
    job = {kind: {"properties": {"a": "b"}}}
    assert inject_into_job(job, PARENT, TRANSPORT) == job


@pytest.mark.parametrize(("batch", "runtime_key", "injected"), [
    ({"pyspark_batch": {"main_python_file_uri": "gs://b/m.py"}}, "runtime_config", True),
    ({"spark_batch": {"main_class": "M"}, "runtime_config": {"version": "2.2", "properties": {"a": "b"}}},
     "runtime_config", True),
    ({"pysparkBatch": {"mainPythonFileUri": "gs://b/m.py"}, "runtimeConfig": {"properties": {}}}, "runtimeConfig", True),
    ({"spark_sql_batch": {"query_file_uri": "gs://b/q.sql"}}, "runtime_config", False),
    ({"spark_r_batch": {"main_r_file_uri": "gs://b/m.r"}}, "runtime_config", False),
])
def test_batches_get_runtime_properties_only_for_spark_and_pyspark(batch: dict, runtime_key: str, injected: bool) -> None:
    out = inject_into_batch(batch, PARENT, TRANSPORT)
    props = (out.get(runtime_key) or {}).get("properties") or {}
    assert ("spark.openlineage.parentRunId" in props) is injected
    if injected:
        assert {k: v for k, v in (batch.get(runtime_key) or {}).items() if k != "properties"} == \
            {k: v for k, v in out[runtime_key].items() if k != "properties"}  # the version etc. are kept
        assert all(props[k] == v for k, v in ((batch.get(runtime_key) or {}).get("properties") or {}).items())
    else:
        assert out == batch


def test_every_spark_step_of_an_inline_template_is_injected_and_others_kept() -> None:
    template = {"placement": {"managedCluster": {"clusterName": "c"}}, "jobs": [
        {"stepId": "a", "pysparkJob": {"mainPythonFileUri": "gs://b/a.py"}},
        {"step_id": "b", "spark_job": {"main_class": "M", "properties": {"spark.openlineage.parentRunId": "mine"}}},
        {"stepId": "c", "hiveJob": {"queryFileUri": "gs://b/q.hql"}},
    ]}
    out = inject_into_template(template, PARENT, None)
    assert out["jobs"][0]["pysparkJob"]["properties"] == PARENT
    assert out["jobs"][1]["spark_job"]["properties"] == {"spark.openlineage.parentRunId": "mine"}
    assert out["jobs"][2] == template["jobs"][2]
    assert out["placement"] == template["placement"]
    assert "properties" not in template["jobs"][0]["pysparkJob"]


@pytest.mark.parametrize(("transport", "expected"), [
    (None, {}),
    ({"kind": "file"}, {}),
    ({"kind": "console"}, {}),
    ({"kind": "http", "url": "http://ol:5000", "endpoint": "api/v1/lineage", "timeout": 5},
     {"spark.openlineage.transport.type": "http", "spark.openlineage.transport.url": "http://ol:5000",
      "spark.openlineage.transport.endpoint": "api/v1/lineage", "spark.openlineage.transport.timeoutInMillis": "5000"}),
    ({"kind": "http", "url": "u", "endpoint": "e", "timeout": 2.5, "compression": "gzip", "api_key": "k",
      "headers": {"X-Team": "data"}},
     {"spark.openlineage.transport.type": "http", "spark.openlineage.transport.url": "u",
      "spark.openlineage.transport.endpoint": "e", "spark.openlineage.transport.timeoutInMillis": "2000",
      "spark.openlineage.transport.compression": "gzip", "spark.openlineage.transport.auth.type": "api_key",
      "spark.openlineage.transport.auth.apiKey": "k", "spark.openlineage.transport.headers.X-Team": "data"}),
    ({"kind": "composite", "continue_on_failure": True, "transports": [{"kind": "file", "name": "f"}]}, {}),
    ({"kind": "composite", "continue_on_failure": False, "transports": [
        {"kind": "console", "name": "c"}, {"kind": "http", "name": "main", "url": "u", "endpoint": "e", "timeout": 1}]},
     {"spark.openlineage.transport.type": "composite", "spark.openlineage.transport.continueOnFailure": "False",
      "spark.openlineage.transport.transports.main.type": "http", "spark.openlineage.transport.transports.main.url": "u",
      "spark.openlineage.transport.transports.main.endpoint": "e",
      "spark.openlineage.transport.transports.main.timeoutInMillis": "1000"}),
])
def test_only_http_transports_are_given_to_spark(transport: Any, expected: dict) -> None:
    assert transport_properties(transport) == expected


@pytest.mark.parametrize(("uri", "expected"), [
    ("gs://bucket/path/to/file.csv", ("gs://bucket", "path/to/file.csv")),
    ("gs://bucket/dir/", ("gs://bucket", "dir")),
    ("gs://bucket", ("gs://bucket", "/")),
    ("gs://bucket/", ("gs://bucket", "/")),
    ("gs://bucket/dir/part-*.json", ("gs://bucket", "dir")),
    ("gs://bucket/*.json", ("gs://bucket", "/")),
    ("s3://bucket/x", None),
    ("/local/file", None),
    ("gs:///x", None),
])
def test_gcs_dataset_naming_follows_openlineage(uri: str, expected: Any) -> None:
    assert gcs_dataset(uri) == expected


@pytest.mark.parametrize(("section", "inputs", "outputs"), [
    ({"args": ["gs://in/words.txt", "gs://out/counts"]}, [("gs://in", "words.txt")], [("gs://out", "counts")]),
    ({"args": ["gs://in/only"]}, [("gs://in", "only")], []),
    ({"args": ["--input", "gs://a/x", "--output", "gs://b/y"]}, [("gs://a", "x")], [("gs://b", "y")]),
    ({"args": ["--src=gs://a/x", "--dest=gs://b/y", "--verbose"]}, [("gs://a", "x")], [("gs://b", "y")]),
    ({"args": ["input=gs://a/x", "sink=gs://b/y"]}, [("gs://a", "x")], [("gs://b", "y")]),
    ({"args": ["--date", "2024-01-01", "gs://a/x", "gs://a/z", "gs://b/y"]},
     [("gs://a", "x"), ("gs://a", "z")], [("gs://b", "y")]),
    ({"main_python_file_uri": "gs://code/main.py", "python_file_uris": ["gs://code/lib.zip"],
      "jar_file_uris": ["gs://code/x.jar"], "args": []}, [], []),
    ({"properties": {"spark.eventLog.dir": "gs://logs/events", "app.output.path": "gs://b/y",
                     "app.reference": "gs://a/ref"}}, [("gs://a", "ref")], [("gs://b", "y")]),
    ({"script_variables": {"target_table_path": "gs://b/t", "source": "gs://a/s"}}, [("gs://a", "s")], [("gs://b", "t")]),
    ({"args": ["gs://a/x", "gs://a/x", "gs://b/y"]}, [("gs://a", "x")], [("gs://b", "y")]),
])
def test_gcs_paths_in_args_and_properties_become_datasets(section: dict, inputs: list, outputs: list) -> None:
    assert gcs_datasets(section) == (inputs, outputs)


def test_without_an_enabled_openlineage_provider_the_job_is_submitted_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked by the config and by the operator, but OpenLineage has no transport here (so it is disabled)."""
    from dagspec.provider.lineage_runtime import inject, injection_for, openlineage_available

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__SPARK_INJECT_PARENT_JOB_INFO", "True")
    assert openlineage_available() is False
    assert injection_for(None, None) == Injection(False, False)
    job = {"pyspark_job": {"main_python_file_uri": "gs://b/m.py"}}
    assert inject(inject_into_job, job, {"ti": None}, True, True) == job


def test_operators_keep_the_switches_as_given_and_read_the_config_at_run_time() -> None:
    from dagspec.provider.operators.job import DataprocSubmitBatchOperator, DataprocSubmitJobOperator
    from dagspec.provider.operators.workflow import DataprocInstantiateWorkflowTemplateOperator

    ops = [DataprocSubmitJobOperator(task_id="j", job={}, cluster="main"),
           DataprocSubmitBatchOperator(task_id="b", batch={}),
           DataprocInstantiateWorkflowTemplateOperator(task_id="w", template={"jobs": []})]
    for op in ops:
        assert (op.openlineage_inject_parent_job_info, op.openlineage_inject_transport_info) == (None, None)
        assert op.get_openlineage_facets_on_complete(None) is None  # nothing ran: no facets
    off = DataprocSubmitJobOperator(task_id="j", job={}, cluster="main", openlineage_inject_parent_job_info=False)
    assert off.openlineage_inject_parent_job_info is False

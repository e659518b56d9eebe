"""Dataproc configuration is checked at validate time against google-cloud-dataproc's own messages."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.compile.plan import DagPlan
from dagspec.dag_factory.spec import dataproc_schema as schema
from google.cloud import dataproc_v1

ROOT = Path(__file__).resolve().parents[2]


def _compile(tmp_path: Path, text: str) -> tuple[list[DagPlan], list]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = compile_paths([spec], root=tmp_path, env={}, check_imports=False)
    return result.plans, result.all_diagnostics


def _task(plan: DagPlan, task_id: str) -> dict:
    return next(t for t in plan.tasks if t.task_id == task_id).args


def test_the_generated_table_is_what_the_installed_client_describes() -> None:
    assert schema.table_from_client() == schema.table(), (
        "google-cloud-dataproc changed: run .venv/bin/python -m dagspec.dag_factory.spec.dataproc_schema, "
        "then dagspec schema --markdown -o docs/spec-reference.md")


def test_ttl_limits_are_read_from_the_clients_own_documentation() -> None:
    assert schema.ttl_limits("LifecycleConfig", "idle_delete_ttl") == (5 * 60, 14 * 86400)
    assert schema.ttl_limits("LifecycleConfig", "auto_delete_ttl") == (10 * 60, 14 * 86400)
    assert schema.ttl_limits("ExecutionConfig", "ttl") == (10 * 60, 14 * 86400)


def test_a_misspelt_field_gets_a_did_you_mean_at_its_line(tmp_path: Path) -> None:
    plans, diags = _compile(tmp_path, "clusters:\n  etl:\n    config:\n      worker_confg: {num_instances: 2}\n"
                                      "tasks:\n  job: {pyspark: gs://b/job.py, cluster: etl}\n")
    assert plans == []
    [d] = diags
    assert (d.code, d.line, d.column) == ("DSP067", 4, 7)
    assert "worker_confg" in d.message and d.hint == "did you mean `worker_config`?"


def test_a_camel_case_field_is_refused_with_its_snake_case_name_because_the_client_takes_only_those(tmp_path: Path) -> None:
    with pytest.raises(ValueError):  # what the provider would meet at run time
        dataproc_v1.ClusterConfig({"masterConfig": {"numInstances": 1}})
    _, diags = _compile(tmp_path, "clusters:\n  etl:\n    config:\n      masterConfig: {num_instances: 1}\n"
                                  "tasks:\n  job: {pyspark: gs://b/job.py, cluster: etl}\n")
    assert [(d.code, d.line) for d in diags] == [("DSP067", 4)]
    assert "master_config" in diags[0].hint


def test_an_unused_cluster_is_checked_too(tmp_path: Path) -> None:
    _, diags = _compile(tmp_path, "clusters:\n  spare:\n    idle_delete_ttl: 1m\n    config: {worker_confg: {}}\n"
                                  "tasks:\n  hi: {bash: echo hi}\n")
    assert sorted((d.code, d.line) for d in diags) == [("DSP061", 2), ("DSP067", 4), ("DSP069", 3)]


def test_shorthand_durations_and_times_compile_to_what_the_client_accepts(tmp_path: Path) -> None:
    plans, diags = _compile(tmp_path, (
        "clusters:\n  etl:\n    config:\n"
        "      lifecycle_config: {idle_stop_ttl: 10m, auto_stop_time: 2030-01-01T00:00:00Z}\n"
        "      gce_cluster_config: {tags: [etl], internal_ip_only: true}\n"
        "      software_config: {image_version: '2.2-debian12', optional_components: [JUPYTER]}\n"
        "      worker_config: {num_instances: 2, disk_config: {boot_disk_size_gb: 200}}\n"
        "      secondary_worker_config: {num_instances: '{{ params.spot }}'}\n"
        "tasks:\n  job: {pyspark: gs://b/job.py, cluster: etl}\n"))
    assert diags == [] and plans
    config = _task(plans[0], "create_cluster_etl")["cluster_config"]
    assert config["lifecycle_config"]["idle_stop_ttl"] == "600s"
    config["secondary_worker_config"]["num_instances"] = 3  # what Airflow renders the template to (native)
    message = dataproc_v1.ClusterConfig(config)
    assert message.lifecycle_config.idle_stop_ttl.total_seconds() == 600
    assert message.lifecycle_config.auto_stop_time.year == 2030


def test_every_cluster_profile_and_example_spec_fits_dataproc(tmp_path: Path) -> None:
    for profile in (ROOT / "templates" / "clusters").glob("*.yaml"):
        spec = tmp_path / f"{profile.stem}.yaml"
        spec.write_text(f"clusters:\n  c: {{extends: {profile.stem}}}\ntasks:\n  job: {{pyspark: gs://b/job.py}}\n")
    env = {"DAGSPEC_TEMPLATES_PATH": str(ROOT / "templates")}
    result = compile_paths(sorted(tmp_path.glob("*.yaml")), root=tmp_path, env=env, check_imports=False)
    assert result.all_diagnostics == [] and len(result.plans) == 3
    for plan in result.plans:
        dataproc_v1.ClusterConfig(_task(plan, "create_cluster_c")["cluster_config"])


def test_every_job_kind_and_a_serverless_batch_compile_to_messages_the_client_builds(tmp_path: Path) -> None:
    plans, diags = _compile(tmp_path, (
        "clusters:\n  etl: {}\ntasks:\n"
        "  a: {pyspark: gs://b/a.py, cluster: etl}\n"
        "  b: {spark: {main_class: Main, jars: [gs://b/a.jar]}, cluster: etl}\n"
        "  c: {spark_sql: SELECT 1, cluster: etl}\n"
        "  d: {hive: SELECT 1, cluster: etl}\n"
        "  e: {pig: 'sh ls', cluster: etl}\n"
        "  f: {hadoop: {main_jar: gs://b/h.jar}, cluster: etl}\n"
        "  g: {spark_r: gs://b/r.R, cluster: etl}\n"
        "  h: {presto: {query: SELECT 1, client_tags: [x]}, cluster: etl}\n"
        "  i: {trino: SELECT 1, cluster: etl}\n"
        "  j: {flink: {main_class: Main, savepoint: gs://b/sp}, cluster: etl}\n"
        "  k: {pyspark: {main: gs://b/a.py, labels: {team: x}},\n"
        "      serverless: {ttl: 1h, network_tags: [a], runtime_version: '2.2'}}\n"))
    assert diags == [] and plans
    built = []
    for task in plans[0].tasks:
        if "batch" in task.args:
            batch = dataproc_v1.Batch(task.args["batch"])
            assert batch.environment_config.execution_config.ttl.total_seconds() == 3600
            built.append("batch")
        elif "job" in task.args:
            dataproc_v1.Job(task.args["job"])
            built.append("job")
    assert sorted(built) == ["batch"] + ["job"] * 10


def test_a_job_body_dataproc_does_not_take_is_reported_as_a_dagspec_bug() -> None:
    _, problems = schema.check("Job", {"pyspark_job": {"main_python_file": "gs://b/a.py"}}, ("tasks", "a", "pyspark"))
    assert [(p.code, p.path) for p in problems] == [("DSP067", ("tasks", "a", "pyspark", "pyspark_job", "main_python_file"))]
    assert problems[0].hint == "did you mean `main_python_file_uri`?"


@pytest.mark.parametrize(("seconds", "ok"), [(299, False), (300, True), (14 * 86400, True), (14 * 86400 + 1, False)])
def test_idle_delete_ttl_limits_are_dataprocs(seconds: int, ok: bool) -> None:
    problems = schema.check_ttl(seconds, "LifecycleConfig", "idle_delete_ttl", ("x",))
    assert (problems == []) is ok


def test_dagspec_schema_lets_editors_complete_dataproc_fields(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    config = data["$defs"]["EphemeralCluster"]["properties"]["config"]
    assert config["$ref"] == "#/$defs/dataproc.ClusterConfig"
    cluster_config = data["$defs"]["dataproc.ClusterConfig"]
    assert "worker_config" in cluster_config["properties"] and cluster_config["additionalProperties"] is False
    components = data["$defs"]["dataproc.SoftwareConfig"]["properties"]["optional_components"]
    assert "JUPYTER" in components["items"]["enum"]
    validator = jsonschema.Draft202012Validator({"$ref": "#/$defs/EphemeralCluster", "$defs": data["$defs"]})
    assert list(validator.iter_errors({"config": {"worker_config": {"num_instances": 2}}})) == []
    assert list(validator.iter_errors({"config": {"worker_confg": {}}}))
    assert list(validator.iter_errors({"config": {"software_config": {"optional_components": ["NOT_A_COMPONENT"]}}}))

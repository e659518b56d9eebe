"""Template -> spec -> template keeps the meaning; broken templates give their codes and lines; CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.errors import has_errors
from dagspec.dag_factory.workflow_template import export_plan
from dagspec.dag_factory.workflow_template.cli import convert_file, dump_yaml
from dagspec.dag_factory.workflow_template.names import convert_keys
from dagspec.dag_factory.workflow_template.regexes import pattern_of, regexes_of
from wt_kit import BAD, GOOD, canonical, expected, load


def _spec_plan(data: dict, folder: Path, name: str):
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / f"{name}.yaml"
    spec.write_text(dump_yaml(data))
    result = compile_paths([spec], root=folder, check_imports=False)
    assert not has_errors(result.all_diagnostics), [d.render() for d in result.all_diagnostics]
    assert len(result.plans) == 1
    return result.plans[0]


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_round_trip_keeps_the_meaning(path: Path, tmp_path: Path) -> None:
    data, diags = convert_file(path)
    assert data is not None, [d.render() for d in diags]
    plan = _spec_plan(data, tmp_path / "dags", path.stem)
    exported = export_plan(plan)
    assert exported.template is not None, [d.render() for d in exported.diagnostics]
    assert canonical(exported.template) == canonical(load(path))
    # and once more: the exported template imports to the same spec
    again = tmp_path / "again.yaml"
    again.write_text(dump_yaml(exported.template))
    data2, _ = convert_file(again)
    assert data2 == data


def test_camel_and_snake_spellings_give_the_same_spec(tmp_path: Path) -> None:
    source = GOOD[0]
    camel = load(source)
    snake = convert_keys(camel, "snake")
    assert "pyspark_job" in snake["jobs"][0] and "pysparkJob" in camel["jobs"][0]
    (tmp_path / "snake.yaml").write_text(dump_yaml(snake))
    assert convert_file(tmp_path / "snake.yaml")[0] == convert_file(source)[0]


def test_import_maps_fields_params_and_cluster() -> None:
    data, _ = convert_file(next(p for p in GOOD if p.stem == "etl_camel"))
    assert data["dag_id"] == "sales-etl"
    assert data["dagrun_timeout"] == 1800
    assert data["params"]["INPUT"] == {"type": "string", "default": "gs://demo/raw/",
                                       "description": "where the raw files are", "pattern": "^(?:gs://.*/)$"}
    assert data["params"]["ZONE"]["enum"] == ["europe-west1-b", "europe-west1-c"]
    cluster = data["clusters"]["etl"]
    assert cluster["idle_delete_ttl"] == 900
    assert cluster["config"]["gce_cluster_config"]["zone_uri"] == "{{ params.ZONE }}"
    assert cluster["config"]["software_config"]["properties"] == {"spark:spark.sql.shuffle.partitions": "8"}
    assert cluster["labels"] == {"team": "analytics", "cost-center": "sales"}
    tasks = data["tasks"]
    assert tasks["clean"]["pyspark"]["args"] == ["{{ params.INPUT }}", "gs://demo/clean/"]
    assert tasks["publish"]["depends_on"] == ["clean", "totals"]
    assert tasks["publish"]["hive"]["labels"] == {"team": "analytics", "stage": "publish"}
    assert tasks["totals"]["spark_sql"]["query"].startswith("SELECT country")


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_broken_templates_report_codes_and_lines(path: Path) -> None:
    data, diags = convert_file(path)
    assert data is None
    errors = sorted((d.code, d.line) for d in diags if d.severity == "error")
    assert errors == sorted(expected(path)), [d.render() for d in diags]
    assert all(d.file.endswith(path.name) for d in diags)


def test_cycle_names_its_members() -> None:
    _, diags = convert_file(next(p for p in BAD if p.stem == "cycle"))
    assert "second -> third -> second" in diags[0].message


def test_numeric_cluster_field_keeps_the_template_value(tmp_path: Path) -> None:
    template = {
        "placement": {"managedCluster": {"clusterName": "etl", "config": {"workerConfig": {"numInstances": 2}}}},
        "jobs": [{"stepId": "only", "pysparkJob": {"mainPythonFileUri": "gs://b/a.py", "args": ["${env.HOME}", "${env.HOME}"]}}],
        "parameters": [{"name": "WORKERS", "fields": ["placement.managedCluster.config.workerConfig.numInstances"]},
                       {"name": "MODE", "fields": ["jobs['only'].pysparkJob.args[0]"],
                        "validation": {"values": {"values": ["fast", "slow"]}}}],
    }
    path = tmp_path / "numeric.yaml"
    path.write_text(dump_yaml(template))
    data, diags = convert_file(path)
    assert data is not None
    warnings = {d.code: d for d in diags if d.severity == "warning"}
    assert set(warnings) == {"DSP087", "DSP085"}
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "workerConfig.numInstances" in text)
    assert warnings["DSP087"].line == line  # the WORKERS field path
    assert "`numInstances` is not a text field" in warnings["DSP087"].message
    assert data["clusters"]["etl"]["config"]["worker_config"]["num_instances"] == 2
    assert data["params"]["WORKERS"]["default"] == "2"
    assert data["params"]["MODE"]["default"] is None  # `${env.HOME}` is not one of its values
    # `${env.HOME}` written in a template is text, not a spec variable
    plan = _spec_plan({k: v for k, v in data.items() if k != "params"} | {"params": {"WORKERS": data["params"]["WORKERS"]}},
                      tmp_path / "dags", "numeric")
    job = next(t for t in plan.tasks if t.task_id == "only").args["job"]
    assert job["pyspark_job"]["args"] == ["{{ params.MODE }}", "${env.HOME}"]


def test_regexes_round_trip() -> None:
    for regexes in (["gs://.*"], ["a|b", "c(d|e)"], [r"[)|(]x"], [r"\d{4}"]):
        assert regexes_of(pattern_of(regexes)) == regexes
    assert regexes_of("abc") == [".*(?:abc).*"]


def test_cli_import_writes_yaml_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = next(p for p in GOOD if p.stem == "selector_snake")
    out = tmp_path / "spec.yaml"
    assert main(["import-template", str(source), "-o", str(out)]) == 0
    assert yaml.safe_load(out.read_text())["tasks"]["aggregate"]["retries"] == 2
    capsys.readouterr()
    assert main(["import-template", str(source), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["clusters"]["selected"]["select"]["labels"]["env"] == "prod"
    bad = next(p for p in BAD if p.stem == "unknown_prerequisite")
    assert main(["import-template", str(bad), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["line"]) for d in found] == [("DSP082", 8)]
    assert main(["import-template", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unknown_prerequisite.yaml:8:9: error DSP082" in err and "did you mean `first`?" in err


BLOCKED = """\
clusters:
  etl: {config: {}}
  other: {config: {}}
tasks:
  start: {empty: true}
  clean:
    pyspark: {main: jobs/clean.py}
    cluster: etl
    depends_on: start
  load:
    pyspark: {main: gs://b/load.py, args: ["{{ ds }}"]}
    cluster: etl
  side:
    hive: {query: SHOW TABLES}
    cluster: other
  batch:
    pyspark: {main: gs://b/score.py}
    serverless: {}
"""


def test_cli_export_names_the_tasks_that_prevent_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "clean.py").write_text("print('x')\n")
    spec = tmp_path / "blocked.yaml"
    spec.write_text(BLOCKED)
    assert main(["export-template", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "tasks that prevent it: batch, clean, load, side, start" in err
    assert "task `start` is a `empty` task" in err
    assert "local file `jobs/clean.py`" in err
    assert "Airflow templating `{{ ds }}`" in err
    assert "task `side` runs on cluster `other`" in err
    assert "blocked.yaml:16:3: error DSP088" in err  # the batch task, with its line


def test_cli_export_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _ = convert_file(next(p for p in GOOD if p.stem == "mixed"))
    spec = tmp_path / "mixed.yaml"
    spec.write_text(dump_yaml(data))
    out = tmp_path / "wft.json"
    assert main(["export-template", str(spec), "--format", "json", "-o", str(out)]) == 0
    template = json.loads(out.read_text())
    assert template["placement"] == {"clusterSelector": {"clusterLabels": {"goog-dataproc-cluster-name": "shared-cluster"}}}
    assert [j["stepId"] for j in template["jobs"]] == ["hadoop", "pig", "spark-r", "trino", "flink"]

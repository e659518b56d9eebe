"""Dataproc's naming rules (step ids, parameter names, managed cluster prefixes, labels) hold at validate and export time."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.errors import has_errors
from dagspec.dag_factory.workflow_template import export_plan
from dagspec.dag_factory.workflow_template.cli import dump_yaml
from dagspec.provider.dataproc_rules import (
    label_problems,
    managed_cluster_prefix_problem,
    parameter_name_problem,
    parameter_value_problem,
    step_id_problem,
)

# OrderedJob.step_id (types/workflow_templates.py): 3-50 of [A-Za-z0-9_-], no `_`/`-` at either end
STEP_IDS = [("abc", True), ("clean-sales", True), ("A_1", True), ("a" * 50, True), ("ab", False), ("a" * 51, False),
            ("_clean", False), ("clean-", False), ("cle an", False)]
# TemplateParameter.name: [A-Z0-9_], not a digit first, at most 40
PARAMETER_NAMES = [("INPUT", True), ("_X", True), ("A" * 40, True), ("input", False), ("1X", False),
                   ("A" * 41, False), ("IN-PUT", False)]
# ManagedCluster.cluster_name: 2-35 of [a-z0-9-], a letter first, no `-` at either end
PREFIXES = [("et", True), ("etl-2", True), ("a" * 35, True), ("e", False), ("a" * 36, False), ("1etl", False),
            ("etl-", False), ("Etl", False)]
# Cluster.labels / Job.labels / WorkflowTemplate.labels: keys [\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62},
# values [\p{Ll}\p{Lo}\p{N}_-]{0,63}, at most 32; Google allows international characters
LABELS = [({"env": "prod"}, True), ({"env": ""}, True), ({"équipe": "données"}, True), ({"k_1-x": "v_1-2"}, True),
          ({"Bad Key!": "x"}, False), ({"1env": "x"}, False), ({"env": "Prod"}, False), ({"env": "a" * 64}, False),
          ({"k" * 64: "x"}, False), ({f"k{i}": "v" for i in range(32)}, True), ({f"k{i}": "v" for i in range(33)}, False)]


@pytest.mark.parametrize(("value", "ok"), STEP_IDS)
def test_step_ids_follow_dataproc(value: str, ok: bool) -> None:
    assert (step_id_problem(value) is None) is ok


@pytest.mark.parametrize(("value", "ok"), PARAMETER_NAMES)
def test_parameter_names_follow_dataproc(value: str, ok: bool) -> None:
    assert (parameter_name_problem(value) is None) is ok


@pytest.mark.parametrize(("value", "ok"), PREFIXES)
def test_managed_cluster_prefixes_follow_dataproc(value: str, ok: bool) -> None:
    assert (managed_cluster_prefix_problem(value) is None) is ok


@pytest.mark.parametrize(("labels", "ok"), LABELS)
def test_labels_follow_dataproc(labels: dict, ok: bool) -> None:
    assert (label_problems(labels) == []) is ok


def test_a_parameter_regex_must_match_the_whole_value() -> None:
    # RegexValidation.regexes: "the value must match the regex in its entirety (substring matches are not sufficient)"
    assert parameter_value_problem("N", "not-a-number", regexes=["[0-9]+"]) is not None
    assert parameter_value_problem("N", "a1", regexes=["[0-9]+"]) is not None
    assert parameter_value_problem("N", "12", regexes=["[0-9]+"]) is None
    assert parameter_value_problem("N", "b", values=["a", "b"]) is None
    assert parameter_value_problem("N", "ab", values=["a", "b"]) is not None


def _plan(tmp_path: Path, spec: dict):
    path = tmp_path / "dags" / "sales.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_yaml(spec))
    result = compile_paths([path], root=path.parent, check_imports=False)
    assert not has_errors(result.all_diagnostics), [d.render() for d in result.all_diagnostics]
    return result.plans[0]


def test_export_refuses_step_ids_and_parameter_names_dataproc_would_refuse(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {
        "params": {"day": {"type": "string", "default": "2026-01-01"}},
        "clusters": {"etl": {"config": {}}},
        "tasks": {"ab": {"cluster": "etl", "pyspark": {"main": "gs://demo/a.py", "args": ["{{ params.day }}"]}},
                  "clean": {"cluster": "etl", "pyspark": {"main": "gs://demo/b.py"}, "depends_on": ["ab"]}},
    })
    exported = export_plan(plan)
    assert exported.template is None
    errors = [d for d in exported.diagnostics if d.severity == "error"]
    assert {d.code for d in errors} == {"DSP088"}
    assert exported.blockers == ("ab",)
    messages = " ".join(d.message for d in errors)
    assert "step id `ab`" in messages and "parameter name `day`" in messages
    assert any("`DAY`" in d.hint for d in errors)


def test_export_keeps_the_managed_cluster_prefix_within_35_characters(tmp_path: Path) -> None:
    key = "nightly_sales_aggregation_cluster_for_europe"
    plan = _plan(tmp_path, {
        "clusters": {key: {"config": {}}},
        "tasks": {"clean": {"cluster": key, "pyspark": {"main": "gs://demo/a.py"}}},
    })
    exported = export_plan(plan)
    assert exported.template is not None, [d.render() for d in exported.diagnostics]
    name = exported.template["placement"]["managedCluster"]["clusterName"]
    assert managed_cluster_prefix_problem(name) is None and len(name) <= 35


INCLUDED = """\
placement:
  managedCluster: {clusterName: etl, config: {}}
jobs:
  - stepId: go
    pysparkJob: {mainPythonFileUri: gs://demo/a.py, args: ['1']}
parameters:
  - name: run_day
    fields: ["jobs['go'].pysparkJob.args[0]"]
"""


def test_validate_reports_template_rules_on_the_included_templates_lines(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from dagspec.dag_factory.cli.main import main

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "_etl.wft.yaml").write_text(INCLUDED)
    (folder / "sales.yaml").write_text("workflow_template: _etl.wft.yaml\n")
    assert main(["validate", str(folder), "--no-imports"]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "_etl.wft.yaml:4:13: error DSP077: step id `go` must be 3 to 50 characters long" in text
    assert "_etl.wft.yaml:7:11: error DSP078: parameter name `run_day`" in text
    assert "write `RUN_DAY`" in text


def test_export_refuses_labels_dataproc_would_refuse(tmp_path: Path) -> None:
    # validate only warns (DSP047: the operators rewrite such labels), export-template refuses them (DSP088)
    plan = _plan(tmp_path, {
        "clusters": {"etl": {"config": {}, "labels": {"Owner": "ana"}}},
        "tasks": {"clean": {"cluster": "etl", "pyspark": {"main": "gs://demo/a.py", "labels": {"env": "Prod"}}}},
    })
    exported = export_plan(plan)
    assert exported.template is None
    messages = [d.message for d in exported.diagnostics if d.code == "DSP088"]
    assert any("task `clean`" in m and "`Prod`" in m for m in messages)
    assert any("the cluster" in m and "`Owner`" in m for m in messages)


def test_a_wrong_label_value_on_a_step_is_reported_at_the_value() -> None:
    from dagspec.dag_factory.workflow_template.cli import convert_file

    fixture = Path(__file__).parent / "fixtures" / "bad" / "bad_cluster_name_and_labels.yaml"
    _, diags = convert_file(fixture)
    at = {d.line: d.column for d in diags if d.code == "DSP079"}
    assert at[14] == 12  # `      env: Prod`: the value is wrong
    assert at[9] == 7  # `      Owner: ana`: the key is wrong

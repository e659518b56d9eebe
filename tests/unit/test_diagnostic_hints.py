"""Every problem at once, each said once, with a hint that says how to fix it: value errors that do
not hide each other, did-you-mean for values, paths, profiles and templates, "move this key one
level", the cron field that is out of range, and quoting an unquoted `*`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.compile.cron import cron_problem
from dagspec.dag_factory.errors import Diagnostic
from dagspec.dag_factory.spec.placement import move_hint
from dagspec.dag_factory.spec.yaml_source import load_yaml

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "bad"
ENV = {"PATH": os.environ.get("PATH", "")}


def _diagnostics(name: str) -> list[Diagnostic]:
    return compile_paths([BAD / name], root=BAD, env=ENV).all_diagnostics


def _at(diags: list[Diagnostic], line: int) -> Diagnostic:
    found = [d for d in diags if d.line == line and d.severity == "error"]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("spec", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_no_bad_spec_reports_the_same_problem_twice(spec: Path) -> None:
    diags = compile_paths([spec], root=BAD, env=ENV).all_diagnostics
    places = [(d.code, d.file, d.line, d.column) for d in diags]
    assert len(places) == len(set(places)), "\n".join(d.render() for d in diags)


def test_a_date_that_is_no_date_does_not_hide_the_other_value_errors() -> None:
    diags = _diagnostics("value_errors_together.yaml")
    assert [(d.code, d.line, d.column) for d in diags] == [
        ("DSP011", 3, 13), ("DSP011", 8, 14), ("DSP011", 9, 18), ("DSP011", 10, 19)]
    assert "`2024-13-01` is not a valid date: month" in diags[0].message
    assert "2024-06-01" in diags[0].hint


def test_a_date_with_slashes_is_reported_once_with_the_form_to_write() -> None:
    (diag,) = _diagnostics("date_separator.yaml")
    assert diag.message == "`start_date`: `2024/06/01` is not a valid date: invalid date separator, expected `-`"
    assert "`2024-06-01`" in diag.hint


def test_a_misspelt_enum_value_gets_did_you_mean_and_lists_the_values_once() -> None:
    diag = _at(_diagnostics("value_errors_together.yaml"), 10)
    assert diag.message == "`tasks.b.trigger_rule`: `all_sucess` is not one of the allowed values"
    assert diag.hint.startswith("did you mean `all_success`?")
    assert diag.hint.count("all_done_min_one_success") == 1 and "all_done_min_one_success" not in diag.message


def test_operator_and_callable_paths_with_a_typo_name_the_closest_existing_path() -> None:
    diags = _diagnostics("operator_typo.yaml")
    bash = "airflow.providers.standard.operators.bash.BashOperator"
    assert _at(diags, 5).hint == f"an operator is named by its import path: did you mean `{bash}`?"
    assert _at(diags, 8).hint == f"did you mean `{bash}`?"
    assert _at(diags, 11).hint == "did you mean `os.path.join`?"


def test_a_misspelt_module_in_an_operator_path_names_the_closest_module(tmp_path: Path) -> None:
    spec = tmp_path / "typo.yaml"
    spec.write_text("tasks:\n  a:\n    operator: airflow.providers.standard.operatrs.bash.BashOperator\n")
    (diag,) = compile_paths([spec], root=tmp_path, env=ENV).all_diagnostics
    assert diag.code == "DSP040"
    assert diag.hint == "did you mean `airflow.providers.standard.operators.bash.BashOperator`?"


def test_a_misspelt_cluster_profile_or_template_names_the_closest_one() -> None:
    assert _at(_diagnostics("profile_typo.yaml"), 5).hint.startswith("did you mean `single-node`?")
    assert _at(_diagnostics("template_typo.yaml"), 2).hint.startswith("did you mean `regional-report`?")


def test_depends_on_dedented_to_the_task_ids_says_to_move_it_one_level_down() -> None:
    diag = _at(_diagnostics("misplaced_depends_on.yaml"), 8)
    assert diag.message == "`depends_on` is written among the tasks but is not a task"
    assert diag.hint == "`depends_on` is a key of a task, not a task: move it one level down, under `b:`"


def test_cluster_nested_under_the_job_says_to_move_it_one_level_up() -> None:
    diag = _at(_diagnostics("misplaced_cluster.yaml"), 9)
    assert diag.message == "unknown key `cluster`"
    assert diag.hint == "`cluster` is a key of task `report`, not of `pyspark`: move it one level up, in line with `pyspark:`"


def test_the_move_hint_finds_a_key_of_a_nested_model_the_spec_does_not_write_yet() -> None:
    hint = move_hint(("retries",), {"retries": 3, "tasks": {}})
    assert hint == ("`retries` is a key of `default_args`, not of the spec's top level: "
                    "move it one level down, under `default_args:`")
    assert move_hint(("tasks", "a", "bash", "colour"), {"tasks": {"a": {"bash": {"colour": 1}}}}) == ""


def test_an_out_of_range_cron_field_is_named_with_its_range_and_column() -> None:
    (diag,) = _diagnostics("bad_cron.yaml")
    assert diag.message == "bad cron expression `0 25 * * *`: hour `25` is out of range (0-23)"
    assert (diag.line, diag.column) == (2, 14)  # under `25`, inside the quotes
    assert "hour (0-23)" in diag.hint


@pytest.mark.parametrize(("expr", "problem"), [
    ("0 6 * 13 *", ("month `13` is out of range (1-12)", 6)),
    ("61 * * * *", ("minute `61` is out of range (0-59)", 0)),
    ("0 6 32 * *", ("day of month `32` is out of range (1-31)", 4)),
    ("0 6 * * 1-8", ("day of week `8` is out of range (0-7)", 10)),
    ("0 6 * * mnd", ("the day of week field `mnd` is malformed", 8)),
    ("*/15 6 * * 1#2", None),
])
def test_cron_problems_name_the_field(expr: str, problem: tuple[str, int] | None) -> None:
    assert cron_problem(expr) == problem


def test_an_unquoted_star_gets_a_hint_to_quote_the_cron_expression() -> None:
    (diag,) = _diagnostics("unquoted_cron.yaml")
    assert (diag.code, diag.line, diag.column) == ("DSP001", 2, 11)
    assert "while scanning an alias" in diag.message
    assert diag.hint.startswith('a value starting with `*` is a YAML alias; quote it, e.g. `schedule: "* * * * *"`')


def test_a_date_that_is_no_date_stays_text_where_text_is_due() -> None:
    doc, diags = load_yaml("description: 2024-13-01\nwhen: 2024-06-01\n", "x.yaml")
    assert diags == [] and doc is not None
    assert doc.data["description"] == "2024-13-01" and str(doc.data["when"]) == "2024-06-01"


def test_a_spec_key_indented_among_the_tasks_says_to_move_it_one_level_up(tmp_path: Path) -> None:
    spec = tmp_path / "indented.yaml"
    spec.write_text("tasks:\n  a: {bash: echo a}\n  schedule: '@daily'\n")
    (diag,) = compile_paths([spec], root=tmp_path, env=ENV).all_diagnostics
    assert (diag.code, diag.line, diag.column) == ("DSP013", 3, 3)
    assert diag.hint == "`schedule` is a key of the spec's top level, not of `tasks`: move it one level up, in line with `tasks:`"


def test_a_boolean_literal_keeps_its_plain_message(tmp_path: Path) -> None:
    spec = tmp_path / "empty.yaml"
    spec.write_text("tasks:\n  a: {empty: false}\n")
    (diag,) = compile_paths([spec], root=tmp_path, env=ENV).all_diagnostics
    assert diag.message == "`tasks.a.empty`: Input should be True"

"""DAG params: a catastrophic pattern, a default that breaks its own schema, an unclosed regex and a
misspelled key are validate-time errors at their line, not a hung trigger or a silently wrong default."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.compile.regex_risk import backtracking_risk


def diagnostics(tmp_path: Path, text: str) -> list[tuple[str, int]]:
    spec = tmp_path / "params.yaml"
    spec.write_text(textwrap.dedent(text))
    result = compile_paths([spec], root=tmp_path, env={})
    errors = [d for d in result.all_diagnostics if d.severity == "error"]
    assert not (errors and result.plans), "a spec with errors gives no DAG"
    return sorted((d.code, d.line) for d in errors)


@pytest.mark.timeout(60)  # the bug is a hang: matching the default against the pattern never ends
def test_a_catastrophic_pattern_is_refused_at_validate_time_without_matching_the_default(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    spec = tmp_path / "redos.yaml"
    spec.write_text(textwrap.dedent(f"""\
        params:
          name:
            type: string
            pattern: "^(a+)+$"
            default: "{'a' * 60}!"
        tasks:
          hello: {{bash: echo hi}}
        """))
    assert main(["validate", str(spec), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "redos.yaml:4:14: error DSP016: param `name`: pattern `^(a+)+$` can take exponential time" in out
    assert "hint: rewrite it without a quantifier inside a repeated group" in out


@pytest.mark.parametrize("pattern", [
    "^(a+)+$", "(a*)*b", r"^(\w+\s?)*$", "(x+x+)+y", r"^(\d+)*$", "(.*a){12}", "^(a|a?)+$", "^(a+a)+$",
])
def test_patterns_that_backtrack_exponentially_are_recognised(pattern: str):
    assert backtracking_risk(pattern)


@pytest.mark.parametrize("pattern", [
    "^[a-z]+$", r"^([a-z0-9]+\.)*[a-z]+$", r"^\d{4}-\d{2}-\d{2}$", r"^([^,]+,)*[^,]+$", "^(ab|cd)*$",
    r"^[\w.-]+@[\w-]+(\.[\w-]+)+$", r"^(\d{1,3}\.){3}\d{1,3}$", "^(a+b)+$",
])
def test_ordinary_patterns_are_accepted(pattern: str):
    assert backtracking_risk(pattern) is None


def test_every_pattern_in_a_schema_is_checked_nested_ones_included(tmp_path: Path):
    assert diagnostics(tmp_path, """\
        params:
          ids:
            type: array
            items: {type: string, pattern: "(x+x+)+y"}
        tasks:
          t: {bash: echo}
        """) == [("DSP016", 4)]


def test_a_default_of_the_wrong_type_is_an_error_at_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    spec = tmp_path / "typed.yaml"
    spec.write_text('params:\n  n: {type: integer, default: "abc"}\ntasks:\n  t: {bash: echo}\n')
    assert main(["validate", str(spec), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "typed.yaml:2:31: error DSP014: param `n`: the default does not match the param's own schema: " \
           "'abc' is not of type 'integer'" in out


@pytest.mark.parametrize("schema, line", [
    ('{type: string, enum: [a, b], default: c}', 2),
    ('{type: integer, minimum: 5, default: 3}', 2),
    ('{type: string, pattern: "^[a-z]+$", default: "ABC"}', 2),
    ('{type: string, format: date, default: "not a date"}', 2),
    ('{type: array, items: {type: integer}, default: [1, "two"]}', 2),
])
def test_defaults_are_checked_against_every_keyword_of_their_schema(tmp_path: Path, schema: str, line: int):
    assert diagnostics(tmp_path, f"params:\n  p: {schema}\ntasks:\n  t: {{bash: echo}}\n") == [("DSP014", line)]


def test_an_unclosed_regex_is_an_error_at_the_pattern(tmp_path: Path):
    found = diagnostics(tmp_path, 'params:\n  p:\n    type: string\n    pattern: "^([a-z"\ntasks:\n  t: {bash: echo}\n')
    assert found == [("DSP015", 4)]
    with pytest.raises(re.error):
        re.compile("^([a-z")


def test_an_invalid_schema_is_an_error(tmp_path: Path):
    assert diagnostics(tmp_path, "params:\n  p: {type: integr, default: 1}\ntasks:\n  t: {bash: echo}\n") \
        == [("DSP014", 2)]


def test_a_misspelled_param_key_is_an_unknown_key_with_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    spec = tmp_path / "typo.yaml"
    spec.write_text("params:\n  a: {type: integer, defualt: 5}\n  b: {descripton: x, default: 1}\n"
                    "tasks:\n  t: {bash: echo}\n")
    assert main(["validate", str(spec), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "typo.yaml:2:22: error DSP010: unknown key `defualt`" in out
    assert "hint: did you mean `default`?" in out
    assert "typo.yaml:3:7: error DSP010: unknown key `descripton`" in out


def test_a_lone_misspelled_default_is_not_silently_the_whole_default(tmp_path: Path):
    assert diagnostics(tmp_path, "params:\n  a: {defualt: 5}\ntasks:\n  t: {bash: echo}\n") == [("DSP010", 2)]


def test_good_params_still_compile_to_the_same_plan(tmp_path: Path):
    spec = tmp_path / "ok.yaml"
    spec.write_text(textwrap.dedent("""\
        params:
          plain: 5
          mapping: {region: eu, size: 3}
          typed: {type: integer, default: 3, minimum: 1, description: how many}
          email: {type: string, pattern: "^[^@]+@[^@]+$", default: a@b.c}
          maybe: {type: [string, "null"], default: null}
          wrapped: {default: {defualt: 1}}
        tasks:
          t: {bash: echo}
        """))
    result = compile_paths([spec], root=tmp_path, env={})
    assert result.all_diagnostics == []
    params = result.plans[0].params
    assert params["plain"].default == 5 and params["mapping"].default == {"region": "eu", "size": 3}
    assert params["typed"].schema == {"type": "integer", "minimum": 1}
    assert params["wrapped"].default == {"defualt": 1}


def test_the_loader_refuses_the_dag_and_the_rest_of_the_folder_loads(tmp_path: Path):
    from dagspec.dag_factory.airflow.compat import bundle_dagbag

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dagspec_loader.py").write_text(
        "# airflow dag\nfrom dagspec.dag_factory.airflow.loader import load_dag_folder\nload_dag_folder(globals())\n")
    (folder / "redos.yaml").write_text(
        f'start_date: 2024-01-01\nparams:\n  n: {{type: string, pattern: "^(a+)+$", default: "{"a" * 40}!"}}\n'
        "tasks:\n  t: {bash: echo}\n")
    (folder / "good.yaml").write_text("start_date: 2024-01-01\ntasks:\n  t: {bash: echo}\n")
    bag = bundle_dagbag(folder, folder)
    assert set(bag.dags) == {"good"}
    assert "redos.yaml:3:" in bag.import_errors["redos.yaml"] and "DSP016" in bag.import_errors["redos.yaml"]

"""Environment variables: under a policy only allowed names resolve, and no value read from the
environment is ever shown (diagnostics, render, DAG docs, logs, hints)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.spec.compose import resolve_variables
from dagspec.dag_factory.spec.yaml_source import SourceMap

FERNET = "fernet-key-Zm9vYmFyYmF6cXV4LXNlY3JldA"
TOKEN = "tok-9f8e7d6c5b4a-secret"
POLICY = {"AIRFLOW__DAGSPEC__ALLOWED_OPERATORS": "mycompany.*,airflow.*",
          "AIRFLOW__DAGSPEC__ALLOWED_CALLABLES": "mycompany.*"}


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key, value in POLICY.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", FERNET)
    monkeypatch.setenv("MYCO_TOKEN", TOKEN)
    monkeypatch.setenv("DAGSPEC_CACHE", "off")
    return monkeypatch


def _spec(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", str(path), "--root", str(path.parent), "--no-imports"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_under_a_policy_the_fernet_key_in_a_description_is_an_error_at_its_line(
        tmp_path: Path, policy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _spec(tmp_path, "tasks: {t: {empty: true}}\ndescription: \"${env.AIRFLOW__CORE__FERNET_KEY}\"\n")
    code, out = _validate(spec, capsys)
    assert code == 1
    assert "s.yaml:2:14: error DSP052" in out and "AIRFLOW__CORE__FERNET_KEY" in out
    assert FERNET not in out


def test_under_a_policy_a_name_not_allowed_never_falls_back_to_its_default(
        tmp_path: Path, policy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    policy.setenv("AIRFLOW__DAGSPEC__ALLOWED_ENV", "MYCO_*")
    spec = _spec(tmp_path, "tasks:\n  t: {bash: 'echo ${env.HOME:-/nowhere}'}\n")
    result = compile_paths([spec], root=tmp_path, check_imports=False)
    assert not result.plans
    assert [(d.code, d.line) for d in result.all_diagnostics] == [("DSP052", 2)]
    assert "MYCO_*" in result.all_diagnostics[0].hint


def test_with_a_policy_and_no_allowed_env_no_name_resolves(tmp_path: Path, policy: pytest.MonkeyPatch) -> None:
    spec = _spec(tmp_path, "vars: {t: '${env.MYCO_TOKEN}'}\ntasks:\n  t: {bash: 'echo ${var.t}'}\n")
    result = compile_paths([spec], root=tmp_path, check_imports=False)
    assert [(d.code, d.line) for d in result.all_diagnostics] == [("DSP052", 1)]
    assert "allowed_env" in result.all_diagnostics[0].hint


def test_allowed_names_resolve_and_allowed_env_alone_is_a_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__DAGSPEC__ALLOWED_ENV", "MYCO_*")
    monkeypatch.setenv("MYCO_TOKEN", TOKEN)
    monkeypatch.setenv("OTHER_SECRET", "x")
    ok = _spec(tmp_path, "tasks:\n  t: {bash: 'echo ${env.MYCO_TOKEN}'}\n")
    result = compile_paths([ok], root=tmp_path, check_imports=False)
    assert not result.all_diagnostics
    assert result.plans[0].tasks[0].args["bash_command"] == f"echo {TOKEN}"  # the DAG itself gets the value
    refused = _spec(tmp_path, "tasks:\n  t: {bash: 'echo ${env.OTHER_SECRET}'}\n", "r.yaml")
    assert [d.code for d in compile_paths([refused], root=tmp_path, check_imports=False).all_diagnostics] == ["DSP052"]


def test_hints_under_a_policy_never_name_environment_variables_that_are_not_allowed(
        tmp_path: Path, policy: pytest.MonkeyPatch) -> None:
    policy.setenv("AIRFLOW__DAGSPEC__ALLOWED_ENV", "MYCO_*")
    policy.setenv("MYCX_PASSWORD", "hunter2-hunter2")
    spec = _spec(tmp_path, "tasks:\n  t: {bash: 'echo ${env.MYCO_PASSWORD}'}\n")
    (diag,) = compile_paths([spec], root=tmp_path, check_imports=False).all_diagnostics
    assert diag.code == "DSP050"
    assert "MYCX_PASSWORD" not in diag.hint and "MYCX_PASSWORD" not in diag.message


def test_a_bad_cron_expression_from_the_environment_shows_the_reference_not_the_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SCHEDULE_SECRET", "0 99 * * * secret-schedule")
    monkeypatch.setenv("DAGSPEC_CACHE", "off")
    spec = _spec(tmp_path, "schedule: ${env.SCHEDULE_SECRET}\ntasks: {t: {empty: true}}\n")
    code, out = _validate(spec, capsys)
    assert code == 1
    assert "DSP030" in out and "`${env.SCHEDULE_SECRET}`" in out
    assert "secret-schedule" not in out


def test_an_unknown_cluster_named_by_the_environment_shows_the_reference_not_the_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUSTER_SECRET", "cluster-name-from-a-secret")
    spec = _spec(tmp_path, "tasks:\n  j: {pyspark: {main: gs://b/j.py}, cluster: '${env.CLUSTER_SECRET}'}\n")
    diags = compile_paths([spec], root=tmp_path, check_imports=False).all_diagnostics
    assert "DSP060" in [d.code for d in diags]
    text = "\n".join(d.render() for d in diags)
    assert "cluster-name-from-a-secret" not in text
    assert "${env.CLUSTER_SECRET}" in text


def test_render_prints_references_never_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MYCO_TOKEN", TOKEN)
    spec = _spec(tmp_path, "description: 'd ${env.MYCO_TOKEN}'\ndoc: 'token: ${env.MYCO_TOKEN}'\n"
                           "tasks:\n  t: {bash: 'curl -H \"auth: ${env.MYCO_TOKEN}\" x'}\n")
    for fmt in ("text", "json"):
        assert main(["render", str(spec), "--root", str(tmp_path), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert TOKEN not in out
        assert "${env.MYCO_TOKEN}" in out
        if fmt == "json":
            json.loads(out)


def test_dag_docs_show_the_reference_not_the_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYCO_TOKEN", TOKEN)
    spec = _spec(tmp_path, "doc: 'Token is ${env.MYCO_TOKEN}.'\ntasks: {t: {empty: true}}\n")
    (plan,) = compile_paths([spec], root=tmp_path, check_imports=False).plans
    assert TOKEN not in plan.doc_md
    assert "Token is ${env.MYCO_TOKEN}." in plan.doc_md
    task_doc = _spec(tmp_path, "tasks: {t: {empty: true, doc: 'uses ${env.MYCO_TOKEN}'}}\n", "t.yaml")
    (plan,) = compile_paths([task_doc], root=tmp_path, check_imports=False).plans
    assert plan.tasks[0].args["doc_md"] == "uses ${env.MYCO_TOKEN}"


def test_the_loader_logs_no_value_read_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    from dagspec.dag_factory.airflow.loader import load_dag_folder

    monkeypatch.setenv("SCHEDULE_SECRET", "not-a-cron-secret-value")
    monkeypatch.setenv("DAGSPEC_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "dags").mkdir()
    _spec(tmp_path / "dags", "schedule: '${env.SCHEDULE_SECRET}'\ntasks: {t: {empty: true}}\n")
    namespace: dict = {}
    with caplog.at_level(logging.DEBUG):
        load_dag_folder(namespace, tmp_path / "dags")
    out = caplog.text + "".join(capfd.readouterr())  # Airflow's logging may write to the terminal itself
    assert "DSP030" in out
    assert "not-a-cron-secret-value" not in out


def test_resolve_variables_reports_every_env_value_to_on_secret_at_any_depth() -> None:
    seen: list[tuple[str, str]] = []
    out = resolve_variables({"a": {"b": ["x ${env.A}", {"c": "${env.B}"}]}, "d": "${env.C:-dflt}"}, SourceMap("f"),
                            {"env": {"A": "1", "B": "two"}}, [], on_secret=lambda n, v: seen.append((n, v)))
    assert out == {"a": {"b": ["x 1", {"c": "two"}]}, "d": "dflt"}
    assert seen == [("A", "1"), ("B", "two")]

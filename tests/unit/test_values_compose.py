"""Durations, layering of defaults and templates, and variable resolution."""

from __future__ import annotations

import pytest
from dagspec.dag_factory.spec.compose import _merge, resolve_variables
from dagspec.dag_factory.spec.values import parse_duration
from dagspec.dag_factory.spec.yaml_source import SourceMap


@pytest.mark.parametrize(("text", "seconds"), [
    (90, 90), ("90", None), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1w", 604800),
    ("PT1H", 3600), ("P1DT2H", 93600), ("250ms", 0.25), ("1.5h", 5400),
])
def test_durations(text: object, seconds: float | None) -> None:
    if seconds is None:
        with pytest.raises(ValueError):
            parse_duration(text)
    else:
        assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "5 parsecs", "-3", True, -1, "m5"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_merge_rules() -> None:
    farther = {"tags": ["a"], "default_args": {"retries": 1, "owner": "x"}, "schedule": "@daily",
               "tasks": {"t": {"bash": "echo 1", "retries": 1}, "g": {"tasks": {"x": {"bash": "1"}}}}}
    nearer = {"tags": ["b", "a"], "default_args": {"owner": None, "queue": "q"}, "schedule": "@hourly",
              "tasks": {"t": {"retries": 5}, "g": {"tasks": {"x": {"python": "m.f"}, "y": {"empty": True}}}}}
    merged = _merge(farther, nearer, ())
    assert merged["tags"] == ["a", "b"]
    assert merged["default_args"] == {"retries": 1, "queue": "q"}
    assert merged["schedule"] == "@hourly"
    assert merged["tasks"]["t"] == {"bash": "echo 1", "retries": 5}  # options merge into the task
    assert merged["tasks"]["g"]["tasks"]["x"] == {"python": "m.f"}  # a new action replaces the task
    assert merged["tasks"]["g"]["tasks"]["y"] == {"empty": True}


def test_variables_resolve_after_parsing_and_keep_types() -> None:
    diags: list = []
    data = {"a": "${var.items}", "b": "x-${env.HOME_DIR:-/tmp}-${spec.dag_id}", "c": "$${env.KEEP}",
            "d": "{{ ds }} ${var.n}"}
    out = resolve_variables(data, SourceMap("f.yaml"), {"env": {}, "var": {"items": [1, 2], "n": 3},
                                                       "spec": {"dag_id": "d1"}}, diags)
    assert not diags
    assert out == {"a": [1, 2], "b": "x-/tmp-d1", "c": "${env.KEEP}", "d": "{{ ds }} 3"}


def test_unknown_variable_is_a_diagnostic_with_a_hint() -> None:
    diags: list = []
    resolve_variables({"a": "${env.MISSING}", "b": "${var.regoin}"}, SourceMap("f.yaml"),
                      {"env": {}, "var": {"region": "eu"}}, diags)
    assert [d.code for d in diags] == ["DSP050", "DSP050"]
    assert "env.MISSING:-" in diags[0].hint and "region" in diags[1].hint


def test_variables_may_use_env_and_earlier_variables(tmp_path) -> None:
    from dagspec.dag_factory.compile.api import compile_paths

    spec = tmp_path / "v.yaml"
    spec.write_text("vars:\n  bucket: ${env.B:-dflt}\n  base: gs://${var.bucket}/x\ntasks: {t: {bash: 'echo ${var.base}'}}\n")
    [plan] = compile_paths([spec], root=tmp_path, env={}).plans
    assert plan.tasks[0].args["bash_command"] == "echo gs://dflt/x"
    [plan] = compile_paths([spec], root=tmp_path, env={"B": "real"}).plans
    assert plan.tasks[0].args["bash_command"] == "echo gs://real/x"

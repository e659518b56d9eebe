"""The converter's reading of dag-factory semantics, without Airflow: precedence, values, positions."""

from __future__ import annotations

from pathlib import Path

import yaml
from dagspec.dag_factory.migrate.convert import convert_paths
from dagspec.dag_factory.migrate.values import Typed, decode, duration_text, env_to_spec


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def _spec(result, name: str) -> dict:
    return yaml.safe_load(result.files[name])


def test_defaults_file_dag_keys_beat_the_default_block_and_a_dag_s_own_tags_replace_the_defaults(tmp_path):
    _write(tmp_path, {
        "defaults.yml": "max_active_runs: 3\ntags: [base]\ndefault_args: {owner: base, retries: 1}\n",
        "sub/defaults.yaml": "tags: [sub]\ndefault_args: {owner: sub}\n",
        "sub/dags.yml": (
            "default:\n  max_active_runs: 7\n  default_args: {retries: 2}\n"
            "a:\n  tasks: {t: {operator: airflow.providers.standard.operators.empty.EmptyOperator}}\n"
            "b:\n  tags: [own]\n  default_args: {retries: 4}\n"
            "  tasks: {t: {operator: airflow.providers.standard.operators.empty.EmptyOperator}}\n"
        ),
    })
    result = convert_paths([tmp_path])
    a, b = _spec(result, "sub/a.yaml"), _spec(result, "sub/b.yaml")
    # max_active_runs 3 (not the default: block's 7) moves up to the folder; a spec keeps what differs
    assert _spec(result, "_defaults.yaml") == {"max_active_runs": 3, "default_args": {"owner": "base", "retries": 1}}
    assert _spec(result, "sub/_defaults.yaml") == {"default_args": {"owner": "sub"}}
    assert "max_active_runs" not in a and a["default_args"] == {"retries": 2} and b["default_args"] == {"retries": 4}
    # b's own tags replace the defaults' in dag-factory, so the defaults' tags stay in each spec
    assert a["tags"] == ["base", "sub"] and b["tags"] == ["own"]


def test_an_unconvertible_list_task_is_reported_at_its_own_line(tmp_path):
    _write(tmp_path, {"d.yml": (
        "d:\n  tasks:\n    - task_id: ok\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n"
        "    - task_id: bad\n      operator: airflow.providers.standard.operators.python.PythonOperator\n"
        "      python_callable_name: f\n      python_callable_file: /x.py\n"
    )})
    result = convert_paths([tmp_path / "d.yml"])
    assert [(i.line, i.code) for i in result.not_converted] == [(5, "DSP100")]
    assert _spec(result, "d.yaml")["tasks"]["bad"]["empty"] is True


def test_env_variables_become_spec_variables():
    assert env_to_spec("echo $HOME and ${TEAM}/x") == "echo ${env.HOME} and ${env.TEAM}/x"


def test_type_objects_decode_to_markers_and_durations():
    value = decode({"__type__": "datetime.timedelta", "hours": 1, "minutes": 30})
    assert value == Typed("datetime.timedelta", (), {"hours": 1, "minutes": 30})
    assert duration_text(5400) == "1h30m" and duration_text(0.5) == 0.5
    assert decode({"__type__": "builtins.list", "items": [1, "$X"]}) == [1, "${env.X}"]

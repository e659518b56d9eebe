"""dag-factory 1.1.0 and dagspec build the same DAGs from the corpus: converted with import-dag-factory.

The corpus (tests/migrate/corpus, written for this test) is built twice in real Airflow 3.3: by
dag-factory in .venv-dagfactory (built by `make test`), and by dagspec's loader from the specs
`dagspec import-dag-factory` writes. One subprocess per side; the descriptions must be equal except
for the differences listed in KNOWN_DIFFERENCES, each with its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
REPO = HERE.parent.parent
DF_PYTHON = REPO / ".venv-dagfactory" / "bin" / "python"
# the corpus's `$NAME` variables (dag-factory expands them at parse time; the specs read ${env.NAME})
CORPUS_ENV = {"DAGF_CORPUS_TEAM": "team-a", "DAGF_CORPUS_DIR": str(CORPUS)}

# (dag id, task id or "", field, reason): the only places where the two builds may differ.
KNOWN_DIFFERENCES = [
    ("*", "", "tags", "dag-factory adds the tag `dagfactory`; dagspec adds `dagspec` and `spec:<hash>`"),
    ("mapping_dag", "flow_numbers", "class", "a TaskFlow @task becomes a python: task (PythonOperator)"),
    ("mapping_dag", "flow_total", "class", "a TaskFlow @task becomes a python: task (PythonOperator)"),
    ("mapping_dag", "flow_mapped", "class", "a TaskFlow @task becomes a python: task (PythonOperator)"),
    ("weekly_report", "gather.sizes", "class", "a TaskFlow @task becomes a python: task (PythonOperator)"),
    ("weekly_report", "render.summary", "class", "a TaskFlow @task becomes a python: task (PythonOperator)"),
]


def _env(tmp_path: Path, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(tmp_path / home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False", "DO_NOT_TRACK": "1", "SCARF_NO_ANALYTICS": "1",
        "PYTHONPATH": str(CORPUS), **CORPUS_ENV,
    })
    return env


def _describe(python: Path, mode: str, folder: Path, tmp_path: Path) -> dict:
    out = tmp_path / f"{mode}.json"
    env = _env(tmp_path, mode)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(folder)
    proc = subprocess.run([str(python), str(HERE / "describe_dags.py"), mode, str(folder), str(out)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _differences(theirs: dict, ours: dict) -> set[tuple[str, str, str]]:
    """(dag id, task id or "", field) wherever the two builds differ."""
    out = set()
    for dag_id in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(dag_id), ours.get(dag_id)
        if a is None or b is None:
            out.add((dag_id, "", "missing in " + ("dag-factory" if a is None else "dagspec")))
            continue
        out |= {(dag_id, "", key) for key in set(a) | set(b) if key != "tasks" and a.get(key) != b.get(key)}
        for task_id in sorted(set(a["tasks"]) | set(b["tasks"])):
            ta, tb = a["tasks"].get(task_id), b["tasks"].get(task_id)
            if ta is None or tb is None:
                out.add((dag_id, task_id, "task missing in " + ("dag-factory" if ta is None else "dagspec")))
                continue
            out |= {(dag_id, task_id, key) for key in set(ta) | set(tb) if ta.get(key) != tb.get(key)}
    return out


def _known(dag_ids: list[str]) -> set[tuple[str, str, str]]:
    return {(d, task, key) for dag, task, key, _reason in KNOWN_DIFFERENCES
            for d in (dag_ids if dag == "*" else [dag])}


@pytest.mark.slow
@pytest.mark.skipif(not DF_PYTHON.exists(), reason="needs .venv-dagfactory (dag-factory 1.1.0): `make test` "
                    "builds it, or `make .venv-dagfactory/.synced`")
def test_every_corpus_dag_builds_the_same_with_dag_factory_and_with_the_converted_specs(tmp_path, monkeypatch,
                                                                                        capsys):
    for name, value in CORPUS_ENV.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "dags"
    assert main(["import-dag-factory", str(CORPUS), "-o", str(out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and len(report["dags"]) == 10
    theirs = _describe(DF_PYTHON, "dagfactory", CORPUS, tmp_path)
    ours = _describe(Path(sys.executable), "dagspec", out, tmp_path)
    assert sorted(theirs) == sorted(report["dags"])  # dag-factory built every DAG of the corpus
    # exactly the listed differences, no other (and each listed one really occurs)
    assert _differences(theirs, ours) == _known(sorted(theirs))
    for dag_id in theirs:  # the tags differ only by each tool's own marker tags
        assert [t for t in theirs[dag_id]["tags"] if t != "dagfactory"] == \
            [t for t in ours[dag_id]["tags"] if t != "dagspec" and not t.startswith(("spec:", "git:"))]


def test_the_converted_corpus_validates_without_diagnostics(tmp_path, monkeypatch, capsys):
    for name, value in CORPUS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(CORPUS))
    out = tmp_path / "dags"
    assert main(["import-dag-factory", str(CORPUS), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--root", str(out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

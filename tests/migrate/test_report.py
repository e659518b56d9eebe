"""What import-dag-factory cannot convert is reported with file:line, kept commented out, and fails the command."""

from __future__ import annotations

import json
from pathlib import Path

from dagspec.dag_factory.cli.main import main

PARTIAL = Path(__file__).parent / "partial"


def test_an_unconvertible_task_is_reported_with_its_line_and_the_command_exits_1(tmp_path, capsys):
    assert main(["import-dag-factory", str(PARTIAL), "-o", str(tmp_path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failed = [i for i in report["issues"] if i["code"] == "DSP100"]
    assert sorted(i["line"] for i in failed) == [5, 8, 11, 21, 28]
    assert {Path(i["file"]).name for i in failed} == {"unconvertible.yml"}
    dropped = [i for i in report["issues"] if i["code"] == "DSP102"]
    assert [(i["line"], i["dag_id"]) for i in dropped] == [(30, "datasets_dag")]
    moving = [i for i in report["issues"] if "moves with every parse" in i["message"]]
    assert moving and moving[0]["status"] == "approximate"


def test_the_unconverted_task_is_kept_commented_out_and_allow_partial_exits_0(tmp_path, capsys):
    assert main(["import-dag-factory", str(PARTIAL), "-o", str(tmp_path), "--allow-partial", "-q"]) == 0
    text = (tmp_path / "partial_dag.yaml").read_text()
    assert "#         python_callable_file: /tmp/somewhere/funcs.py" in text
    assert "NOT CONVERTED (DSP100)" in text
    assert main(["validate", str(tmp_path), "--root", str(tmp_path), "--no-imports"]) == 0


def test_help_teaches_with_an_example(capsys):
    try:
        main(["import-dag-factory", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "dagspec import-dag-factory dags/ -o converted/" in out and "--allow-partial" in out

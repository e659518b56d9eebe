"""Errors that crashed `dagspec validate` (hiding every other file's diagnostics) or that only the loader
found: each is now a diagnostic at its line, the same in validate and in the loader, and one file's
crash never hides the others."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from dagspec.dag_factory.airflow.compat import bundle_dagbag
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.spec import load

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "bad"
CASES = sorted(BAD.glob("limits_*.yaml"))
LOADER = "# the dagspec loader: airflow dag\nfrom dagspec.dag_factory.airflow.loader import load_dag_folder\n" \
         "load_dag_folder(globals())\n"
GOOD = "start_date: 2024-01-01\ntasks:\n  hello: {bash: echo hello}\n"


def expected(path: Path) -> list[tuple[str, int]]:
    header = re.match(r"#\s*expect:\s*(.+)", path.read_text().splitlines()[0])
    assert header
    return [(code, int(line)) for code, line in (item.split("@") for item in header.group(1).split())]


def test_validate_reports_every_case_at_its_line_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert len(CASES) >= 12
    for case in CASES:
        shutil.copy(case, tmp_path / case.name)
    (tmp_path / "good.yaml").write_text(GOOD)
    assert main(["validate", str(tmp_path), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "unexpected error" not in out and "DSP900" not in out
    for case in CASES:
        for code, line in expected(case):
            assert re.search(rf"{case.name}:{line}:\d+: error {code}:", out), f"{case.name}: no {code} at line {line}"
    assert f"{len(CASES) + 1} spec file(s), 1 DAG(s) ok" in out


def test_vars_that_are_not_a_mapping_in_folder_defaults_are_an_error_there(tmp_path: Path):
    (tmp_path / "_defaults.yaml").write_text("owner: data\nvars: [1]\n")
    (tmp_path / "spec.yaml").write_text(GOOD)
    [d] = compile_paths([tmp_path / "spec.yaml"], root=tmp_path, env={}).all_diagnostics
    assert (d.code, Path(d.file).name, d.line) == ("DSP011", "_defaults.yaml", 2)
    assert "`vars` must be a mapping" in d.message


def test_a_string_vars_is_an_error_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "a.yaml").write_text("vars: hello\ntasks:\n  t: {bash: echo}\n")
    (tmp_path / "b.yaml").write_text("tasks:\n  t: {bash: echo, depends_on: nope}\n")
    assert main(["validate", str(tmp_path), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "a.yaml:1:7: error DSP011: `vars` must be a mapping of names to values, not str" in out
    assert "b.yaml:2:31: error DSP020" in out  # the other file's diagnostics are not hidden


def test_a_workflow_template_job_that_is_not_a_mapping_is_an_error_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "wf.yaml").write_text(textwrap.dedent("""\
        id: wf
        placement:
          managedCluster:
            clusterName: c
            config: {}
        jobs:
          - stepId: one
            pysparkJob: 5
        """))
    (tmp_path / "other.yaml").write_text("vars: [1]\ntasks:\n  t: {bash: echo}\n")
    assert main(["validate", str(tmp_path), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "wf.yaml:8:17: error DSP080: step `one`: the job must be a mapping of its fields, not `int`" in out
    assert "other.yaml:1:7: error DSP011" in out


def test_a_crash_on_one_file_is_a_dsp900_for_that_file_and_the_others_are_still_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    original = load.SpecLoader.load

    def load_or_crash(self, path):
        if Path(path).name == "boom.yaml":
            raise RuntimeError("a bug in dagspec")
        return original(self, path)

    monkeypatch.setattr(load.SpecLoader, "load", load_or_crash)
    (tmp_path / "boom.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text("tasks:\n  t: {bash: echo, depends_on: nope}\n")
    (tmp_path / "good.yaml").write_text(GOOD)
    assert main(["validate", str(tmp_path), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "boom.yaml: error DSP900: dagspec failed on this file: RuntimeError: a bug in dagspec" in out
    assert "broken.yaml:2:31: error DSP020" in out
    assert "3 spec file(s), 1 DAG(s) ok" in out


def test_a_long_task_id_gets_a_message_about_its_length(tmp_path: Path):
    (tmp_path / "long.yaml").write_text("tasks:\n  " + "a" * 300 + ": {bash: echo}\n")
    [d] = compile_paths([tmp_path / "long.yaml"], root=tmp_path, env={}).all_diagnostics
    assert d.code == "DSP022" and "is 300 characters long; Airflow allows 250" in d.message
    assert "may only use" not in d.message


LOADER_CASES = ["setup_and_teardown", "empty_assets", "infinite_duration", "reserved_guard", "reserved_param_items",
                "group_path_too_long"]


def test_what_failed_only_in_the_loader_is_the_same_error_under_the_specs_path_and_the_rest_loads(tmp_path: Path):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dagspec_loader.py").write_text(LOADER)
    for name in LOADER_CASES:
        text = (BAD / f"limits_{name}.yaml").read_text()
        (folder / f"{name}.yaml").write_text("start_date: 2024-01-01\n" + text)  # one line lower
    (folder / "good.yaml").write_text(GOOD)
    bag = bundle_dagbag(folder, folder)
    assert set(bag.dags) == {"good"}
    assert set(bag.import_errors) == {f"{name}.yaml" for name in LOADER_CASES}
    for name in LOADER_CASES:
        text = bag.import_errors[f"{name}.yaml"]
        assert "DSP900" not in text, text  # not "Airflow rejected": validate's own diagnostic
        for code, line in expected(BAD / f"limits_{name}.yaml"):
            assert re.search(rf"{name}\.yaml:{line + 1}:\d+: error {code}:", text), text

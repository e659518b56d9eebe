"""`dagspec init`: the first setup of an existing Airflow project, safe to run twice, never overwriting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from dagspec.dag_factory.cli import init_project
from dagspec.dag_factory.cli.main import _RUNNERS, build_parser, main
from dagspec.dag_factory.migrate.convert import convert_paths
from dagspec.dag_factory.spec import schemas
from dagspec.dag_factory.spec.units import LOADER_TEXT, unit_file_text
from dagspec.dag_factory.spec.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parents[2]
EVERY_FILE = [
    ".dagspec/defaults.schema.json", ".dagspec/profile.schema.json", ".dagspec/spec.schema.json",
    ".dagspec/template.schema.json", ".dagspec/workflow-template.schema.json", ".vscode/settings.json",
    "dags/.airflowignore", "dags/_defaults.yaml", "dags/dagspec_example.yaml", "dags/dagspec_loader.py",
    "templates/clusters/single-node.yaml",
]


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def test_init_writes_the_loader_example_defaults_profile_ignore_and_editor_settings(project, capsys) -> None:
    assert main(["init", "dags/"]) == 0
    out = capsys.readouterr().out
    assert sorted(_tree(project)) == EVERY_FILE
    for name in EVERY_FILE:
        assert re.search(rf"^  (wrote|added to) +{re.escape(name)}\b", out, re.M), name
    assert "done: 11 written, 0 already there" in out
    assert (project / "dags" / ".airflowignore").read_text().splitlines()[-1] == "jobs/"


def test_a_second_run_reports_every_file_as_already_there_and_changes_nothing(project, capsys) -> None:
    assert main(["init", "dags/"]) == 0
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in project.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["init", "dags/"]) == 0
    out = capsys.readouterr().out
    assert out.count("already there ") == len(EVERY_FILE)
    assert "nothing to do: 11 already there" in out
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in project.rglob("*") if p.is_file()} == before


def test_the_loader_init_writes_is_the_repositorys_the_readmes_and_init_dag_folders(project) -> None:
    assert main(["init", "dags"]) == 0
    written = (project / "dags" / "dagspec_loader.py").read_text()
    assert written == LOADER_TEXT == unit_file_text(0, 1)
    assert written == (ROOT / "dags" / "dagspec_loader.py").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert written in re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
    assert "airflow" in written.lower() and "dag" in written  # Airflow's safe-mode discovery needs both words
    (project / "dags" / "dagspec_loader.py").unlink()
    assert main(["init-dag-folder", "dags", "--units", "1"]) == 0
    assert (project / "dags" / "dagspec_loader.py").read_text() == written
    legacy = project / "legacy"  # import-dag-factory writes it in place of dag-factory's loader file
    legacy.mkdir()
    (legacy / "load.py").write_text("from dagfactory import load_yaml_dags\n\nload_yaml_dags(globals_dict=globals())\n")
    (legacy / "hello.yml").write_text("hello:\n  tasks:\n    hi:\n"
                                      "      operator: airflow.providers.standard.operators.empty.EmptyOperator\n")
    assert convert_paths([legacy]).files["dagspec_loader.py"] == written


def test_the_written_specs_validate_and_the_commented_dataproc_lines_do_too_once_uncommented(project, capsys) -> None:
    assert main(["init", "dags"]) == 0
    assert main(["validate", "dags"]) == 0
    assert "1 spec file(s), 1 DAG(s) ok; 0 error(s), 0 warning(s)" in capsys.readouterr().out
    example = project / "dags" / "dagspec_example.yaml"
    text = example.read_text()
    uncommented = re.sub(r"^(\s*)# (clusters:|  etl:|report:|  spark_sql:|  cluster:|  depends_on: load)",
                         r"\1\2", text, flags=re.M)
    assert uncommented.count("\n") == text.count("\n") and "\nclusters:\n  etl:" in uncommented
    example.write_text(uncommented)
    capsys.readouterr()
    assert main(["render", str(example)]) == 0
    out = capsys.readouterr().out
    assert "report  [spark_sql]" in out and "etl" in out


def test_the_written_yaml_files_match_the_editor_schemas_the_settings_map_them_to(project) -> None:
    assert main(["init", "dags"]) == 0
    settings = json.loads((project / ".vscode" / "settings.json").read_text())
    assert settings == {"yaml.schemas": schemas.VSCODE_MAPPING}  # the README's one mapping
    for schema_file, kind, name in [(".dagspec/spec.schema.json", "spec", "dags/dagspec_example.yaml"),
                                    (".dagspec/defaults.schema.json", "defaults", "dags/_defaults.yaml"),
                                    (".dagspec/profile.schema.json", "profile", "templates/clusters/single-node.yaml")]:
        schema = json.loads((project / schema_file).read_text())
        assert schema == schemas.build(kind)
        doc, diags = load_yaml((project / name).read_text(), name)
        assert doc is not None, diags
        data = json.loads(json.dumps(doc.data, default=str))  # dates as the text an editor sees
        jsonschema.validate(data, schema)


def test_a_file_that_differs_is_never_overwritten_and_the_message_says_how_to_proceed(project, capsys) -> None:
    (project / "dags").mkdir()
    (project / "dags" / "_defaults.yaml").write_text("default_args: {owner: me}\n")
    (project / ".vscode").mkdir()
    (project / ".vscode" / "settings.json").write_text('{"editor.tabSize": 2}\n')
    assert main(["init", "dags"]) == 1
    captured = capsys.readouterr()
    assert (project / "dags" / "_defaults.yaml").read_text() == "default_args: {owner: me}\n"
    assert (project / ".vscode" / "settings.json").read_text() == '{"editor.tabSize": 2}\n'
    assert "dags/_defaults.yaml exists and differs: not touching it" in captured.err
    assert ".vscode/settings.json exists and differs" in captured.err
    assert '"./.dagspec/spec.schema.json"' in captured.err  # the entry to add by hand
    assert (project / "dags" / "dagspec_loader.py").is_file()  # the rest is written
    assert "2 left as they were" in captured.out
    capsys.readouterr()
    assert main(["init", "dags"]) == 1  # still in the way: still said, still nothing overwritten
    assert "nothing to do: 9 already there, 2 left as they were" in capsys.readouterr().out


def test_a_foreign_loader_file_is_refused_with_a_remedy(project, capsys) -> None:
    (project / "dags").mkdir()
    (project / "dags" / "dagspec_loader.py").write_text("print('mine')\n")
    assert main(["init", "dags"]) == 1
    assert "move it away (or delete it), then run `dagspec init` again" in capsys.readouterr().err
    assert (project / "dags" / "dagspec_loader.py").read_text() == "print('mine')\n"


def test_an_existing_airflowignore_keeps_its_lines_and_gains_the_job_folders(project) -> None:
    (project / "dags").mkdir()
    (project / "dags" / ".airflowignore").write_text("legacy/")  # no final newline
    assert main(["init", "dags"]) == 0
    assert (project / "dags" / ".airflowignore").read_text().splitlines() == ["legacy/", *init_project.IGNORE_LINES]


def test_a_folder_split_into_parse_units_keeps_them_and_gets_no_second_loader(project, capsys) -> None:
    dags = project / "dags"
    dags.mkdir()
    for i in range(2):
        (dags / f"dagspec_unit_{i}_of_2.py").write_text(unit_file_text(i, 2))
    assert main(["init", "dags"]) == 0
    assert "split into parse units" in capsys.readouterr().out
    assert not (dags / "dagspec_loader.py").exists()


def test_dry_run_writes_nothing(project, capsys) -> None:
    assert main(["init", "dags", "--dry-run"]) == 0
    assert list(project.iterdir()) == []
    assert "would write     dags/dagspec_loader.py" in capsys.readouterr().out


def test_the_project_root_is_the_dag_folders_parent_or_the_dag_folder_itself_when_it_is_dot(project, monkeypatch) -> None:
    (project / "airflow" / "dags").mkdir(parents=True)
    assert main(["init", "airflow/dags"]) == 0
    assert (project / "airflow" / ".vscode" / "settings.json").is_file()
    assert (project / "airflow" / "templates" / "clusters" / "single-node.yaml").is_file()

    folder = project / "plain"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert main(["init", "."]) == 0
    mapping = json.loads((folder / ".vscode" / "settings.json").read_text())["yaml.schemas"]
    assert mapping["./.dagspec/spec.schema.json"] == ["**/*.yaml", "!**/_defaults.yaml", "!templates/**"]
    assert (folder / "templates" / "clusters" / "single-node.yaml").is_file()  # <dag folder>/templates is searched
    assert (folder / "dagspec_loader.py").is_file()


def test_project_names_the_root_and_the_mapping_follows_the_dag_folder(project) -> None:
    assert main(["init", "airflow/dags", "--project", "."]) == 0
    mapping = json.loads((project / ".vscode" / "settings.json").read_text())["yaml.schemas"]
    assert mapping["./.dagspec/spec.schema.json"] == ["airflow/dags/**/*.yaml", "!airflow/dags/**/_defaults.yaml"]
    assert mapping["./.dagspec/profile.schema.json"] == ["airflow/templates/clusters/*.yaml"]
    assert (project / ".dagspec" / "spec.schema.json").is_file()


def test_a_project_root_outside_the_dag_folders_ancestors_is_a_usage_error(project, capsys) -> None:
    (project / "elsewhere").mkdir()
    assert main(["init", "dags", "--project", "elsewhere"]) == 2
    assert "must contain the dag folder" in capsys.readouterr().err
    assert not (project / "dags").exists()


def test_init_is_registered_and_its_help_teaches_and_points_at_init_dag_folder() -> None:
    assert _RUNNERS["init"] == "dagspec.dag_factory.cli.init_project:run"
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    init_help = sub.choices["init"].format_help()  # type: ignore[attr-defined]
    assert "examples:" in init_help and "dagspec init airflow/dags" in init_help
    assert "init-dag-folder" in init_help
    assert "dagspec init`" in sub.choices["init-dag-folder"].format_help()  # type: ignore[attr-defined]
    assert "dagspec init dags/" in parser.format_help()

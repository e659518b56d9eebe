"""The local side of deploy: validation first, then the dag folder's files and only the templates the specs use."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from dagspec.dag_factory.deploy.local import collect_local, deploy_env, file_checksums
from deploy_kit import EXPECTED_KEYS, write


def test_files_are_the_dag_folder_and_the_used_templates(project: Path) -> None:
    side = collect_local(Path("dags"), Path("templates"), check_imports=False)
    assert side.ok, side.diagnostics
    assert {f.key for f in side.files} == EXPECTED_KEYS  # no scratch/ (.airflowignore), no .pyc, no unused template
    assert side.spec_count == 2 and side.dag_count == 2
    by_key = {f.key: f for f in side.files}
    assert by_key["templates/clusters/single-node.yaml"].path == (project / "templates/clusters/single-node.yaml").resolve()


def test_checksums_are_base64_like_gcs(tmp_path: Path) -> None:
    path = write(tmp_path, "x.txt", "hello\n")
    size, md5, crc = file_checksums(path)
    assert size == 6
    assert md5 == base64.b64encode(hashlib.md5(b"hello\n").digest()).decode()
    assert len(base64.b64decode(crc)) == 4


def test_a_spec_with_errors_stops_before_listing_files(project: Path) -> None:
    write(project, "dags/team/broken.yaml", "tasks:\n  a: {bash: echo a, depends_on: nope}\n")
    side = collect_local(Path("dags"), Path("templates"), check_imports=False)
    assert not side.ok and side.files == ()
    assert any(d.code == "DSP020" and d.file.endswith("broken.yaml") for d in side.diagnostics)


def test_missing_loader_is_an_error(project: Path) -> None:
    (project / "dags/dagspec_loader.py").unlink()
    side = collect_local(Path("dags"), Path("templates"), check_imports=False)
    assert not side.ok and [d.code for d in side.diagnostics] == ["DSP094"]
    assert "dagspec_loader.py" in side.diagnostics[0].message


def test_templates_inside_the_dag_folder_are_part_of_it(project: Path) -> None:
    write(project, "dags/templates/etl-base.yaml", "schedule: '@hourly'\nstart_date: 2024-01-01\n")
    side = collect_local(Path("dags"), Path("templates"), check_imports=False)
    assert not side.ok  # the same key from two folders would make the bucket differ from what was validated
    assert any("exists both" in d.message for d in side.diagnostics)
    (project / "templates/etl-base.yaml").unlink()
    side = collect_local(Path("dags"), Path("templates"), check_imports=False)
    assert side.ok, side.diagnostics
    assert "templates/etl-base.yaml" in {f.key for f in side.files}


def test_templates_folder_elsewhere(project: Path) -> None:
    (project / "templates").rename(project / "shared-templates")
    side = collect_local(Path("dags"), Path("templates"), check_imports=False)
    assert not side.ok and any(d.code == "DSP051" for d in side.diagnostics)  # not found
    side = collect_local(Path("dags"), Path("shared-templates"), check_imports=False)
    assert side.ok, side.diagnostics
    assert {f.key for f in side.files} == EXPECTED_KEYS


def test_deploy_env_replaces_the_template_path(project: Path) -> None:
    env = deploy_env(Path("templates"), {"DAGSPEC_TEMPLATES_PATH": "/elsewhere", "HOME": "/root"})
    assert env == {"DAGSPEC_TEMPLATES_PATH": str((project / "templates").resolve()), "HOME": "/root"}
    assert deploy_env(Path("no-such-dir"), {"DAGSPEC_TEMPLATES_PATH": "/x"}) == {}


def test_a_deploy_for_an_older_airflow_stops_a_spec_that_uses_a_newer_dag_argument(project: Path) -> None:
    write(project, "dags/team/newer.yaml",
          "schedule: null\nairflow:\n  allowed_run_types: [manual]\ntasks:\n  a: {bash: echo a}\n")
    assert collect_local(Path("dags"), Path("templates"), check_imports=False, airflow_line=(3, 2)).ok
    side = collect_local(Path("dags"), Path("templates"), check_imports=False, airflow_line=(3, 1))
    assert not side.ok and side.files == ()
    found = [(d.code, Path(d.file).name, d.line) for d in side.diagnostics]
    assert found == [("DSP092", "newer.yaml", 3)]

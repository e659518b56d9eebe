"""Deploy and discovery stay inside the dag folder: symlinks out of it are not followed, symlink loops
end, and ``--prefix`` names a plain folder of the bucket (issue 8 §2 "Deploy", §3 symlink loop)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.deploy import BucketTarget, collect_local

LOADER = "# airflow dag loader\nfrom dagspec.dag_factory.airflow.loader import load_dag_folder\n\nload_dag_folder(globals())\n"
SECRET = "ssh-rsa-PRIVATE-77c1"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dags/ with a loader and a spec; a secret outside it; the current directory is the project."""
    root = tmp_path / "proj"
    (root / "dags" / "team").mkdir(parents=True)
    (root / "dags" / "dagspec_loader.py").write_text(LOADER)
    (root / "dags" / "team" / "hello.yaml").write_text("tasks: {a: {bash: echo}}\n")
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / ".ssh" / "id_rsa").write_text(SECRET + "\n")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DAGSPEC_TEMPLATES_PATH", raising=False)
    return root


def keys(project: Path) -> set[str]:
    side = collect_local(project / "dags", None, check_imports=False)
    assert side.ok, side.diagnostics
    return {f.key for f in side.files}


def test_a_symlink_to_a_file_outside_the_dag_folder_is_not_deployed(project: Path) -> None:
    (project / "dags" / "notes").mkdir()
    (project / "dags" / "notes" / "id_rsa").symlink_to(project.parent / "home" / ".ssh" / "id_rsa")
    side = collect_local(project / "dags", None, check_imports=False)
    assert side.ok
    assert "notes/id_rsa" not in {f.key for f in side.files}
    assert not any(SECRET in f.path.read_text() for f in side.files if f.path.suffix != ".pyc")
    [warning] = [d for d in side.diagnostics if d.code == "DSP076"]
    assert warning.severity == "warning" and "notes/id_rsa is a symlink to" in warning.message


def test_a_symlinked_folder_outside_the_dag_folder_is_not_followed(project: Path) -> None:
    (project / "dags" / "ssh").symlink_to(project.parent / "home" / ".ssh")
    assert keys(project) == {"dagspec_loader.py", "team/hello.yaml"}


def test_symlinks_inside_the_dag_folder_still_deploy(project: Path) -> None:
    (project / "dags" / "team" / "hello_link.txt").symlink_to(project / "dags" / "team" / "hello.yaml")
    assert "team/hello_link.txt" in keys(project)


def test_a_symlink_loop_does_not_crash_validate_or_deploy(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "dags" / "loop").symlink_to(".")
    (project / "dags" / "team" / "up").symlink_to("..")
    (project / "dags" / "self").symlink_to("self")  # a link that resolves to itself
    assert main(["validate", "dags", "--no-imports"]) == 0
    out = capsys.readouterr().out
    assert "unexpected error" not in out and "1 spec file(s), 1 DAG(s) ok" in out
    assert keys(project) == {"dagspec_loader.py", "team/hello.yaml"}


@pytest.mark.timeout(120)
def test_the_loader_survives_a_symlink_loop_that_airflows_walker_rejects(project: Path) -> None:
    from dagspec.dag_factory.airflow.loader import list_spec_files

    (project / "dags" / "loop").symlink_to(".")
    assert list_spec_files(project / "dags") == [project / "dags" / "team" / "hello.yaml"]


@pytest.mark.parametrize("prefix", ["../..", "dags/../..", "dags/./x", "./dags", "..", "dags\\..\\x", "/", "//"])
def test_a_prefix_that_is_not_a_plain_folder_is_refused(project: Path, prefix: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--bucket", "gs://some-bucket", "--prefix", prefix, "--dry-run", "--no-imports"]) == 2
    assert "--prefix" in capsys.readouterr().err
    from dagspec.dag_factory.deploy.bucket import normalise_prefix

    with pytest.raises(ValueError):
        normalise_prefix(prefix)


def test_prefixes_are_normalised_and_object_keys_stay_below_them() -> None:
    from dagspec.dag_factory.deploy.bucket import normalise_prefix

    assert normalise_prefix("/dags//team-a/") == "dags/team-a"
    target = BucketTarget(client=_NoClient(), bucket="b", prefix="//dags//dagspec/")
    assert target.prefix == "dags/dagspec" and target.url == "gs://b/dags/dagspec/"
    for key in ("../x", "a/../../x", "/etc/x", ""):
        with pytest.raises(ValueError):
            target.name(key)
    with pytest.raises(ValueError):
        BucketTarget(client=_NoClient(), bucket="b", prefix="dags/../..")


class _NoClient:
    def bucket(self, name: str) -> object:
        return object()


def test_the_walk_lists_each_folder_once(project: Path) -> None:
    from dagspec.dag_factory.spec.discover import walk_dag_folder

    (project / "dags" / "alias").symlink_to(project / "dags" / "team")
    listed = [p.relative_to((project / "dags").resolve()).as_posix() for p in walk_dag_folder(project / "dags")]
    assert listed.count("team/hello.yaml") + listed.count("alias/hello.yaml") == 1
    assert "team/hello.yaml" in listed  # the real folder wins over the link
    assert os.path.islink(project / "dags" / "alias")

"""The commit a spec's DAG is tagged with, read from a checkout, a linked worktree or packed refs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dagspec.dag_factory.compile.gitref import git_commit, git_inputs


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def test_the_commit_is_read_in_a_checkout_and_in_a_linked_worktree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "dags").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "dags" / "a.yaml").write_text("tasks: {}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    head = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo / "dags" / "a.yaml") == head

    _git(repo, "worktree", "add", "-q", "-b", "other", str(tmp_path / "wt"))
    (tmp_path / "wt" / "dags" / "b.yaml").write_text("tasks: {}\n")
    _git(tmp_path / "wt", "add", "-A")
    _git(tmp_path / "wt", "commit", "-q", "-m", "two")
    wt_head = _git(tmp_path / "wt", "rev-parse", "HEAD")
    assert wt_head != head
    assert git_commit(tmp_path / "wt" / "dags" / "b.yaml") == wt_head
    inputs = git_inputs(tmp_path / "wt" / "dags" / "b.yaml")
    assert any(p.endswith("refs/heads/other") for p in inputs) and any(p.endswith("HEAD") for p in inputs)


def test_packed_refs_are_read_and_outside_a_checkout_there_is_no_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "s.yaml").write_text("tasks: {}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert git_commit(repo / "s.yaml") == _git(repo, "rev-parse", "HEAD")
    (tmp_path / "plain").mkdir()
    assert git_commit(tmp_path / "plain" / "x.yaml") == "" and git_inputs(tmp_path / "plain" / "x.yaml") == ()

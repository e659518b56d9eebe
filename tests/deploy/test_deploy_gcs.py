"""``dagspec deploy`` against the GCS emulator: plans, uploads, deletes, conflicts, and what it never touches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.deploy import MANIFEST_NAME, ConflictError, DeployOptions, apply, prepare
from deploy_kit import EXPECTED_KEYS, Bucket, write

PREFIX = "dags/dagspec"
ROOT = Path(__file__).resolve().parents[2]


def deploy(bucket: Bucket, *extra: str) -> int:
    return main(["deploy", "--bucket", f"gs://{bucket.name}", "--no-imports", *extra])


def deploy_json(bucket: Bucket, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = deploy(bucket, "--format", "json", *extra)
    return code, json.loads(capsys.readouterr().out)


def ours(bucket: Bucket) -> set[str]:
    return {n[len(PREFIX) + 1:] for n in bucket.names() if n.startswith(PREFIX + "/")}


def manifest(bucket: Bucket) -> dict[str, str]:
    return json.loads(bucket.read(f"{PREFIX}/{MANIFEST_NAME}"))["files"]


def options(bucket: Bucket) -> DeployOptions:
    return DeployOptions(bucket.name, PREFIX, Path("dags"), Path("templates"), check_imports=False)


def test_first_deploy_uploads_everything_then_nothing_changes(project: Path, bucket: Bucket,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(bucket) == 0
    out, err = capsys.readouterr()
    assert "8 to upload (8 new, 0 changed), 0 to delete, 0 unchanged, 0 foreign kept" in out
    assert f"deployed to gs://{bucket.name}/{PREFIX}/: 8 uploaded" in out
    assert "[1/8] upload" in err and "[8/8] upload dagspec_loader.py" in err  # progress; the loader goes last
    assert ours(bucket) == EXPECTED_KEYS | {MANIFEST_NAME}
    assert set(manifest(bucket)) == EXPECTED_KEYS
    assert bucket.read(f"{PREFIX}/team/jobs/clean.py") == b"print('clean')\n"
    before = bucket.generations()

    assert deploy(bucket) == 0
    out, _ = capsys.readouterr()
    assert "0 to upload (0 new, 0 changed), 0 to delete, 8 unchanged, 0 foreign kept" in out
    assert "up to date: nothing to do" in out
    assert bucket.generations() == before  # not even the manifest was rewritten


def test_a_changed_spec_uploads_one_file(project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(bucket) == 0
    before = bucket.generations()
    write(project, "dags/team/hello.yaml", "start_date: 2024-01-01\ntasks:\n  hello: {bash: echo hi}\n")
    code, data = deploy_json(bucket, capsys)
    assert code == 0 and data["ok"]
    assert [(c["key"], c["reason"]) for c in data["plan"]["upload"]] == [("team/hello.yaml", "changed")]
    assert data["plan"]["upload"][0]["if_generation_match"] == before[f"{PREFIX}/team/hello.yaml"]
    assert data["result"]["uploaded"] == ["team/hello.yaml"] and data["result"]["deleted"] == []
    after = bucket.generations()
    changed = {n for n in after if after[n] != before.get(n)}
    assert changed == {f"{PREFIX}/team/hello.yaml", f"{PREFIX}/{MANIFEST_NAME}"}
    assert b"echo hi" in bucket.read(f"{PREFIX}/team/hello.yaml")


def test_a_removed_spec_is_deleted_with_the_templates_only_it_used(project: Path, bucket: Bucket,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(bucket) == 0
    (project / "dags/team/etl.yaml").unlink()
    code, data = deploy_json(bucket, capsys)
    assert code == 0
    assert [c["key"] for c in data["plan"]["delete"]] == [
        "team/etl.yaml", "templates/clusters/single-node.yaml", "templates/etl-base.yaml"]  # the spec first
    assert ours(bucket) == EXPECTED_KEYS - {"team/etl.yaml", "templates/etl-base.yaml",
                                           "templates/clusters/single-node.yaml"} | {MANIFEST_NAME}
    assert "team/etl.yaml" not in manifest(bucket)


def test_foreign_files_in_the_prefix_are_kept_and_reported(project: Path, bucket: Bucket,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bucket.write(f"{PREFIX}/team/manual_dag.py", b"# put here by hand\n")
    assert deploy(bucket) == 0
    out, _ = capsys.readouterr()
    assert "? foreign   team/manual_dag.py" in out and "kept: not uploaded by dagspec" in out
    (project / "dags/team/hello.yaml").unlink()
    code, data = deploy_json(bucket, capsys)
    assert code == 0 and [c["key"] for c in data["plan"]["delete"]] == ["team/hello.yaml"]
    assert data["plan"]["foreign"] == ["team/manual_dag.py"]
    assert bucket.read(f"{PREFIX}/team/manual_dag.py") == b"# put here by hand\n"
    assert "team/manual_dag.py" not in manifest(bucket)


def test_nothing_outside_the_prefix_is_touched(project: Path, bucket: Bucket) -> None:
    outside = {"dags/airflow_monitoring.py": b"composer's own", "dags/dagspec-old/team/hello.yaml": b"sibling",
               "dags/dagspec.yaml": b"same start, other object", "data/raw.csv": b"a,b\n"}
    for name, data in outside.items():
        bucket.write(name, data)
    before = {n: g for n, g in bucket.generations().items() if n in outside}
    assert deploy(bucket) == 0
    for rel in ("dags/team/hello.yaml", "dags/team/etl.yaml", "dags/team/sql/totals.sql"):
        (project / rel).unlink()
    assert deploy(bucket) == 0
    after = bucket.generations()
    assert {n: after[n] for n in outside} == before
    assert {n: bucket.read(n) for n in outside} == outside


def test_dry_run_changes_nothing(project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(bucket, "--dry-run") == 0
    out, _ = capsys.readouterr()
    assert "8 to upload (8 new" in out and "dry run: nothing changed" in out
    assert bucket.names() == set()
    write(project, "dags/team/notes.txt", "no spec uses me\n")
    assert deploy(bucket) == 0
    before = bucket.generations()
    write(project, "dags/team/hello.yaml", "start_date: 2024-01-01\ntasks:\n  hello: {bash: echo dry}\n")
    (project / "dags/team/notes.txt").unlink()  # a job file a spec names cannot go: validate would refuse
    code, data = deploy_json(bucket, capsys, "--dry-run")
    assert code == 0 and data["dry_run"] and data["result"] is None
    assert data["plan"]["counts"] == {"new": 0, "changed": 1, "delete": 1, "unchanged": 7, "foreign": 0}
    assert bucket.generations() == before


def test_a_spec_with_errors_uploads_nothing(project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "dags/team/broken.yaml", "tasks:\n  a: {bash: echo a, depends_on: nope}\n")
    assert deploy(bucket) == 1
    _, err = capsys.readouterr()
    assert "broken.yaml:2:" in err and "DSP020" in err and "nothing uploaded" in err
    assert bucket.names() == set()
    code, data = deploy_json(bucket, capsys)
    assert code == 1 and not data["ok"] and data["plan"] is None
    assert data["diagnostics"][0]["code"] == "DSP020"


def test_concurrent_writer_of_a_new_object_wins_cleanly(project: Path, bucket: Bucket) -> None:
    first, second = prepare(options(bucket)), prepare(options(bucket))  # two deploys planned at once
    assert apply(first).ok
    outcome = apply(second)
    assert isinstance(outcome.error, ConflictError) and outcome.uploaded == []
    assert second.plan is not None and outcome.error.key == second.plan.uploads[0].key
    assert "changed in the bucket by someone else" in str(outcome.error)


def test_object_rewritten_between_plan_and_upload_is_not_overwritten(project: Path, bucket: Bucket) -> None:
    assert apply(prepare(options(bucket))).ok
    write(project, "dags/team/hello.yaml", "start_date: 2024-01-01\ntasks:\n  hello: {bash: echo mine}\n")
    write(project, "templates/etl-base.yaml", "start_date: 2024-01-01\ntags: [etl, v2]\n")
    prepared = prepare(options(bucket))
    assert prepared.plan and [c.key for c in prepared.plan.uploads] == ["templates/etl-base.yaml", "team/hello.yaml"]

    def someone_else(index: int, total: int, action: str, change: Any) -> None:
        if change.key == "team/hello.yaml":  # after the plan listed it, before our upload
            bucket.write(f"{PREFIX}/team/hello.yaml", b"# their version\n")

    outcome = apply(prepared, someone_else)
    assert isinstance(outcome.error, ConflictError) and outcome.error.key == "team/hello.yaml"
    assert outcome.uploaded == ["templates/etl-base.yaml"]
    assert bucket.read(f"{PREFIX}/team/hello.yaml") == b"# their version\n"
    assert outcome.manifest_written and manifest(bucket)["templates/etl-base.yaml"] == prepared.plan.new_manifest[
        "templates/etl-base.yaml"]


def test_stale_object_rewritten_before_delete_is_kept(project: Path, bucket: Bucket) -> None:
    assert apply(prepare(options(bucket))).ok
    (project / "dags/team/hello.yaml").unlink()
    prepared = prepare(options(bucket))
    bucket.write(f"{PREFIX}/team/hello.yaml", b"# revived by someone\n")
    outcome = apply(prepared)
    assert isinstance(outcome.error, ConflictError) and outcome.deleted == []
    assert bucket.read(f"{PREFIX}/team/hello.yaml") == b"# revived by someone\n"


def test_usage_and_bucket_errors(project: Path, bucket: Bucket, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--bucket", f"gs://{bucket.name}/dags"]) == 2
    assert "--prefix" in capsys.readouterr().err
    assert main(["deploy", "--bucket", f"gs://{bucket.name}", "--prefix", "/"]) == 2
    assert main(["deploy", "--bucket", f"gs://{bucket.name}", "--dags", "nope"]) == 2
    assert main(["deploy", "--bucket", "gs://no-such-bucket-here", "--no-imports"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_the_repository_dag_folder_deploys(bucket: Bucket, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The real dags/ and templates/ validate with imports and plan the loader, specs, jobs and used templates."""
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    assert main(["deploy", "--bucket", f"gs://{bucket.name}", "--dry-run", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    keys = {c["key"] for c in data["plan"]["upload"]}
    assert data["ok"] and data["diagnostics"] == [] and data["plan"]["upload"][-1]["key"] == "dagspec_loader.py"
    assert {"templates/etl-base.yaml", "templates/regional-report.yaml"} <= keys
    assert bucket.names() == set()


def test_a_manifest_that_is_not_ours_stops_the_deploy(project: Path, bucket: Bucket,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Without a readable manifest dagspec cannot know what it owns, so it changes nothing."""
    bucket.write(f"{PREFIX}/{MANIFEST_NAME}", b"<html>not json</html>")
    assert deploy(bucket) == 1
    assert "is not a dagspec manifest" in capsys.readouterr().err
    assert bucket.names() == {f"{PREFIX}/{MANIFEST_NAME}"}
    code, data = deploy_json(bucket, capsys)
    assert code == 1 and data["ok"] is False and "not a dagspec manifest" in data["error"]


def test_cli_reports_a_concurrent_change_and_exits_1(project: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from dagspec.dag_factory.deploy import command

    assert deploy(bucket) == 0
    write(project, "dags/team/hello.yaml", "start_date: 2024-01-01\ntasks:\n  hello: {bash: echo mine}\n")
    shown = command._progress

    def racing_progress(stream: Any) -> Any:
        report = shown(stream)

        def step(index: int, total: int, action: str, change: Any) -> None:
            bucket.write(f"{PREFIX}/{change.key}", b"# written by someone else meanwhile\n")
            report(index, total, action, change)

        return step

    monkeypatch.setattr(command, "_progress", racing_progress)
    capsys.readouterr()
    assert deploy(bucket) == 1
    err = capsys.readouterr().err
    assert "FAILED: team/hello.yaml was changed in the bucket by someone else while deploying" in err
    assert "partial deploy" in err and "0 uploaded" in err
    assert bucket.read(f"{PREFIX}/team/hello.yaml") == b"# written by someone else meanwhile\n"

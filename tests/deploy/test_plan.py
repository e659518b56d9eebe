"""The deploy plan as a pure function: local files + bucket listing + manifest in, uploads and deletes out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagspec.dag_factory.deploy.plan import (
    Change,
    LocalFile,
    Manifest,
    RemoteObject,
    compute_plan,
    format_size,
    upload_rank,
)


def local(key: str, md5: str = "m1", crc: str = "c1", size: int = 10) -> LocalFile:
    return LocalFile(key, Path("/src") / key, size, md5, crc)


def remote(key: str, generation: int = 7, md5: str | None = "m1", crc: str | None = "c1") -> RemoteObject:
    return RemoteObject(key, generation, 10, md5, crc)


def keys(changes: tuple[Change, ...]) -> list[tuple[str, str, int]]:
    return [(c.key, c.reason, c.generation) for c in changes]


def test_empty_bucket_uploads_everything_with_generation_zero() -> None:
    plan = compute_plan([local("a.yaml"), local("dagspec_loader.py")], [], None)
    assert keys(plan.uploads) == [("a.yaml", "new", 0), ("dagspec_loader.py", "new", 0)]
    assert plan.deletes == () and plan.unchanged == () and plan.foreign == ()
    assert plan.manifest_changes and not plan.is_noop
    assert plan.new_manifest == {"a.yaml": "m1", "dagspec_loader.py": "m1"}


@pytest.mark.parametrize(("local_md5", "local_crc", "remote_md5", "remote_crc", "expected"), [
    ("m1", "c1", "m1", "c1", "unchanged"),
    ("m2", "c1", "m1", "c1", "changed"),        # MD5 decides when the object has one
    ("m1", "c2", None, "c1", "changed"),        # composite objects have no MD5: CRC32C decides
    ("m1", "c1", None, "c1", "unchanged"),
    ("m1", "c1", None, None, "changed"),        # no checksum at all: upload again
])
def test_checksums_decide_changed_or_unchanged(local_md5: str, local_crc: str, remote_md5: str | None,
                                               remote_crc: str | None, expected: str) -> None:
    plan = compute_plan([local("a.yaml", local_md5, local_crc)], [remote("a.yaml", 41, remote_md5, remote_crc)],
                        Manifest({"a.yaml": "m1"}, 3))
    if expected == "unchanged":
        assert plan.unchanged == ("a.yaml",) and plan.uploads == ()
    else:
        assert keys(plan.uploads) == [("a.yaml", "changed", 41)]  # precondition: the generation listed


def test_only_manifest_files_are_deleted_others_are_foreign() -> None:
    plan = compute_plan(
        [local("keep.yaml")],
        [remote("keep.yaml"), remote("gone.yaml", 5), remote("someone_elses.txt", 6)],
        Manifest({"keep.yaml": "m1", "gone.yaml": "m1"}, 9),
    )
    assert keys(plan.deletes) == [("gone.yaml", "stale", 5)]
    assert plan.foreign == ("someone_elses.txt",)
    assert plan.new_manifest == {"keep.yaml": "m1"}


def test_a_stale_file_rewritten_by_someone_since_the_last_deploy_is_kept() -> None:
    plan = compute_plan([], [remote("gone.yaml", 5, md5="theirs")], Manifest({"gone.yaml": "ours"}, 9))
    assert plan.deletes == () and plan.foreign == ("gone.yaml",) and plan.new_manifest == {}


def test_without_manifest_nothing_is_deleted() -> None:
    plan = compute_plan([local("a.yaml")], [remote("a.yaml"), remote("old.yaml")], None)
    assert plan.deletes == () and plan.foreign == ("old.yaml",)
    assert plan.unchanged == ("a.yaml",)
    assert plan.manifest_changes  # the first manifest is written, adopting a.yaml


def test_up_to_date_prefix_is_a_noop() -> None:
    plan = compute_plan([local("a.yaml")], [remote("a.yaml")], Manifest({"a.yaml": "m1"}, 12))
    assert plan.is_noop and plan.counts() == {"new": 0, "changed": 0, "delete": 0, "unchanged": 1, "foreign": 0}


def test_manifest_entries_already_gone_from_the_bucket_are_dropped() -> None:
    plan = compute_plan([local("a.yaml")], [remote("a.yaml")], Manifest({"a.yaml": "m1", "vanished.yaml": "x"}, 12))
    assert plan.deletes == () and plan.manifest_changes and plan.new_manifest == {"a.yaml": "m1"}


def test_uploads_put_dependencies_first_specs_next_the_loader_last() -> None:
    files = [local(k) for k in ("dagspec_loader.py", "team/b.yaml", "templates/etl.yaml", "team/_defaults.yaml",
                                "team/jobs/clean.py", "a.yaml", "team/sql/q.sql")]
    plan = compute_plan(files, [], None)
    assert [c.key for c in plan.uploads] == [
        "team/_defaults.yaml", "team/jobs/clean.py", "team/sql/q.sql", "templates/etl.yaml",
        "a.yaml", "team/b.yaml", "dagspec_loader.py",
    ]
    assert upload_rank("templates/clusters/x.yaml") == 0


def test_deletes_remove_specs_before_what_they_use() -> None:
    owned = {"t/x.yaml": "m1", "templates/base.yaml": "m1", "t/jobs/j.py": "m1"}
    plan = compute_plan([], [remote(k) for k in owned], Manifest(owned, 1))
    assert [c.key for c in plan.deletes] == ["t/x.yaml", "t/jobs/j.py", "templates/base.yaml"]


def test_plan_data_is_json_ready() -> None:
    plan = compute_plan([local("a.yaml", size=1234)], [remote("b.yaml", 3)], Manifest({"b.yaml": "m1"}, 2))
    data = json.loads(json.dumps(plan.to_data()))
    assert data["upload"] == [{"key": "a.yaml", "reason": "new", "size": 1234, "if_generation_match": 0}]
    assert data["delete"][0]["key"] == "b.yaml" and data["counts"]["delete"] == 1
    assert data["manifest_generation"] == 2


def test_manifest_round_trip_and_rejects_other_json() -> None:
    text = Manifest({"b": "2", "a": "1"}).to_json("0.1.0", "2026-01-01T00:00:00+00:00")
    back = Manifest.from_json(text, 77)
    assert dict(back.files) == {"a": "1", "b": "2"} and back.generation == 77
    assert json.loads(text)["tool"] == "dagspec 0.1.0"
    with pytest.raises(ValueError):
        Manifest.from_json('{"hello": 1}', 1)


def test_format_size() -> None:
    assert [format_size(n) for n in (0, 999, 1500, 2_500_000)] == ["0 B", "999 B", "1.5 kB", "2.5 MB"]

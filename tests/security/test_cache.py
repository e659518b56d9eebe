"""The plan cache is private, authenticated and secret-free: a foreign folder or a planted pickle
never runs code, files are 0600 in a 0700 folder, every input (doc_file too) is watched, and no
value read from the environment is written."""

from __future__ import annotations

import logging
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.compile.cache import PlanCache

SECRET = "env-value-7c1e55d0-must-not-be-cached"


class _Planted:
    """Unpickling this creates ``marker``: what an attacker's file would do (run code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return open, (str(self.marker), "w")


def _dags(tmp_path: Path, text: str = "tasks: {t: {bash: echo hi}}\n") -> tuple[Path, Path]:
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    spec = dags / "s.yaml"
    spec.write_text(text)
    return dags, spec


def _compile(spec: Path, dags: Path, store: PlanCache, env: dict[str, str] | None = None) -> list:
    result = compile_paths([spec], root=dags, env=env or {}, cache=store, check_imports=False)
    store.flush()
    assert not [d for d in result.all_diagnostics if d.severity == "error"]
    return result.plans


def _entry_name(tmp_path: Path, dags: Path, spec: Path) -> str:
    """The file name the cache uses for ``spec``: learnt from a clean cache elsewhere."""
    probe = tmp_path / "probe-cache"
    _compile(spec, dags, PlanCache(probe))
    (entry,) = probe.glob("*.pickle")
    return entry.name


def _plant(folder: Path, name: str, marker: Path) -> None:
    (folder / name).write_bytes(pickle.dumps(_Planted(marker)))


def test_a_cache_folder_of_another_user_is_refused_and_its_pickles_never_run(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if os.getuid() != 0:
        pytest.skip("making a folder owned by another user needs root")
    dags, spec = _dags(tmp_path)
    name = _entry_name(tmp_path, dags, spec)
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    marker = tmp_path / "pwned"
    _plant(foreign, name, marker)
    (foreign / "key").write_bytes(b"k" * 32)
    os.chmod(foreign / "key", 0o600)
    os.chown(foreign / "key", 65534, 65534)
    os.chown(foreign / name, 65534, 65534)
    os.chown(foreign, 65534, 65534)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            plans = _compile(spec, dags, PlanCache(foreign))
            assert [p.dag_id for p in plans] == ["s"]  # the cache is off, the spec still compiles
    assert not marker.exists()
    assert sorted(p.name for p in foreign.iterdir()) == sorted(["key", name])  # nothing written there
    warnings = [r for r in caplog.records if "plan cache off" in r.getMessage()]
    assert len(warnings) == 1 and "another user" in warnings[0].getMessage()


def test_a_cache_folder_open_to_everyone_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dags, spec = _dags(tmp_path)
    name = _entry_name(tmp_path, dags, spec)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    marker = tmp_path / "pwned"
    _plant(shared, name, marker)
    with caplog.at_level(logging.WARNING):
        _compile(spec, dags, PlanCache(shared))
    assert not marker.exists()
    assert [p.name for p in shared.iterdir()] == [name]
    assert "mode 777" in caplog.text


def test_a_planted_pickle_in_our_own_folder_is_never_unpickled(tmp_path: Path) -> None:
    dags, spec = _dags(tmp_path)
    folder = tmp_path / "cache"
    _compile(spec, dags, PlanCache(folder))  # a real entry and key exist now
    (entry,) = folder.glob("*.pickle")
    marker = tmp_path / "pwned"
    _plant(folder, entry.name, marker)
    plans = _compile(spec, dags, PlanCache(folder))
    assert not marker.exists()
    assert [p.dag_id for p in plans] == ["s"]
    # the same payload behind a wrong MAC is refused too: only the cache's own key authenticates
    (entry,) = folder.glob("*.pickle")
    data = entry.read_bytes()
    magic_end = data.index(b"\n") + 1
    payload = pickle.dumps(_Planted(marker))
    entry.write_bytes(data[:magic_end] + b"\0" * 32 + payload)
    _compile(spec, dags, PlanCache(folder))
    assert not marker.exists()


def test_the_cache_folder_is_0700_and_every_file_0600(tmp_path: Path) -> None:
    dags, spec = _dags(tmp_path)
    folder = tmp_path / "cache"
    old = os.umask(0o000)  # even with a permissive umask
    try:
        _compile(spec, dags, PlanCache(folder))
        store = PlanCache(folder)
        store.write_index(str(dags), {"s": str(spec)})
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert {p.suffix for p in files} >= {".pickle", ".json"} and (folder / "key").exists()
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(0o600)}


def test_an_edited_doc_file_is_picked_up(tmp_path: Path) -> None:
    dags, spec = _dags(tmp_path, "doc_file: README.md\ntasks: {t: {empty: true}}\n")
    doc = dags / "README.md"
    doc.write_text("first text\n")
    store = PlanCache(tmp_path / "cache")
    (plan,) = _compile(spec, dags, store)
    assert "first text" in plan.doc_md
    before = doc.stat().st_mtime_ns
    doc.write_text("second, longer text\n")
    os.utime(doc, ns=(before + 1_000_000_000, before + 1_000_000_000))
    (plan,) = _compile(spec, dags, store)
    assert "second, longer text" in plan.doc_md


def test_no_value_read_from_the_environment_is_written_to_the_cache(tmp_path: Path) -> None:
    dags, spec = _dags(tmp_path, "tasks: {t: {bash: 'echo ${env.MYCO_TOKEN}'}}\n")
    other = dags / "o.yaml"
    other.write_text("tasks: {t: {bash: 'echo ${env.MYCO_OTHER:-fallback}'}}\n")
    named = dags / "n.yaml"
    named.write_text("dag_id: ${env.MYCO_DAG}\ntasks: {t: {empty: true}}\n")
    plain = dags / "p.yaml"
    plain.write_text("tasks: {t: {bash: 'echo ${env.MYCO_UNSET:-plain}'}}\n")
    folder = tmp_path / "cache"
    env = {"MYCO_TOKEN": SECRET, "MYCO_OTHER": SECRET + "-2", "MYCO_DAG": "dag_" + SECRET.replace("-", "_")}
    for _ in range(2):
        store = PlanCache(folder)
        result = compile_paths([spec, other, named, plain], root=dags, env=env, cache=store, check_imports=False)
        store.flush()
        assert sorted(p.tasks[0].args.get("bash_command", "") for p in result.plans) == [
            "", f"echo {SECRET}", f"echo {SECRET}-2", "echo plain"]
    blobs = b"".join(p.read_bytes() for p in folder.iterdir())
    assert blobs  # the cache was used
    for value in env.values():
        assert value.encode() not in blobs
    assert len(list(folder.glob("*.pickle"))) == 1  # only the spec that read no value is cached
    # a variable that becomes set still misses: the freshness check keeps a keyed hash, not the value
    store = PlanCache(folder)
    changed = compile_paths([plain], root=dags, env={"MYCO_UNSET": "new"}, cache=store, check_imports=False)
    assert changed.plans[0].tasks[0].args["bash_command"] == "echo new"


def test_a_folder_of_ours_that_nobody_else_could_write_is_tightened_to_0700_and_used(tmp_path: Path) -> None:
    dags, spec = _dags(tmp_path)
    folder = tmp_path / "older"
    folder.mkdir()
    os.chmod(folder, 0o755)  # what an older dagspec made: readable, but writable only by us
    _compile(spec, dags, PlanCache(folder))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert list(folder.glob("*.pickle"))


def test_a_new_git_commit_is_picked_up(tmp_path: Path) -> None:
    dags, spec = _dags(tmp_path)
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    ref = git / "refs" / "heads" / "main"
    ref.write_text("a" * 40 + "\n")
    store = PlanCache(tmp_path / "cache")
    (plan,) = _compile(spec, dags, store)
    assert f"git:{'a' * 12}" in plan.dag_kwargs["tags"]
    before = ref.stat().st_mtime_ns
    ref.write_text("b" * 40 + "\n")
    os.utime(ref, ns=(before + 1_000_000_000, before + 1_000_000_000))
    code = ("from pathlib import Path\nfrom dagspec.dag_factory.compile.api import compile_paths\n"
            "from dagspec.dag_factory.compile.cache import PlanCache\n"
            f"r = compile_paths([Path({str(spec)!r})], root=Path({str(dags)!r}), env={{}}, "
            f"cache=PlanCache(Path({str(store.folder)!r})), check_imports=False)\n"
            "print(r.plans[0].dag_kwargs['tags'])")  # a new parse is a new process, as in Airflow
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"git:{'b' * 12}" in out

"""The plan cache: an unchanged spec is served from the cache; any change to an input misses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.compile.cache import PlanCache


def _touch_later(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:  # coarse clocks: make the change visible
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def test_hits_and_misses(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    spec = dags / "s.yaml"
    spec.write_text("tasks: {t: {bash: 'echo ${env.WHO:-x}'}}\n")
    store = PlanCache(tmp_path / "cache")
    env = {"WHO": "a"}
    first = compile_paths([spec], root=dags, env=env, cache=store).plans
    hit = compile_paths([spec], root=dags, env=env, cache=store).plans
    assert hit == first
    # a changed env value the spec uses misses
    other = compile_paths([spec], root=dags, env={"WHO": "b"}, cache=store).plans
    assert other[0].tasks[0].args["bash_command"] == "echo b"
    # a new defaults file in the spec's folder misses
    time.sleep(0.01)
    _touch_later(dags / "_defaults.yaml", "default_args: {retries: 7}\n")
    changed = compile_paths([spec], root=dags, env=env, cache=store).plans
    assert changed[0].dag_kwargs["default_args"] == {"retries": 7}
    # an edit of the spec misses
    _touch_later(spec, "tasks: {t: {bash: 'echo edited'}}\n")
    edited = compile_paths([spec], root=dags, env=env, cache=store).plans
    assert edited[0].tasks[0].args["bash_command"] == "echo edited"


def test_broken_specs_are_never_cached(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("tasks: {t: {bash: echo, depends_on: nope}}\n")
    store = PlanCache(tmp_path / "cache")
    for _ in range(2):
        result = compile_paths([spec], root=tmp_path, env={}, cache=store)
        assert [d.code for d in result.all_diagnostics] == ["DSP020"]
    assert not list((tmp_path / "cache").glob("*.pickle"))


def test_a_cache_hit_does_not_load_the_spec_models(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    spec = tmp_path / "dags" / "fast.yaml"
    spec.write_text("tasks: {t: {bash: echo}}\n")
    env = {**os.environ, "DAGSPEC_CACHE_DIR": str(tmp_path / "cache")}
    code = ("import sys\nfrom dagspec.dag_factory.compile.api import compile_paths\n"
            f"r = compile_paths([{str(spec)!r}], root={str(spec.parent)!r}, cache=True, only_dag_id='fast')\n"
            "assert [p.dag_id for p in r.plans] == ['fast']\n"
            "print('dagspec.dag_factory.spec.models' in sys.modules, 'pydantic' in sys.modules)")
    cold = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    warm = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert cold.stdout.split() == ["True", "True"]
    assert warm.stdout.split() == ["False", "False"]

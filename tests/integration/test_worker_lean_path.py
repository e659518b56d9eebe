"""A worker's cache hit stays lean: it imports only the loader, the builder and the plan cache's modules (no
spec package, no compiler), imports and builds them with the garbage collector paused, finds its spec
through the dag_id index without decoding the whole index, reads an index written by an older dagspec
too, and never builds a spec that is gone. Counts and module names, never clocks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import forked_python
from dagspec.dag_factory.airflow.compat import AIRFLOW_LINE
from dagspec.dag_factory.compile.cache import PlanCache, index_key

LOADER = "from dagspec.dag_factory.airflow.loader import load_dag_folder  # airflow dag loader\nload_dag_folder(globals())\n"
PROBE = """
import json, sys
from dagspec.dag_factory.airflow.compat import DagBag
before = {m for m in sys.modules if m.startswith("dagspec.")}
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
print(json.dumps({"dags": sorted(bag.dags), "errors": bag.import_errors,
                  "imported": sorted({m for m in sys.modules if m.startswith("dagspec.")} - before)}))
"""

# What a worker's cache hit may import of dagspec: the loader, the builder, the plan cache and what they need.
WORKER_MODULES = {
    "dagspec.dag_factory.airflow.loader",
    "dagspec.dag_factory.airflow.build",
    "dagspec.dag_factory.compile",
    "dagspec.dag_factory.compile.cache",
    "dagspec.dag_factory.compile.plan",
    "dagspec.dag_factory.compile.policy",
    "dagspec.dag_factory.compile.gcpause",
}
if AIRFLOW_LINE >= (3, 4):  # the loader asks Airflow's importer registry whether dagspec's importer owns .yaml
    WORKER_MODULES.add("dagspec.dag_factory.airflow.importer")


def _folder(tmp_path: Path, count: int = 5) -> tuple[Path, dict[str, str]]:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "dagspec_loader.py").write_text(LOADER)
    for i in range(count):
        (dags / f"s{i}.yaml").write_text(f"tasks: {{t: {{bash: echo {i}}}}}\n")
    return dags, {**os.environ, "DAGSPEC_CACHE_DIR": str(tmp_path / "cache")}


def _parse(target: Path, env: dict[str, str], dag_id: str | None = None) -> dict:
    return forked_python.parse_probe(PROBE, str(target), env=env, dag_id=dag_id)  # a process of its own


def test_a_workers_cache_hit_imports_no_spec_module_and_nothing_of_the_compiler(tmp_path: Path) -> None:
    dags, env = _folder(tmp_path)
    assert _parse(dags, env)["dags"] == [f"s{i}" for i in range(5)]
    worker = _parse(dags / "dagspec_loader.py", env, "s2")
    assert worker["dags"] == ["s2"] and not worker["errors"]
    imported = set(worker["imported"])
    assert not {m for m in imported if m.startswith("dagspec.dag_factory.spec")}, imported
    assert imported - {"dagspec.dag_factory.airflow.compat"} <= WORKER_MODULES, imported - WORKER_MODULES


GC_PROBE = """
import gc, json, sys
from dagspec.dag_factory.airflow.compat import DagBag
WATCHED = ("airflow/build.py", "compile/cache.py", "compile/plan.py", "compile/policy.py")
during = []

def watch(phase, info):
    if phase != "start":
        return
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.replace("\\\\", "/").endswith(WATCHED):
            during.append(frame.f_code.co_filename)
            return
        frame = frame.f_back

gc.set_threshold(1)  # any allocation with the collector running starts a collection
gc.callbacks.append(watch)
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
gc.callbacks.remove(watch)
print(json.dumps({"dags": sorted(bag.dags), "during": during, "enabled": gc.isenabled()}))
"""


def test_a_workers_cache_hit_imports_the_builder_and_the_cache_and_builds_with_the_collector_paused(
        tmp_path: Path) -> None:
    dags, env = _folder(tmp_path)
    _parse(dags, env)
    result = forked_python.parse_probe(GC_PROBE, str(dags / "dagspec_loader.py"), env=env, dag_id="s2")
    assert result["dags"] == ["s2"]
    assert result["during"] == []  # no collection while the builder or the cache loads, decodes or builds
    assert result["enabled"]  # and the collector runs again afterwards


def test_the_dag_id_index_is_one_entry_per_line_and_looked_up_without_decoding_it_all(tmp_path: Path) -> None:
    store = PlanCache(tmp_path / "cache")
    index = {"a": "/d/a.yaml", "x\"a": "/d/quoted.yaml", "b.c-d": "/d/odd \"name\"\n.yaml", "ü": "/d/ü.yaml"}
    store.write_index("root", index)
    text = store._index_file("root").read_text()
    assert text.startswith("{\n") and text.count("\n") == len(index) + 2 and json.loads(text) == index
    assert store.read_index("root") == index
    assert {k: store.lookup_index("root", k) for k in index} == index
    assert store.lookup_index("root", "\"a") is None and store.lookup_index("root", "zz") is None
    # the lookup reads only its own line: a damaged entry elsewhere does not hide it
    store._index_file("root").write_text(text.replace('"ü"', '"ü" broken'))
    assert store.lookup_index("root", "a") == "/d/a.yaml"


def test_an_index_written_by_an_older_dagspec_on_one_line_still_serves_the_worker(tmp_path: Path) -> None:
    dags, env = _folder(tmp_path)
    _parse(dags, env)
    store = PlanCache(tmp_path / "cache")
    key = index_key(dags)
    index = store.read_index(key)
    store._index_file(key).write_text(json.dumps(index))  # how dagspec wrote it before
    worker = _parse(dags / "dagspec_loader.py", env, "s1")
    assert worker["dags"] == ["s1"]
    assert "dagspec.dag_factory.compile.api" not in worker["imported"]  # served from the cache


def test_a_worker_never_builds_a_spec_that_was_deleted_since_the_index_was_written(tmp_path: Path) -> None:
    dags, env = _folder(tmp_path)
    _parse(dags, env)
    (dags / "s3.yaml").unlink()
    worker = _parse(dags / "dagspec_loader.py", env, "s3")
    assert worker["dags"] == [] and not worker["errors"]
    assert _parse(dags / "dagspec_loader.py", env, "s4")["dags"] == ["s4"]

"""A worker re-parses the loader before each task: with the plan cache warm from the dag processor's
parse it builds only the DAG being run, without listing the folder or loading the spec models, and
an edited spec is never served stale."""

from __future__ import annotations

import os
import time
from pathlib import Path

import forked_python

LOADER = "from dagspec.dag_factory.airflow.loader import load_dag_folder  # airflow dag loader\nload_dag_folder(globals())\n"
PROBE = """
import json, sys
from dagspec.dag_factory.airflow.compat import DagBag
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
print(json.dumps({"dags": sorted(bag.dags), "errors": bag.import_errors,
                  "models": "dagspec.dag_factory.spec.models" in sys.modules,
                  "commands": {d: [t.bash_command for t in bag.dags[d].tasks] for d in bag.dags}}))
"""


def _parse(folder: Path, env: dict[str, str], dag_id: str | None = None) -> dict:
    target = folder / "dagspec_loader.py" if dag_id else folder
    return forked_python.parse_probe(PROBE, str(target), env=env, dag_id=dag_id)  # a process of its own


def test_worker_builds_one_dag_from_the_cache_and_never_serves_a_stale_plan(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "dagspec_loader.py").write_text(LOADER)
    for i in range(5):
        (dags / f"s{i}.yaml").write_text(f"tasks: {{t: {{bash: echo {i}}}}}\n")
    env = {**os.environ, "DAGSPEC_CACHE_DIR": str(tmp_path / "cache")}

    full = _parse(dags, env)
    assert full["dags"] == [f"s{i}" for i in range(5)] and not full["errors"]
    assert full["models"]  # the first parse compiles

    worker = _parse(dags, env, "s3")
    assert worker["dags"] == ["s3"] and worker["commands"] == {"s3": ["echo 3"]}
    assert worker["models"] is False  # served from the plan cache

    time.sleep(0.01)
    spec = dags / "s3.yaml"
    before = spec.stat().st_mtime_ns
    spec.write_text("tasks: {t: {bash: echo changed}}\n")
    if spec.stat().st_mtime_ns == before:
        os.utime(spec, ns=(before + 1_000_000, before + 1_000_000))
    edited = _parse(dags, env, "s3")
    assert edited["commands"] == {"s3": ["echo changed"]} and edited["models"] is True

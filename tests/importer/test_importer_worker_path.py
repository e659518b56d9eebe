"""A worker's parse through dagspec's DAG importer (Airflow 3.4): once the dag processor compiled a spec, the
worker builds its DAG from the plan cache without importing the compiler or the spec models, as the loader's
worker path does; an edited spec, or one whose cache entry holds a diagnostic, takes the full path.

Each parse runs in a process of its own that imported Airflow first (forked_python), as a worker's does.
Module names and results, never clocks. Runs in the 3.4 environment (``make test-34``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk.importers", reason="Airflow 3.4's DAG importers (airflow.sdk.importers) are not installed")

import forked_python  # noqa: E402
from importer_kit import dagspec_entry, importer_configs  # noqa: E402

PROBE = """
import json, sys
from pathlib import Path
from airflow.dag_processing.dagbag import DagBag
before = {m for m in sys.modules if m.startswith("dagspec.")}
folder = Path(sys.argv[1])
bag = DagBag(dag_folder=sys.argv[2], bundle_path=folder, bundle_name="dags-folder", safe_mode=True)
print(json.dumps({"dags": sorted(bag.dags), "errors": {str(k): str(v) for k, v in bag.import_errors.items()},
                  "imported": sorted({m for m in sys.modules if m.startswith("dagspec.")} - before),
                  "commands": {d: [t.bash_command for t in bag.dags[d].tasks] for d in bag.dags}}))
"""
COMPILER = ("dagspec.dag_factory.compile.api", "dagspec.dag_factory.compile.compiler", "dagspec.dag_factory.spec.load",
            "dagspec.dag_factory.spec.models")
# all a worker's cache hit may import of dagspec: the importer (which lists the file by name: spec.discover), the
# builder, the plan cache and the policy, as on the loader's worker path (tests/integration/test_worker_lean_path.py)
WORKER_MODULES = {f"dagspec.dag_factory.{name}" for name in (
    "airflow", "airflow.importer", "airflow.loader", "airflow.build", "airflow.compat", "compile", "compile.cache",
    "compile.plan", "compile.policy", "compile.gcpause", "spec", "spec.discover")} | {"dagspec.dag_factory"}


def _parse(folder: Path, target: Path, env: dict[str, str], dag_id: str | None = None) -> dict:
    return forked_python.parse_probe(PROBE, str(folder), str(target), env=env, dag_id=dag_id)


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    dags = tmp_path / "dags"
    dags.mkdir()
    for i in range(3):
        (dags / f"s{i}.yaml").write_text(f"tasks: {{t: {{bash: echo {i}}}}}\n")
    env = {**os.environ, "DAGSPEC_CACHE_DIR": str(tmp_path / "cache"),
           "AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS": importer_configs(dagspec_entry())}
    return dags, env


def _compiler_modules(imported: list[str]) -> list[str]:
    return [m for m in imported if m.startswith(COMPILER)]


def test_a_workers_parse_of_a_compiled_spec_builds_from_the_plan_cache_without_the_compiler(folder) -> None:
    dags, env = folder
    processor = _parse(dags, dags, env)  # the dag processor's parse compiles every spec and caches its plan
    assert processor["dags"] == ["s0", "s1", "s2"] and not processor["errors"]
    assert _compiler_modules(processor["imported"])
    worker = _parse(dags, dags / "s1.yaml", env, "s1")
    assert worker["dags"] == ["s1"] and worker["commands"] == {"s1": ["echo 1"]} and not worker["errors"]
    assert set(worker["imported"]) <= WORKER_MODULES, set(worker["imported"]) - WORKER_MODULES


def test_an_edited_spec_or_one_never_compiled_takes_the_full_path_and_is_never_served_stale(folder) -> None:
    dags, env = folder
    _parse(dags, dags, env)
    spec = dags / "s2.yaml"
    before = spec.stat().st_mtime_ns
    spec.write_text("tasks: {t: {bash: echo changed}}\n")
    if spec.stat().st_mtime_ns == before:
        os.utime(spec, ns=(before + 1_000_000, before + 1_000_000))
    edited = _parse(dags, spec, env, "s2")
    assert edited["commands"] == {"s2": ["echo changed"]} and _compiler_modules(edited["imported"])
    (dags / "s3.yaml").write_text("tasks: {t: {bash: echo new}}\n")
    new = _parse(dags, dags / "s3.yaml", env, "s3")
    assert new["commands"] == {"s3": ["echo new"]} and _compiler_modules(new["imported"])


def test_a_spec_cached_with_a_warning_takes_the_full_path_which_logs_it(folder) -> None:
    dags, env = folder
    spec = dags / "s0.yaml"
    spec.write_text("clusters:\n  etl: {}\ntasks:\n  t: {bash: echo 0}\n")  # DSP061: a cluster no task uses
    assert _parse(dags, dags, env)["dags"] == ["s0", "s1", "s2"]
    worker = _parse(dags, spec, env, "s0")
    assert worker["dags"] == ["s0"] and _compiler_modules(worker["imported"])  # a cached warning is never skipped


def test_a_worker_under_a_policy_the_cached_plan_was_not_checked_against_never_builds_it_from_the_cache(
        folder) -> None:
    dags, env = folder
    _parse(dags, dags, env)  # compiled and cached without a policy
    strict = {**env, "AIRFLOW__DAGSPEC__ALLOWED_OPERATORS": "mycompany.*"}  # bash is no longer allowed
    worker = _parse(dags, dags / "s1.yaml", strict, "s1")
    assert worker["dags"] == [] and _compiler_modules(worker["imported"])
    assert "DSP" in " ".join(worker["errors"].values())  # the policy's error, from the full path


def test_the_importer_keeps_the_budgets_of_airflow_cfg_as_the_loader_does(folder, tmp_path: Path) -> None:
    dags, env = folder
    home = tmp_path / "home"
    home.mkdir()
    (home / "airflow.cfg").write_text("[dagspec]\nmax_tasks_per_dag = 2\n")  # in the file, not the environment
    (dags / "s0.yaml").write_text("tasks:\n  a: {bash: echo a}\n  b: {bash: echo b}\n  c: {bash: echo c}\n")
    parsed = _parse(dags, dags, {**env, "AIRFLOW_HOME": str(home)})
    assert parsed["dags"] == ["s1", "s2"]
    assert "DSP063" in " ".join(parsed["errors"].values()) and "max_tasks_per_dag" in " ".join(parsed["errors"].values())

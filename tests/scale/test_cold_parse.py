"""The cold parse (empty plan cache): what it does per spec stays cheap without dropping a check.
Counts, never clocks: garbage collections while the loader compiles and builds, and YAML tags."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.dag_processing.dagbag import BundleDagBag
from dagspec.dag_factory.spec import yaml_source


def _spec(i: int, tasks: int = 20) -> str:
    lines = ["start_date: 2024-01-01", "schedule: '@daily'", "tasks:", f"  start: {{bash: echo {i}}}"]
    lines += [f"  work_{j}: {{bash: echo {i} {j}, depends_on: start}}" for j in range(tasks - 1)]
    return "\n".join(lines) + "\n"


def test_the_loader_runs_no_garbage_collection_while_it_compiles_and_builds_a_folder_and_restores_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSPEC_CACHE_DIR", str(tmp_path / "cache"))  # cold: every spec is compiled
    folder = tmp_path / "dags"
    folder.mkdir()
    for i in range(40):
        (folder / f"cold_{i:02d}.yaml").write_text(_spec(i))
    (folder / "dagspec_loader.py").write_text(
        "from dagspec.dag_factory.airflow.loader import load_dag_folder\n\nload_dag_folder(globals())\n")
    from dagspec.dag_factory.airflow import build

    collections: list[str] = []
    inside = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and inside:
            collections.append(f"generation {info['generation']}")

    original = build.build_dag

    def building(*args: Any, **kwargs: Any) -> Any:  # marks the loader's build phase; builds as before
        inside.append(True)
        try:
            return original(*args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(build, "build_dag", building)
    gc.callbacks.append(watch)
    try:
        assert gc.isenabled()
        bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")
    finally:
        gc.callbacks.remove(watch)
    assert not bag.import_errors and len(bag.dags) == 40
    assert collections == []  # 40 DAGs x 20 operators, built with the collector paused ...
    assert gc.isenabled()  # ... and running again once the loader is done


@pytest.mark.parametrize("text", [
    "a: 1\nb: 1.5\nc: true\nd: null\ne: ~\nf: 2024-01-01\ng: 0x1F\nh: 0o17\ni: .inf\nj: -3\nk: +4\nl: =\n",
    "on: yes\nno: off\nY: n\nlist: [x, '1', \"2\", !!str 3, 4, ~, '']\nempty:\n",
    "echo: echo work 1 2\nnested: {deep: [{x: y}, [z, 9]]}\nblock: |\n  text\n  more\n",
])
def test_dagspec_s_yaml_loader_tags_every_node_as_pyyaml_s_safe_loader_does(text: str) -> None:
    base = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
    assert repr(yaml.compose(text, Loader=yaml_source._Composer)) == repr(yaml.compose(text, Loader=base))

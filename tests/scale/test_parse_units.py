"""Parse units (Airflow 3.3): a large dag folder's specs are shared out over several loader files, each
spec in exactly one, and a broken, oversized or slow spec is its own import error while the rest of
its unit loads. Real Airflow DagBag; the worker path in a process of its own that imported Airflow before it parses, as
Airflow's task runner does (forked_python)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import forked_python
import pytest
from dagspec.dag_factory.airflow.compat import bundle_dagbag
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.deploy.local import collect_local
from dagspec.dag_factory.spec.units import (
    MIXED_CODE,
    OUTGROWN_CODE,
    check_units,
    read_units,
    unit_file_name,
    unit_file_text,
    unit_of,
)


def spec(i: int, tasks: int = 3) -> str:
    lines = ["start_date: 2024-01-01", "schedule: null", "tasks:", f"  t0: {{bash: echo {i}}}"]
    lines += [f"  t{j}: {{bash: echo {i} {j}, depends_on: t0}}" for j in range(1, tasks)]
    return "\n".join(lines) + "\n"


def folder_of(tmp_path: Path, count: int, units: int, nested: bool = True) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    for i in range(count):
        where = folder / f"team_{i % 3}" if nested and i % 2 else folder
        where.mkdir(exist_ok=True)
        (where / f"wf_{i:03d}.yaml").write_text(spec(i))
    assert main(["init-dag-folder", str(folder), "--units", str(units)]) == 0
    return folder


def bag_of(folder: Path) -> Any:
    return bundle_dagbag(folder, folder)


def owner(folder: Path, rel: str, units: int) -> str:
    return str(folder / unit_file_name(unit_of(rel, units), units))


# --- the share --------------------------------------------------------------------------------------


def test_every_spec_belongs_to_exactly_one_unit_and_keeps_it_when_other_specs_come_and_go():
    paths = [f"team_{i % 7}/wf_{i}.yaml" for i in range(2000)]
    first = {p: unit_of(p, 8) for p in paths}
    assert set(first.values()) == set(range(8))
    shares = Counter(first.values())
    assert all(0.8 * 250 < n < 1.2 * 250 for n in shares.values())  # the hash spreads the specs evenly
    survivors = paths[::3]  # two thirds of the specs are gone, others arrive: nobody else moves
    again = {p: unit_of(p, 8) for p in survivors + [f"new/wf_{i}.yaml" for i in range(500)]}
    assert all(again[p] == first[p] for p in survivors)
    assert all(unit_of(p, 1) == 0 for p in paths)


def test_a_unit_file_names_airflow_and_dag_for_safe_mode_discovery_and_calls_the_loader_with_its_unit():
    text = unit_file_text(2, 5)
    assert "airflow" in text.lower() and "dag" in text.lower()
    assert "load_dag_folder(globals(), unit=(2, 5))" in text
    assert unit_file_name(2, 5) == "dagspec_unit_2_of_5.py" and unit_file_name(3, 12) == "dagspec_unit_03_of_12.py"
    assert unit_file_name(0, 1) == "dagspec_loader.py"


# --- init-dag-folder ------------------------------------------------------------------------------


def test_init_dag_folder_is_idempotent_replaces_its_own_loaders_and_never_overwrites_a_foreign_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = tmp_path / "dags"
    folder.mkdir()
    for i in range(10):
        (folder / f"wf_{i}.yaml").write_text(spec(i))
    (folder / "dagspec_loader.py").write_text((Path(__file__).parents[2] / "dags" / "dagspec_loader.py").read_text())
    assert main(["init-dag-folder", str(folder), "--units", "3"]) == 0
    out = capsys.readouterr().out
    assert "10 spec(s) -> 3 parse unit(s)" in out and "[4/4] delete dagspec_loader.py" in out
    assert read_units(folder).units == 3 and read_units(folder).complete
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.py")}
    assert main(["init-dag-folder", str(folder), "--units", "3"]) == 0
    assert "up to date: 3 loader file(s) unchanged" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.py")} == before

    (folder / "dagspec_unit_0_of_2.py").write_text("# someone's own DAG file: airflow dag\n")
    assert main(["init-dag-folder", str(folder), "--units", "2"]) == 1
    assert "is not a loader file dagspec wrote: not touching it" in capsys.readouterr().err
    assert (folder / "dagspec_unit_0_of_2.py").read_text() == "# someone's own DAG file: airflow dag\n"
    assert read_units(folder).units == 3  # nothing changed: the three units are still there
    assert {p.name for p in folder.glob("dagspec_unit_*_of_3.py")} == {f"dagspec_unit_{i}_of_3.py" for i in range(3)}

    (folder / "dagspec_unit_0_of_2.py").unlink()
    assert main(["init-dag-folder", str(folder), "--auto"]) == 0  # 10 specs: back to the single loader
    assert sorted(p.name for p in folder.glob("*.py")) == ["dagspec_loader.py"]


def test_init_dag_folder_help_teaches_what_a_unit_is_and_the_numbers(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        main(["init-dag-folder", "--help"])
    text = capsys.readouterr().out
    for words in ("dagbag_import_timeout", "hashes", "parsing_processes", "--auto", "--units", "DSP095",
                  "dagspec deploy", "its own", "examples:"):
        assert words in text


def test_validate_and_deploy_warn_when_a_folder_outgrew_its_units_or_mixes_loader_layouts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = folder_of(tmp_path, 12, 2, nested=False)
    assert check_units(folder, 12) == []
    [grown] = check_units(folder, 12, max_per_unit=5)
    assert grown.code == OUTGROWN_CODE and grown.severity == "warning"
    assert f"dagspec init-dag-folder {folder} --units" in grown.hint
    (folder / "dagspec_loader.py").write_text(unit_file_text(0, 1))  # a second layout: specs would load twice
    assert main(["validate", str(folder), "--no-imports"]) == 0
    assert f"warning {MIXED_CODE}" in capsys.readouterr().out
    (folder / "dagspec_loader.py").unlink()

    local = collect_local(folder, None, check_imports=False)
    assert not [d for d in local.diagnostics if d.severity == "error"]
    why = {f.key: f.why for f in local.files}
    assert why["dagspec_unit_0_of_2.py"] == why["dagspec_unit_1_of_2.py"] == "the loader"


# --- DagBag -------------------------------------------------------------------------------------------


def test_sixty_specs_over_three_units_all_load_each_from_the_one_unit_that_owns_it(tmp_path: Path):
    folder = folder_of(tmp_path, 60, 3)
    bag = bag_of(folder)
    assert bag.import_errors == {}
    assert len(bag.dags) == 60
    rels = {p.stem: p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml")}
    for dag_id, dag in bag.dags.items():
        assert dag.fileloc == owner(folder, rels[dag_id], 3)  # built by its unit, and only there
    assert len({dag.fileloc for dag in bag.dags.values()}) == 3


def test_a_broken_and_an_oversized_spec_are_their_own_import_errors_and_the_rest_of_their_unit_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = folder_of(tmp_path, 30, 3, nested=False)
    (folder / "broken.yaml").write_text("start_date: 2024-01-01\ntasks:\n  a: {bash: echo, depends_on: nowhere}\n")
    (folder / "huge.yaml").write_text(spec(999, tasks=80))
    monkeypatch.setenv("AIRFLOW__DAGSPEC__MAX_TASKS_PER_DAG", "50")
    bag = bag_of(folder)
    assert set(bag.import_errors) == {"broken.yaml", "huge.yaml"}  # under the specs' own paths, no unit file
    assert "DSP063" in bag.import_errors["huge.yaml"] and "80 tasks" in bag.import_errors["huge.yaml"]
    assert len(bag.dags) == 30
    for name in ("broken.yaml", "huge.yaml"):  # their units' other specs loaded
        unit = owner(folder, name, 3)
        assert any(dag.fileloc == unit for dag in bag.dags.values())


SLOW_OPERATOR = """\
import time
from airflow.sdk import BaseOperator


class SlowOperator(BaseOperator):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        time.sleep(3600)
"""


@pytest.mark.timeout(120)  # the bug is a hang: without the unit's budget the parse never ends
def test_a_spec_too_slow_to_build_is_its_own_import_error_and_its_unit_still_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = folder_of(tmp_path, 12, 2, nested=False)
    (folder / "slowop.py").write_text(SLOW_OPERATOR)
    (folder / "slow.yaml").write_text("start_date: 2024-01-01\ntasks:\n  s: {operator: slowop.SlowOperator}\n")
    monkeypatch.setenv("AIRFLOW__DAGSPEC__MAX_BUILD_SECONDS", "1")
    monkeypatch.syspath_prepend(str(folder))
    bag = bag_of(folder)
    assert set(bag.import_errors) == {"slow.yaml"}
    assert "DSP066" in bag.import_errors["slow.yaml"]
    assert len(bag.dags) == 12
    assert any(dag.fileloc == owner(folder, "slow.yaml", 2) for dag in bag.dags.values())


PROBE = """
import json, sys
from dagspec.dag_factory.airflow.compat import DagBag
bag = DagBag(dag_folder=sys.argv[1], safe_mode=True)
print(json.dumps({"dags": sorted(bag.dags), "errors": sorted(bag.import_errors),
                  "compiler": "dagspec.dag_factory.spec.models" in sys.modules,
                  "compile_api": "dagspec.dag_factory.compile.api" in sys.modules
                                 or "dagspec.dag_factory.compile.resolve" in sys.modules}))
"""


def _parse(target: Path, env: dict[str, str], dag_id: str | None = None) -> dict:
    return forked_python.parse_probe(PROBE, str(target), env=env, dag_id=dag_id)  # a process of its own


@pytest.mark.timeout(300)
def test_a_worker_parsing_a_unit_builds_only_the_dag_it_runs_cold_and_from_the_units_cache_index(tmp_path: Path):
    folder = folder_of(tmp_path, 24, 3, nested=False)
    env = {**os.environ, "DAGSPEC_CACHE_DIR": str(tmp_path / "cache")}
    target = "wf_005"
    unit = folder / unit_file_name(unit_of("wf_005.yaml", 3), 3)
    cold = _parse(unit, env, target)  # no cache yet: the unit compiles its candidates, builds one
    assert cold["dags"] == [target] and cold["errors"] == []
    full = _parse(folder, env)  # the dag processor's parse: every unit writes its own index
    assert len(full["dags"]) == 24 and full["errors"] == []
    warm = _parse(unit, env, target)
    # the plan cache served it, without importing the compiler or its API (gc_paused lives apart)
    assert warm == {"dags": [target], "errors": [], "compiler": False, "compile_api": False}
    other = folder / unit_file_name((unit_of("wf_005.yaml", 3) + 1) % 3, 3)
    assert _parse(other, env, target)["dags"] == []  # another unit never builds a spec it does not own


def test_a_spec_in_a_folder_of_units_finds_its_dag_folder_for_validate(tmp_path: Path):
    from dagspec.dag_factory.spec.discover import find_root

    folder = folder_of(tmp_path, 6, 2)
    assert find_root(folder / "team_1" / "wf_001.yaml") == folder.resolve()


# --- a folder too large for one loader: the DAGs built in time survive ---------------------------------


def test_a_single_loader_over_a_folder_too_large_for_its_time_keeps_the_dags_it_built_and_names_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from dagspec.dag_factory.airflow import loader

    folder = folder_of(tmp_path, 250, 1, nested=False)
    looks: list[int] = []

    def out_of_time(self: object) -> bool:  # the clock runs out after the first chunk of specs
        looks.append(1)
        return len(looks) > 101

    monkeypatch.setattr(loader._Clock, "out_of_time", out_of_time)
    monkeypatch.setenv("DAGSPEC_CACHE", "off")
    bag = bag_of(folder)
    assert "dagspec_loader.py" not in bag.import_errors  # the loader file itself never fails
    assert 100 <= len(bag.dags) < 250
    assert len(bag.dags) + len(bag.import_errors) == 250  # every spec: a DAG or its own error
    some = next(iter(bag.import_errors.values()))
    assert "DSP066" in some and f"dagspec init-dag-folder {folder} --auto" in some


@pytest.mark.timeout(300)
def test_a_worker_finds_a_dag_of_any_chunk_of_a_large_unit_in_the_plan_cache(tmp_path: Path):
    folder = folder_of(tmp_path, 230, 1, nested=False)  # three chunks of the single loader
    env = {**os.environ, "DAGSPEC_CACHE_DIR": str(tmp_path / "cache")}
    assert len(_parse(folder, env)["dags"]) == 230
    for dag_id in ("wf_003", "wf_229"):  # the first chunk's index entries survive the later chunks'
        assert _parse(folder / "dagspec_loader.py", env, dag_id) == {"dags": [dag_id], "errors": [],
                                                                      "compiler": False, "compile_api": False}

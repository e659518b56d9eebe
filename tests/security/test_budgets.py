"""One spec must not take the folder down: compile and build are linear in tasks, an oversized spec is its
own error (DSP063-DSP065) before it costs anything, and a spec that builds too slowly is stopped (DSP066)."""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG
from dagspec.dag_factory.airflow.build import build_dag
from dagspec.dag_factory.airflow.compat import bundle_dagbag
from dagspec.dag_factory.airflow.deadline import OverBudget, time_limit
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile import compiler
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.spec.limits import Budget

LOADER = "# the dagspec loader: airflow dag\nfrom dagspec.dag_factory.airflow.loader import load_dag_folder\n" \
         "load_dag_folder(globals())\n"
GOOD = "start_date: 2024-01-01\ntasks:\n  hello: {bash: echo hello}\n"


def chain(n: int) -> str:
    lines = ["start_date: 2024-01-01", "tasks:", "  t0: {empty: true}"]
    lines += [f"  t{i}: {{empty: true, depends_on: t{i - 1}}}" for i in range(1, n)]
    return "\n".join(lines) + "\n"


def instances(n: int, tasks: int) -> str:
    lines = ["start_date: 2024-01-01", "tasks:"]
    lines += [f"  t{i}: {{bash: 'echo ${{var.region}}'}}" for i in range(tasks)]
    lines += ["instances:"] + [f"  - {{dag_id: inst_{j}, vars: {{region: r{j}}}}}" for j in range(n)]
    return "\n".join(lines) + "\n"


def folder_with(tmp_path: Path, **specs: str) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dagspec_loader.py").write_text(LOADER)
    for name, text in specs.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


def bag_of(folder: Path) -> Any:
    return bundle_dagbag(folder, folder)


# --- linear work ---------------------------------------------------------------------------------


def whole_dag_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the DAG methods that look at every task (hashing a DAG lists all its task ids)."""
    seen: list[str] = []
    for name in ("__hash__", "__eq__"):
        original = getattr(DAG, name)

        def counting(self, *args, _original=original, _name=name):
            seen.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(DAG, name, counting)
    for name in ("task_ids", "tasks"):
        prop = getattr(DAG, name)
        monkeypatch.setattr(DAG, name, property(lambda self, _get=prop.fget, _name=name: (seen.append(_name), _get(self))[1]))
    return seen


def plan_of(tmp_path: Path, text: str, name: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    result = compile_paths([path], root=tmp_path, env={})
    assert result.all_diagnostics == []
    return result.plans[0]


def test_building_a_chain_looks_at_the_whole_dag_a_number_of_times_that_does_not_grow_with_its_length(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    short, long = plan_of(tmp_path, chain(200), "short"), plan_of(tmp_path, chain(1600), "long")
    seen = whole_dag_scans(monkeypatch)
    build_dag(short)
    scans_short = len(seen)
    seen.clear()
    build_dag(long)
    assert len(seen) <= scans_short + 2, f"whole-DAG scans grow with the chain: {scans_short} -> {len(seen)}"


def python_lines(action) -> int:
    """Lines of Python executed by ``action`` (loops included): a measure of work, not of time."""
    lines = 0

    def local(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
        return local

    sys.settrace(lambda frame, event, arg: local)
    try:
        action()
    finally:
        sys.settrace(None)
    return lines


def grouped_chain(n: int) -> str:
    lines = ["start_date: 2024-01-01", "tasks:", "  start: {empty: true}", "  g:", "    depends_on: start",
             "    tasks:", "      t0: {empty: true}"]
    lines += [f"      t{i}: {{empty: true, depends_on: t{i - 1}}}" for i in range(1, n)]
    return "\n".join([*lines, "  end: {empty: true, depends_on: g}"]) + "\n"


@pytest.mark.parametrize("shape", [chain, grouped_chain], ids=["chain", "chain inside a group"])
def test_compiling_a_spec_four_times_longer_costs_about_four_times_the_work(tmp_path: Path, shape):
    specs = {n: tmp_path / f"c{n}.yaml" for n in (300, 1200)}
    for n, path in specs.items():
        path.write_text(shape(n))
    compile_paths([specs[300]], root=tmp_path, env={})  # imports and caches warm
    work = {n: python_lines(lambda path=path: compile_paths([path], root=tmp_path, env={})) for n, path in specs.items()}
    assert work[1200] < 4.6 * work[300], work


# --- size budgets --------------------------------------------------------------------------------


def test_a_ten_thousand_task_chain_is_its_own_error_at_tasks_and_is_never_compiled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    compiled = []
    original = compiler.compile_spec
    monkeypatch.setattr(compiler, "compile_spec", lambda *a, **k: (compiled.append(1), original(*a, **k))[1])
    spec = tmp_path / "huge.yaml"
    spec.write_text(chain(10_000))
    assert main(["validate", str(spec), "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "huge.yaml:2:1: error DSP063: 10000 tasks in one DAG, more than the budget of 5000" in out
    assert "max_tasks_per_dag" in out  # the hint names the setting
    assert compiled == []


def test_an_oversized_spec_is_an_import_error_under_its_own_path_and_the_folder_still_loads(tmp_path: Path):
    folder = folder_with(tmp_path, a_huge=chain(10_000), b_many=instances(501, 1), c_good=GOOD)
    bag = bag_of(folder)
    assert set(bag.dags) == {"c_good"}
    assert set(bag.import_errors) == {"a_huge.yaml", "b_many.yaml"}
    assert "a_huge.yaml:2:1: error DSP063" in bag.import_errors["a_huge.yaml"]
    assert "b_many.yaml:4:1: error DSP064: 501 instances" in bag.import_errors["b_many.yaml"]


def test_too_many_tasks_over_all_instances_is_an_error_at_instances(tmp_path: Path):
    spec = tmp_path / "wide.yaml"
    spec.write_text(instances(300, 100))
    result = compile_paths([spec], root=tmp_path, env={})
    assert result.plans == []
    [d] = result.all_diagnostics
    assert (d.code, d.line) == ("DSP065", 103)
    assert "300 instances of 100 tasks make 30000 tasks, more than the budget of 20000" in d.message


def test_groups_members_count_and_the_budgets_come_from_the_configuration(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    spec = tmp_path / "grouped.yaml"
    spec.write_text(textwrap.dedent("""\
        tasks:
          a: {bash: echo a}
          g:
            tasks:
              b: {bash: echo b}
              c: {bash: echo c}
        """))
    assert compile_paths([spec], root=tmp_path, env={"AIRFLOW__DAGSPEC__MAX_TASKS_PER_DAG": "3"}).plans
    [d] = compile_paths([spec], root=tmp_path, env={"AIRFLOW__DAGSPEC__MAX_TASKS_PER_DAG": "2"}).all_diagnostics
    assert (d.code, d.line, d.message) == ("DSP063", 1, "3 tasks in one DAG, more than the budget of 2")
    assert Budget.from_env({"AIRFLOW__DAGSPEC__MAX_TASKS_PER_DAG": "0"}).max_tasks_per_dag is None  # 0: no limit
    with pytest.raises(ValueError, match="max_instances_per_file"):
        Budget.from_env({"AIRFLOW__DAGSPEC__MAX_INSTANCES_PER_FILE": "many"})


def test_the_loader_reads_the_budget_from_airflow_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = folder_with(tmp_path, many=instances(3, 2), good=GOOD)
    monkeypatch.setenv("AIRFLOW__DAGSPEC__MAX_INSTANCES_PER_FILE", "2")
    bag = bag_of(folder)
    assert set(bag.dags) == {"good"}
    assert "error DSP064: 3 instances, more than the budget of 2" in bag.import_errors["many.yaml"]


# --- build time budget ---------------------------------------------------------------------------

SLOW_OPERATOR = """\
import time
from airflow.sdk import BaseOperator


class SlowOperator(BaseOperator):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        time.sleep(3600)  # an operator doing slow work when it is created
"""


@pytest.mark.timeout(120)  # the bug is a hang: without the budget this parse never ends
def test_a_spec_that_builds_too_slowly_is_stopped_and_reported_and_later_specs_still_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = folder_with(tmp_path, a_slow="start_date: 2024-01-01\ntasks:\n  s: {operator: slowop.SlowOperator}\n",
                         b_good=GOOD)
    (folder / "slowop.py").write_text(SLOW_OPERATOR)
    monkeypatch.setenv("AIRFLOW__DAGSPEC__MAX_BUILD_SECONDS", "1")
    monkeypatch.syspath_prepend(str(folder))
    bag = bag_of(folder)
    assert set(bag.dags) == {"b_good"}
    assert set(bag.import_errors) == {"a_slow.yaml"}
    text = bag.import_errors["a_slow.yaml"]
    assert "error DSP066: building this spec's DAGs took more than 1 s" in text
    assert "max_build_seconds" in text


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_slow_specs_never_spend_the_last_of_the_import_timeout_so_the_dags_built_before_them_survive(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    slow = "start_date: 2024-01-01\ntasks:\n  s: {operator: slowop.SlowOperator}\n"
    folder = folder_with(tmp_path, a_good=GOOD, b_slow=slow, c_slow=slow, d_good=GOOD)
    (folder / "slowop.py").write_text(SLOW_OPERATOR)
    monkeypatch.setenv("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "8")  # Airflow's timer: 8 s for the loader file
    monkeypatch.setenv("AIRFLOW__DAGSPEC__MAX_BUILD_SECONDS", "4")
    monkeypatch.syspath_prepend(str(folder))
    bag = bag_of(folder)
    assert set(bag.dags) == {"a_good"}  # without the reserve, Airflow's timeout would have dropped it too
    assert set(bag.import_errors) == {"b_slow.yaml", "c_slow.yaml", "d_good.yaml"}  # not the loader file
    assert "error DSP066: building this spec's DAGs took more than 4 s" in bag.import_errors["b_slow.yaml"]
    assert "error DSP066: building this spec's DAGs took more than" in bag.import_errors["c_slow.yaml"]
    assert "error DSP066: not built: the dag folder's parse had" in bag.import_errors["d_good.yaml"]


def test_the_build_budget_leaves_airflows_own_import_timer_armed_with_its_handler():
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 50)
        with time_limit(5):
            pass
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 50
        handler = signal.getsignal(signal.SIGALRM)
        handler(signal.SIGALRM, None)
        assert fired == [signal.SIGALRM]  # the outer handler is back
        with pytest.raises(OverBudget):
            with time_limit(0.05):
                signal.pause() if hasattr(signal, "pause") else None
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # still armed after an overrun
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

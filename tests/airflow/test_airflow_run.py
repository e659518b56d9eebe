"""Real DAG runs with ``dag.test()``: branches, short-circuits, mapping, retries, saga, mapped groups.

Each DAG is parsed by Airflow's DagBag (through the loader, or built from a hand-made plan), synced
to the metadata DB as GUIDE §4 explains, then run in-process. Runs are few: ~5 s each.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from dagspec.dag_factory.airflow.build import build_dag
from dagspec.dag_factory.compile.plan import GUARD_SUFFIX, GroupArg, GroupPlan, ImportRef, ParamSpec, TaskOutput
from plan_kit import BASH, PYTHON, plan, task, write_loader

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

HAPPY = """\
description: branch, short-circuit, mapping and a retry in one run
start_date: 2024-01-01
params:
  cmds: {{type: array, default: ["echo a", "echo b"]}}
  go: "false"
tasks:
  check:
    bash: echo big
  route:
    branch:
      on: "{{{{ ti.xcom_pull(task_ids='check') }}}}"
      cases: {{big: [big]}}
      default: [small]
    depends_on: check
  big: {{bash: echo big}}
  small: {{bash: echo small}}
  gate:
    short_circuit: "{{{{ params.go }}}}"
  after_gate:
    bash: echo never
    depends_on: gate
  each:
    bash: {{}}
    expand: {{command: ["echo 1", "echo 2", "echo 3"]}}
  per_param:
    bash: {{}}
    expand: {{command: {{param: cmds}}}}
  flaky:
    bash: "test -f {marker} || {{ touch {marker}; exit 1; }}"
    retries: 1
    retry_delay: 0s
  undo_flaky:
    bash: echo undo
    compensates: flaky
  publish:
    bash: echo report
    outlets: ["dagspec://tests/report"]
  wait_report:
    wait_for_asset: {{uri: "dagspec://tests/report", mode: poke, poke_interval: 1s, timeout: 20s}}
    depends_on: publish
  wait_never:
    wait_for_asset: {{uri: "dagspec://tests/never", mode: poke, poke_interval: 1s, timeout: 2s}}
    args: {{soft_fail: true}}
"""

SAGA = """\
description: a failing step is compensated and the run still fails
start_date: 2024-01-01
tasks:
  create:
    bash: echo create
    setup: true
  charge:
    bash: "exit 1"
    depends_on: create
  refund:
    bash: echo refund
    compensates: charge
  delete:
    bash: echo delete
    teardown_of: create
    depends_on: charge
"""


def run(dag, folder: Path):
    """Sync the DAG to the metadata DB (under the dags-folder bundle) and run it with dag.test()."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from dagspec.dag_factory.airflow.compat import bundle_dagbag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = bundle_dagbag(folder, folder, collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    dr = dag.test()
    states: dict[str, list[str]] = {}
    for ti in sorted(dr.get_task_instances(), key=lambda t: (t.task_id, t.map_index)):
        states.setdefault(ti.task_id, []).append(str(ti.state))
    tries = {ti.task_id: ti.try_number for ti in dr.get_task_instances()}
    return str(dr.state), states, tries


def load(folder: Path, name: str, text: str):
    from dagspec.dag_factory.airflow.compat import bundle_dagbag

    write_loader(folder)
    (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
    bag = bundle_dagbag(folder, folder)
    assert bag.import_errors == {}
    return bag.dags[name]


def test_branch_short_circuit_mapping_and_retry(tmp_path: Path, airflow_db: Path):
    folder = tmp_path / "dags"
    dag = load(folder, "happy_run", HAPPY.format(marker=tmp_path / "flaky.marker"))
    state, states, tries = run(dag, folder)
    assert state == "success"
    assert states["big"] == ["success"] and states["small"] == ["skipped"]  # the branch
    assert states["gate"] == ["success"] and states["after_gate"] == ["skipped"]  # "false" short-circuits
    assert states["each"] == ["success"] * 3  # one task instance per item
    assert states["per_param"] == ["success"] * 2  # mapped over the param's list
    assert states["flaky"] == ["success"] and tries["flaky"] == 2  # failed once, retried
    assert states["undo_flaky"] == ["skipped"] and states["undo_flaky" + GUARD_SUFFIX] == ["skipped"]
    assert states["wait_report"] == ["success"]  # saw the asset event `publish` emitted in this run
    assert states["wait_never"] == ["skipped"]  # no event: timed out (soft fail)


def test_a_compensated_failure_still_fails_the_run(tmp_path: Path, airflow_db: Path):
    folder = tmp_path / "dags"
    dag = load(folder, "saga_run", SAGA)
    state, states, _ = run(dag, folder)
    assert state == "failed"
    assert states["charge"] == ["failed"]
    assert states["refund"] == ["success"]  # the compensation ran
    assert states["refund" + GUARD_SUFFIX] == ["failed"]  # and the guard keeps the run failed
    assert states["create"] == ["success"] and states["delete"] == ["success"]  # teardown ran anyway


def test_mapped_task_group_runs_once_per_item(tmp_path: Path, airflow_db: Path):
    out = tmp_path / "out"
    out.mkdir()
    p = plan(
        "mapped_group_run",
        task("items", PYTHON, args={"python_callable": ImportRef("dagspec.dag_factory.airflow.callables.param_items"),
                                    "op_kwargs": {"name": "names"}}),
        # expand_kwargs over an upstream output: one {name, check} mapping per item
        task("pairs", PYTHON, args={"python_callable": ImportRef("plan_kit.group_kwargs"),
                                    "op_args": [TaskOutput("items"), str(out)]}),
        task("per.write", BASH, group="per",
             args={"bash_command": "echo $NAME > " + str(out) + "/$NAME", "env": {"NAME": GroupArg("name")}}),
        task("per.check", BASH, group="per", args={"bash_command": GroupArg("check")}, upstream=("per.write",)),
        task("after", BASH, args={"bash_command": "echo done"}, upstream=("per.check",)),
        groups=(GroupPlan("per", expand_kwargs=TaskOutput("pairs")),),
        params={"names": ParamSpec(["x", "y"])},
    )
    folder = tmp_path / "dags"
    folder.mkdir()
    dag = build_dag(p, fileloc=str(folder / "dagspec_loader.py"))
    state, states, _ = run(dag, folder)
    assert state == "success"
    assert states["per.write"] == ["success", "success"] and states["per.check"] == ["success", "success"]
    assert sorted(f.name for f in out.iterdir()) == ["x", "y"]
    assert (out / "y").read_text().strip() == "y"

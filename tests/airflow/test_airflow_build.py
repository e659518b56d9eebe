"""The plan → Airflow builder on hand-made plans: ids, groups, mapping, setup/teardown, schedules, values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dagspec.dag_factory.airflow.build import BuildError, build_dag, import_object
from dagspec.dag_factory.airflow.compat import (
    AIRFLOW_V_3_PLUS,
    Asset,
    AssetAll,
    AssetAny,
    DagSerialization,
    MappedOperator,
    MappedTaskGroup,
    Param,
    XComArg,
)
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.compile.plan import (
    GUARD_SUFFIX,
    AssetCondition,
    AssetRef,
    CallbackRef,
    Duration,
    GroupArg,
    GroupPlan,
    ImportRef,
    ParamSpec,
    Schedule,
    TaskOutput,
)
from plan_kit import BASH, EMPTY, PYTHON, RecordingNotifier, plan, record_call, task


def roundtrip(dag):
    """Serialize and deserialize as the dag processor and scheduler do; returns the scheduler's DAG."""
    data = DagSerialization.to_dict(dag)
    return DagSerialization.from_dict(data)


def test_nested_groups_keep_the_plans_full_ids_and_dependencies():
    p = plan(
        "groups",
        task("start"),
        task("etl.extract", group="etl", upstream=("start",)),
        task("etl.load.copy", group="etl.load", upstream=("etl.extract",)),
        task("etl.load.check", group="etl.load", upstream=("etl.load.copy",)),
        task("end", upstream=("etl.load.check",)),
        groups=(GroupPlan("etl", tooltip="extract and load"), GroupPlan("etl.load", parent="etl")),
    )
    dag = build_dag(p)
    assert set(dag.task_dict) == {"start", "etl.extract", "etl.load.copy", "etl.load.check", "end"}
    assert dag.task_dict["etl.load.copy"].task_group.group_id == "etl.load"
    assert dag.task_group_dict["etl"].tooltip == "extract and load"
    assert dag.task_dict["end"].upstream_task_ids == {"etl.load.check"}
    assert dag.task_dict["etl.extract"].upstream_task_ids == {"start"}
    back = roundtrip(dag)
    assert back.task_dict["etl.load.check"].upstream_task_ids == {"etl.load.copy"}
    assert set(back.task_group_dict) >= {"etl", "etl.load"}


def test_tasks_are_created_in_data_order_whatever_the_plan_order():
    p = plan(
        "order",
        task("use", BASH, args={"bash_command": TaskOutput("make")}, upstream=("make",)),
        task("make", BASH, args={"bash_command": "echo hi", "do_xcom_push": True}),
    )
    dag = build_dag(p)
    assert dag.task_dict["use"].upstream_task_ids == {"make"}
    arg = dag.task_dict["use"].bash_command
    assert isinstance(arg, XComArg) and arg.operator is dag.task_dict["make"]


def test_expand_and_expand_kwargs_with_task_outputs_and_keys():
    p = plan(
        "mapping",
        task("items", PYTHON, args={"python_callable": ImportRef("builtins.list")}),
        task("each", BASH, expand={"bash_command": ["echo 1", "echo 2"]}, args={"retries": 0}),
        task("from_output", BASH, expand={"bash_command": TaskOutput("items")}, upstream=("items",)),
        task("kw", BASH, expand_kwargs=[{"bash_command": "echo a"}, {"bash_command": "echo b", "env": {"X": "1"}}]),
        task("kw_out", BASH, expand_kwargs=TaskOutput("items")),
        task("keyed", BASH, args={"bash_command": TaskOutput("items", key="path")}),
    )
    dag = build_dag(p)
    each = dag.task_dict["each"]
    assert isinstance(each, MappedOperator)
    assert each.expand_input.value == {"bash_command": ["echo 1", "echo 2"]}
    assert each.partial_kwargs["retries"] == 0
    from_output = dag.task_dict["from_output"]
    assert from_output.expand_input.value["bash_command"].operator is dag.task_dict["items"]
    assert dag.task_dict["kw"].expand_input.value[1] == {"bash_command": "echo b", "env": {"X": "1"}}
    assert dag.task_dict["kw_out"].upstream_task_ids == {"items"}  # implied by the XComArg
    keyed = dag.task_dict["keyed"].bash_command
    assert keyed.key == "path" and dag.task_dict["keyed"].upstream_task_ids == {"items"}
    back = roundtrip(dag)
    assert back.task_dict["from_output"].upstream_task_ids == {"items"}


def test_mapped_task_group_passes_group_arguments_to_its_tasks():
    p = plan(
        "mapped_group",
        task("src", PYTHON, args={"python_callable": ImportRef("builtins.list")}),
        task("per.run", BASH, group="per", args={"bash_command": GroupArg("cmd"), "env": {"N": GroupArg("n")}}),
        task("per.after", BASH, group="per", args={"bash_command": "echo done"}, upstream=("per.run",)),
        task("kw.run", BASH, group="kw", args={"bash_command": GroupArg("cmd")}),
        groups=(
            GroupPlan("per", expand={"cmd": TaskOutput("src"), "n": ["1", "2"]}),
            GroupPlan("kw", expand_kwargs=[{"cmd": "echo a"}, {"cmd": "echo b"}]),
        ),
    )
    dag = build_dag(p)
    per = dag.task_group_dict["per"]
    assert isinstance(per, MappedTaskGroup)
    run = dag.task_dict["per.run"]
    assert type(run.bash_command).__name__ == "MappedArgument"
    assert type(run.env["N"]).__name__ == "MappedArgument"
    # the group depends on the task its expansion reads, though its tasks were made after the group
    assert run.upstream_task_ids == {"src"}
    assert dag.task_dict["per.after"].upstream_task_ids == {"per.run"}
    assert isinstance(dag.task_group_dict["kw"], MappedTaskGroup)
    back = roundtrip(dag)
    assert back.task_dict["per.run"].upstream_task_ids == {"src"}


def test_group_arg_outside_a_mapped_group_is_a_located_error():
    p = plan("bad_group_arg", task("t", BASH, line=7, args={"bash_command": GroupArg("x")}))
    with pytest.raises(BuildError) as err:
        build_dag(p)
    assert "outside a mapped task group" in str(err.value)
    assert err.value.source.line == 7


def test_setup_and_teardown():
    p = plan(
        "setup_teardown",
        task("create", setup=True),
        task("work", upstream=("create",)),
        task("delete", teardown=True, teardown_of=("create",), upstream=("work",)),
    )
    dag = build_dag(p)
    create, delete = dag.task_dict["create"], dag.task_dict["delete"]
    assert create.is_setup and delete.is_teardown
    assert delete.trigger_rule == "all_done_setup_success"
    assert delete.upstream_task_ids == {"create", "work"}
    back = roundtrip(dag)
    assert back.task_dict["delete"].is_teardown and back.task_dict["create"].is_setup


def test_compensation_runs_on_failure_and_a_guard_keeps_the_run_failed(tmp_path):
    (tmp_path / "saga.yaml").write_text(
        "default_args: {retries: 3}\n"
        "tasks:\n"
        "  charge: {bash: echo charge}\n"
        "  pay:\n"
        "    tasks:\n"
        "      ship: {bash: echo ship, depends_on: charge}\n"
        "      refund: {bash: echo refund, compensates: [charge, ship], trigger_rule: all_done}\n")
    [p] = compile_paths([tmp_path / "saga.yaml"], root=tmp_path, env={}, check_imports=False).plans
    guard_plan = next(t for t in p.tasks if t.task_id == "pay.refund" + GUARD_SUFFIX)
    assert guard_plan.kind == "saga_guard" and guard_plan.upstream == ("pay.refund",)  # the plan shows it
    dag = build_dag(p)
    refund = dag.task_dict["pay.refund"]
    assert refund.trigger_rule == "one_failed"
    assert refund.upstream_task_ids == {"charge", "pay.ship"}
    guard = dag.task_dict["pay.refund" + GUARD_SUFFIX]
    assert guard.upstream_task_ids == {"pay.refund"}
    assert guard.trigger_rule == "all_success" and guard.retries == 0
    assert guard.task_group.group_id == "pay"
    back = roundtrip(dag)
    assert back.task_dict["pay.refund" + GUARD_SUFFIX].retries == 0


def test_schedules():
    cases = {
        Schedule("none"): None,
        Schedule("cron", "0 6 * * *"): "0 6 * * *",
        Schedule("preset", "@daily"): "@daily",
    }
    for schedule, expected in cases.items():
        dag = build_dag(plan("s", task("t"), schedule=schedule))
        assert schedule_of(dag) == expected
    every = build_dag(plan("every", task("t"), schedule=Schedule("every", Duration(5400))))
    assert schedule_of(every) == timedelta(hours=1, minutes=30)
    tt = build_dag(plan("tt", task("t"), schedule=Schedule("timetable", CallbackRef(
        "airflow.timetables.trigger.CronTriggerTimetable", {"cron": "0 3 * * *", "timezone": "UTC"}))))
    assert type(tt.timetable).__name__ == "CronTriggerTimetable"
    roundtrip(tt)
    with pytest.raises(BuildError, match="unknown schedule kind"):
        build_dag(plan("bad", task("t"), schedule=Schedule("sometimes")))


def schedule_of(dag):
    """The schedule the DAG was given (Airflow 2 calls it ``schedule_interval``)."""
    return dag.schedule if AIRFLOW_V_3_PLUS else dag.schedule_interval


@pytest.mark.skipif(not AIRFLOW_V_3_PLUS, reason="assets named without a URI exist from Airflow 3 on (2.x datasets)")
def test_asset_schedule_conditions_and_task_assets():
    condition = AssetCondition("any", (
        AssetRef(uri="s3://bucket/raw"),
        AssetCondition("all", (AssetRef(name="orders_clean"), AssetRef(uri="gs://b/c", name="customers"))),
    ))
    p = plan("assets", task("t", args={"outlets": [AssetRef(uri="gs://b/report")]}),
             schedule=Schedule("assets", condition))
    dag = build_dag(p)
    assert isinstance(dag.schedule, AssetAny)
    inner = dag.schedule.objects[1]
    assert isinstance(inner, AssetAll)
    assert inner.objects[1] == Asset(name="customers", uri="gs://b/c")
    assert dag.task_dict["t"].outlets == [Asset(uri="gs://b/report")]
    back = roundtrip(dag)
    assert back.timetable.asset_condition is not None
    single = build_dag(plan("one_asset", task("t"), schedule=Schedule("assets", AssetRef(name="orders"))))
    assert single.schedule == Asset(name="orders")


def test_callbacks_params_durations_and_dag_kwargs():
    notifier = CallbackRef("plan_kit.RecordingNotifier", {"message": "failed {{ dag.dag_id }}", "level": 2})
    p = plan(
        "kwargs",
        task("t", BASH, args={"bash_command": "echo", "execution_timeout": Duration(60),
                              "on_success_callback": [CallbackRef("plan_kit.record_call")]}),
        params={
            "limit": ParamSpec(10, {"type": "integer", "minimum": 1}, "rows to keep"),
            "mode": ParamSpec("full"),
        },
        dag_kwargs={
            "tags": ["example", "dagspec"],
            "description": "kwargs demo",
            "dagrun_timeout": Duration(3600),
            "on_failure_callback": [notifier],
            "default_args": {"retries": 2, "retry_delay": Duration(30), "owner": "data-eng"},
        },
        doc_md="**Spec:** `spec.yaml`",
    )
    dag = build_dag(p)
    assert set(dag.tags) == {"example", "dagspec"}
    assert dag.dagrun_timeout == timedelta(hours=1)
    assert dag.doc_md == "**Spec:** `spec.yaml`"
    cb = dag.on_failure_callback[0]
    assert isinstance(cb, RecordingNotifier) and cb.message == "failed {{ dag.dag_id }}" and cb.level == 2
    t = dag.task_dict["t"]
    assert t.on_success_callback == [record_call]
    assert t.execution_timeout == timedelta(seconds=60)
    assert t.retries == 2 and t.retry_delay == timedelta(seconds=30) and t.owner == "data-eng"
    limit = dag.params.get_param("limit")
    assert isinstance(limit, Param)
    assert limit.value == 10 and limit.description == "rows to keep" and limit.schema == {"type": "integer", "minimum": 1}
    back = roundtrip(dag)
    assert back.params.get_param("limit").schema["minimum"] == 1
    assert back.doc_md == dag.doc_md


def test_fileloc_and_import_cache():
    dag = build_dag(plan("where", task("t")), fileloc="/somewhere/dagspec_loader.py")
    assert dag.fileloc == "/somewhere/dagspec_loader.py"
    assert import_object(BASH) is import_object(BASH)
    assert import_object("datetime.datetime.now") is not None  # attribute of a class
    with pytest.raises(ImportError):
        import_object("airflow.sdk.NoSuchThing")


def test_airflow_rejections_become_build_errors_with_the_task_line():
    p = plan("bad_arg", task("ok"), task("t", BASH, line=12, args={"bash_command": "echo", "no_such_arg": 1}))
    with pytest.raises(BuildError) as err:
        build_dag(p)
    assert err.value.source.line == 12 and "no_such_arg" in str(err.value)
    p = plan("bad_group", task("g.t", EMPTY, group="missing"))
    with pytest.raises(BuildError, match="unknown task group"):
        build_dag(p)


def test_task_outputs_go_only_to_templated_fields():
    p = plan("untemplated", task("src"),
             task("t", BASH, line=9, args={"bash_command": "echo", "retries": TaskOutput("src")}))
    with pytest.raises(BuildError, match="`retries` of BashOperator is not a templated field") as err:
        build_dag(p)
    assert err.value.source.line == 9


def test_a_mapped_group_over_its_own_tasks_output_is_an_error():
    p = plan("self_map", task("g.t", PYTHON, group="g", args={"python_callable": ImportRef("builtins.list")}),
             groups=(GroupPlan("g", expand={"x": TaskOutput("g.t")}),))
    with pytest.raises(BuildError, match="a cycle through task outputs: task `g.t` -> group `g` -> task `g.t`"):
        build_dag(p)


def test_group_default_args_reach_the_tasks_inside_and_a_tasks_own_option_wins(tmp_path) -> None:
    from dagspec.dag_factory.compile.api import compile_paths

    spec = tmp_path / "grouped.yaml"
    spec.write_text(
        "start_date: 2024-01-01\n"
        "default_args: {retries: 1}\n"
        "tasks:\n"
        "  load:\n"
        "    default_args: {retries: 4, retry_delay: 2m}\n"
        "    tasks:\n"
        "      a: {empty: true}\n"
        "      b: {empty: true, retries: 0}\n"
        "      inner:\n"
        "        tasks:\n"
        "          c: {empty: true}\n"
        "  after: {empty: true, depends_on: load}\n")
    result = compile_paths([spec], root=tmp_path)
    assert not result.all_diagnostics, result.all_diagnostics
    dag = build_dag(result.plans[0])
    assert dag.get_task("load.a").retries == 4 and dag.get_task("load.a").retry_delay == timedelta(minutes=2)
    assert dag.get_task("load.b").retries == 0
    assert dag.get_task("load.inner.c").retries == 4  # nested groups inherit
    assert dag.get_task("after").retries == 1

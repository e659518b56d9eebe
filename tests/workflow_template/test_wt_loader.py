"""The spec loader's template hook: template files in the dag_folder, and ``workflow_template:`` includes."""

from __future__ import annotations

import shutil
from pathlib import Path

from dagspec.dag_factory.compile.api import compile_paths, expand_workflow_template
from dagspec.dag_factory.compile.plan import Duration
from dagspec.dag_factory.errors import has_errors
from dagspec.dag_factory.spec.load import SpecLoader
from wt_kit import GOOD

ETL = next(p for p in GOOD if p.stem == "etl_camel")


def _compile(folder: Path):
    return compile_paths(sorted(folder.rglob("*.yaml")), root=folder, check_imports=False)


def test_template_in_the_dag_folder_becomes_a_dag(tmp_path: Path) -> None:
    shutil.copy(ETL, tmp_path / "sales_etl.yaml")
    result = _compile(tmp_path)
    assert not has_errors(result.all_diagnostics), [d.render() for d in result.all_diagnostics]
    (plan,) = result.plans
    assert plan.dag_id == "sales_etl"  # named after the file, like every spec
    tasks = {t.task_id: t for t in plan.tasks}
    assert set(tasks) == {"clean", "totals", "publish", "create_cluster_etl", "delete_cluster_etl"}
    assert set(tasks["publish"].upstream) == {"clean", "totals", "create_cluster_etl"}
    assert tasks["create_cluster_etl"].setup and tasks["delete_cluster_etl"].teardown
    assert tasks["create_cluster_etl"].args["idle_delete_ttl"] == 900
    assert tasks["clean"].args["job"]["pyspark_job"]["args"][0] == "{{ params.INPUT }}"
    assert plan.params["INPUT"].schema == {"type": "string", "pattern": "^(?:gs://.*/)$"}
    assert plan.dag_kwargs["dagrun_timeout"] == Duration(1800)
    assert plan.source.file.endswith("sales_etl.yaml")


def test_spec_problems_in_a_template_point_into_the_template(tmp_path: Path) -> None:
    (tmp_path / "typed.yaml").write_text(
        "placement:\n"
        "  managedCluster: {clusterName: etl, config: {}}\n"
        "jobs:\n"
        "  - stepId: load\n"
        "    hiveJob:\n"
        "      queryFileUri: gs://b/q.hql\n"
        "      continueOnFailure: maybe\n"
    )
    result = _compile(tmp_path)
    assert result.plans == []
    (diag,) = [d for d in result.all_diagnostics if d.severity == "error"]
    assert (diag.code, diag.line, diag.column) == ("DSP011", 7, 26)
    assert diag.file.endswith("typed.yaml") and "continueOnFailure: maybe" in diag.snippet


def test_broken_template_in_the_folder_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    shutil.copy(ETL, tmp_path / "good.yaml")
    (tmp_path / "broken.yaml").write_text(
        "placement: {managedCluster: {clusterName: etl, config: {}}}\n"
        "jobs:\n"
        "  - stepId: one\n"
        "    pysparkJob: {mainPythonFileUri: gs://b/a.py}\n"
        "    prerequisiteStepIds: [two]\n"
        "  - stepId: two\n"
        "    pysparkJob: {mainPythonFileUri: gs://b/b.py}\n"
        "    prerequisiteStepIds: [one]\n"
    )
    result = _compile(tmp_path)
    assert [p.dag_id for p in result.plans] == ["good"]
    (diag,) = [d for diags in result.diagnostics.values() for d in diags]
    assert (diag.code, diag.line) == ("DSP083", 5) and diag.file.endswith("broken.yaml")
    assert "one -> two -> one" in diag.message


INCLUDING = """\
workflow_template: _etl.wft.yaml
dataproc: {poll_interval: 1}
params:
  ZONE: {default: europe-west1-c}
clusters:
  etl:
    config:
      master_config: {num_instances: 3}
tasks:
  notify:
    bash: echo done
    depends_on: [publish]
"""


def test_workflow_template_key_includes_the_steps(tmp_path: Path) -> None:
    shutil.copy(ETL, tmp_path / "_etl.wft.yaml")
    (tmp_path / "sales.yaml").write_text(INCLUDING)
    result = _compile(tmp_path)
    assert not has_errors(result.all_diagnostics), [d.render() for d in result.all_diagnostics]
    (plan,) = result.plans
    tasks = {t.task_id: t for t in plan.tasks}
    assert {"clean", "totals", "publish", "notify", "create_cluster_etl"} <= set(tasks)
    assert tasks["notify"].upstream == ("publish",)
    config = tasks["create_cluster_etl"].args["cluster_config"]
    assert config["master_config"] == {"num_instances": 3, "machine_type_uri": "n2-standard-4"}  # merged, spec wins
    assert plan.params["ZONE"].default == "europe-west1-c"
    assert plan.params["ZONE"].schema["enum"] == ["europe-west1-b", "europe-west1-c"]
    assert tasks["clean"].args["poll_interval"] == 1
    # the template is an input of the spec: changing it invalidates the plan cache
    loaded, _ = SpecLoader(tmp_path, expand=expand_workflow_template).load(tmp_path / "sales.yaml")
    assert str(tmp_path / "_etl.wft.yaml") in loaded[0].input_files


def test_workflow_template_key_errors(tmp_path: Path) -> None:
    (tmp_path / "missing.yaml").write_text("dag_id: missing\nworkflow_template: nope.yaml\n")
    (tmp_path / "_plain.yaml").write_text("tasks: {a: {empty: true}}\n")
    (tmp_path / "notatemplate.yaml").write_text("workflow_template: _plain.yaml\n")
    (tmp_path / "_cycle.yaml").write_text(
        "placement: {managedCluster: {clusterName: etl, config: {}}}\n"
        "jobs:\n"
        "  - {stepId: loop, pysparkJob: {mainPythonFileUri: gs://b/a.py}, prerequisiteStepIds: [loop]}\n")
    (tmp_path / "badinclude.yaml").write_text("workflow_template: _cycle.yaml\n")
    result = _compile(tmp_path)
    assert result.plans == []
    found = sorted((Path(d.file).name, d.code, d.line) for diags in result.diagnostics.values() for d in diags)
    assert found == [("_cycle.yaml", "DSP083", 3), ("missing.yaml", "DSP080", 2), ("notatemplate.yaml", "DSP080", 1)]


def test_the_template_package_imports_neither_airflow_nor_google() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from dagspec.dag_factory.compile.api import compile_paths\n"
        f"r = compile_paths([Path({str(ETL)!r})], root=Path({str(ETL.parent)!r}), check_imports=False)\n"
        "assert r.plans, r.all_diagnostics\n"
        "import dagspec.dag_factory.workflow_template.cli, dagspec.dag_factory.workflow_template.export\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'google', 'grpc'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""An imported template runs through Airflow (dag.test) on the emulator with the same job graph as the
native instantiation of the template exported from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.workflow_template import export_plan
from dagspec.dag_factory.workflow_template.cli import dump_yaml
from dagspec.provider.hooks.workflow import WorkflowHook, workflow_progress
from dagspec.provider.naming import job_id
from dagspec.provider.operators.workflow import DataprocInstantiateWorkflowTemplateOperator
from task_kit import context_for
from wt_kit import seed_bucket

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(300)]

BUCKET = "dagspec-wft-dag"
ROOT = Path(__file__).resolve().parents[2]
A, B, C, D = STEPS = ("step-a", "step-b", "step-c", "step-d")  # Dataproc step ids: 3-50 characters


def _diamond() -> dict[str, Any]:
    light = f"gs://{BUCKET}/light.py"

    def step(sid: str, *after: str) -> dict[str, Any]:
        out: dict[str, Any] = {"stepId": sid, "pysparkJob": {"mainPythonFileUri": light, "args": ["VALUE", sid]}}
        if after:
            out["prerequisiteStepIds"] = list(after)
        return out

    return {
        "id": "diamond",
        "labels": {"team": "wft"},
        "placement": {"managedCluster": {"clusterName": "dia", "config": {"softwareConfig": {"imageVersion": "2.2"}}}},
        "jobs": [step(A), step(B, A), step(C, A), step(D, B, C)],
        "parameters": [{"name": "VALUE", "fields": [f"jobs['{s}'].pysparkJob.args[0]" for s in STEPS],
                        "validation": {"regex": {"regexes": ["[a-z]+"]}}}],
        "dagTimeout": "600s",
    }


def _times(job: Any) -> tuple[float, float]:
    """(when the job started RUNNING, when it ended) on the emulator's clock."""
    history = [*job.status_history, job.status]
    start = next(s.state_start_time.timestamp() for s in history if s.state.name == "RUNNING")
    return start, job.status.state_start_time.timestamp()


def test_imported_template_runs_in_airflow_like_the_native_workflow(tmp_path: Path, emu: Any, run_dag: Any) -> None:
    hook = WorkflowHook()
    seed_bucket(hook, BUCKET)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dagspec_loader.py").write_text((ROOT / "dags" / "dagspec_loader.py").read_text())
    (folder / "_defaults.yaml").write_text("dataproc: {poll_interval: 0.2, deferrable: false}\n")
    (folder / "diamond.yaml").write_text(dump_yaml(_diamond()))  # the template itself, in the dag_folder

    dag_run = run_dag(folder, "diamond", VALUE="delta")
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "success", states
    airflow_jobs = {s: hook.get_job(job_id("diamond", dag_run.run_id, s)) for s in STEPS}
    assert {s: list(j.pyspark_job.args) for s, j in airflow_jobs.items()} == {s: ["delta", s] for s in STEPS}
    times = {s: _times(j) for s, j in airflow_jobs.items()}
    prereqs = {A: [], B: [A], C: [A], D: [B, C]}
    for step, before in prereqs.items():
        assert all(times[step][0] >= times[p][1] for p in before), (step, times)

    # the native path: the template exported from the same spec, instantiated as one task
    (plan,) = compile_paths([folder / "diamond.yaml"], root=folder, check_imports=False).plans
    airflow_graph = {t.task_id: sorted(u for u in t.upstream if u in prereqs) for t in plan.tasks if t.task_id in prereqs}
    assert airflow_graph == prereqs
    exported = export_plan(plan)
    assert exported.template is not None
    op = DataprocInstantiateWorkflowTemplateOperator(task_id="native", template=exported.template,
                                                     parameters={"VALUE": "delta"}, deferrable=False, poll_interval=0.1)
    result = op.execute(context_for("diamond_native", "n1", "native"))
    progress = workflow_progress(hook.get_operation(result["operation"]))
    native_graph = {s: sorted(f["prerequisites"]) for s, f in progress["steps"].items()}
    assert native_graph == airflow_graph
    native_args = {s: list(hook.get_job(j).pyspark_job.args) for s, j in result["jobs"].items()}
    assert native_args == {s: list(j.pyspark_job.args) for s, j in airflow_jobs.items()}
    # the template's labels reach every Airflow job, and are template labels again after export
    # (the emulator does not propagate template labels to workflow jobs, so they are not compared there)
    assert {dict(j.labels)["team"] for j in airflow_jobs.values()} == {"wft"}
    assert exported.template["labels"] == {"team": "wft"}
    hook.close()

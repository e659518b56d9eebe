"""Every example in dags/ and every template in templates/ loads through Airflow's DagBag with zero
import errors, and every DAG survives the serialization the dag processor and scheduler use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "hello", "orchestration_patterns", "regional_report_eu", "regional_report_us", "regional_report_apac",
    "workflow_of_workflows", "asset_consumer", "sales_pipeline", "workflow_template_report",
}


@pytest.fixture(scope="module")
def example_bag():
    from dagspec.dag_factory.airflow.compat import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"), safe_mode=True)


def test_examples_load_with_zero_import_errors(example_bag) -> None:
    assert example_bag.import_errors == {}
    assert set(example_bag.dags) == EXPECTED


def test_examples_round_trip_through_serialization(example_bag) -> None:
    from dagspec.dag_factory.airflow.compat import DagSerialization

    for dag_id, dag in example_bag.dags.items():
        restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
        assert set(restored.task_dict) == set(dag.task_dict), dag_id
        for task_id, task in dag.task_dict.items():
            assert restored.task_dict[task_id].upstream_task_ids == task.upstream_task_ids, (dag_id, task_id)


def test_flagship_wraps_its_jobs_in_cluster_setup_and_teardown(example_bag) -> None:
    dag = example_bag.dags["sales_pipeline"]
    create, delete = dag.task_dict["create_cluster_etl"], dag.task_dict["delete_cluster_etl"]
    assert create.is_setup and delete.is_teardown
    jobs = {"clean", "revenue_by_region", "top_products"}
    assert jobs <= delete.upstream_task_ids
    for job in jobs:
        assert "create_cluster_etl" in dag.task_dict[job].get_flat_relative_ids(upstream=True)
    assert dag.task_dict["check_results"].upstream_task_ids == {"revenue_by_region", "top_products"}


def _uses(text: str, name: str) -> bool:
    return f"extends: {name}" in text


def test_every_template_and_cluster_profile_is_used_by_an_example_or_compiles(tmp_path: Path) -> None:
    """Templates that no example extends are compiled through a one-line spec that extends them."""
    from dagspec.dag_factory.compile.api import compile_paths

    specs = "\n".join(p.read_text() for p in (ROOT / "dags").rglob("*.yaml"))
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    made = []
    for template in sorted((ROOT / "templates").glob("*.yaml")):
        if not _uses(specs, template.stem):
            (dags / f"uses_{template.stem}.yaml").write_text(
                f"extends: {template.stem}\nvars: {{region: test}}\ntasks: {{extra: {{bash: echo}}}}\n")
            made.append(template.stem)
    for profile in sorted((ROOT / "templates" / "clusters").glob("*.yaml")):
        (dags / f"profile_{profile.stem.replace('-', '_')}.yaml").write_text(
            f"clusters: {{c: {{extends: {profile.stem}}}}}\ntasks: {{job: {{pyspark: gs://b/job.py}}}}\n")
    result = compile_paths(sorted(dags.glob("*.yaml")), root=dags, env={})
    assert result.all_diagnostics == []
    profiles = [p for p in result.plans if p.dag_id.startswith("profile_")]
    assert len(profiles) == 3
    for plan in profiles:
        create = next(t for t in plan.tasks if t.kind == "cluster_create")
        assert create.args["cluster_config"]["master_config"]["num_instances"] == 1

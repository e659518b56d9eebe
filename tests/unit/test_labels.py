"""Cluster and job labels Dataproc would refuse are reported by validate (DSP047), where they are written: a
warning naming what the operators send instead, an error when the rewrite merges two labels or there are too many."""

from __future__ import annotations

from pathlib import Path

from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.errors import Diagnostic
from dagspec.provider.dataproc_rules import MAX_LABELS, label_problems
from dagspec.provider.naming import job_labels, ownership_labels


def _diagnostics(folder: Path, text: str, env: dict[str, str] | None = None) -> list[Diagnostic]:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "labelled.yaml"
    spec.write_text(text)
    return compile_paths([spec], root=folder, env=env or {}, check_imports=False).all_diagnostics


def _at(diags: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return sorted((d.code, d.line, d.column) for d in diags)


def test_a_rewritten_value_is_warned_at_the_value_and_a_rewritten_key_at_the_key(tmp_path: Path) -> None:
    diags = _diagnostics(tmp_path, (
        "clusters:\n"
        "  etl:\n"
        "    labels:\n"
        "      Owner: Ana\n"            # 4: the key is wrong (col 7)
        "      team: Data\n"            # 5: the value is wrong (col 13)
        "tasks:\n"
        "  job:\n"
        "    cluster: etl\n"
        "    pyspark: {main: gs://b/a.py, labels: {env: Prod}}\n"  # 9: the value (col 48)
        "  batch:\n"
        "    serverless: {}\n"
        "    pyspark: {main: gs://b/a.py, labels: {Env: prod}}\n"))  # 12: the key (col 43)
    assert _at(diags) == [("DSP047", 4, 7), ("DSP047", 5, 13), ("DSP047", 9, 48), ("DSP047", 12, 43)]
    owner = next(d for d in diags if d.line == 4)
    assert "cluster `etl`" in owner.message and "`Owner`" in owner.message
    assert "sends it to Dataproc as `owner: ana`" in owner.message  # what the operators send (naming.label_key)
    assert "`owner: ana`" in owner.hint and "lower-case" in owner.hint  # how to write it
    assert "task `job`" in next(d for d in diags if d.line == 9).message
    assert all(d.severity == "warning" for d in diags)  # the spec still runs: the operators rewrite these


def test_two_labels_the_rewrite_merges_into_one_key_are_an_error(tmp_path: Path) -> None:
    diags = _diagnostics(tmp_path, (
        "clusters:\n"
        "  etl:\n"
        "    labels:\n"
        "      owner: ana\n"
        "      Owner: bob\n"   # 5: sent as `owner` too
        "tasks:\n"
        "  job: {cluster: etl, pyspark: gs://b/a.py}\n"))
    (error,) = [d for d in diags if d.severity == "error"]
    assert (error.code, error.line, error.column) == ("DSP047", 5, 7)
    assert "`owner` and `Owner` are both sent as `owner`" in error.message


def test_labels_dataproc_accepts_and_labels_written_with_jinja_pass(tmp_path: Path) -> None:
    diags = _diagnostics(tmp_path, (
        "clusters:\n"
        "  etl: {labels: {team: data, équipe: données, cost_center: '', k-1: v_2}}\n"
        "tasks:\n"
        "  job:\n"
        "    cluster: etl\n"
        "    pyspark: {main: gs://b/a.py, labels: {run: '{{ ds_nodash }}', '{{ params.key }}': x}}\n"))
    assert diags == []


def test_the_32_label_limit_counts_the_labels_dagspec_adds(tmp_path: Path) -> None:
    cluster_room = MAX_LABELS - len(ownership_labels("d", "r", "c", "t"))
    job_room = MAX_LABELS - len(job_labels("d", "r", "t"))

    def spec(cluster_labels: int, job_labels_: int) -> str:
        own = ", ".join(f"c{i}: v" for i in range(cluster_labels))
        job = ", ".join(f"j{i}: v" for i in range(job_labels_))
        return (f"clusters:\n  etl:\n    labels: {{{own}}}\ntasks:\n  job:\n    cluster: etl\n"
                f"    pyspark:\n      main: gs://b/a.py\n      labels: {{{job}}}\n")

    assert _diagnostics(tmp_path / "fits", spec(cluster_room, job_room)) == []
    diags = _diagnostics(tmp_path / "over", spec(cluster_room + 1, job_room + 1))
    assert _at(diags) == [("DSP047", 3, 5), ("DSP047", 9, 7)]  # at each `labels:`
    assert all(d.severity == "error" for d in diags)  # Dataproc refuses the resource
    assert f"keep at most {cluster_room} labels" in diags[0].hint
    assert "dagspec-run" in diags[0].message


def test_a_label_from_a_cluster_profile_is_reported_at_the_cluster_that_extends_it(tmp_path: Path) -> None:
    # a profile's values carry no positions inside the spec's source map (as for DSP067 in a profile's config)
    profiles = tmp_path / "templates" / "clusters"
    profiles.mkdir(parents=True)
    (profiles / "tagged.yaml").write_text("config: {}\nlabels:\n  Profile: tagged\n")
    diags = _diagnostics(tmp_path / "dags", "clusters:\n  etl: {extends: tagged}\ntasks:\n"
                         "  job: {pyspark: gs://b/a.py, cluster: etl}\n",
                         env={"DAGSPEC_TEMPLATES_PATH": str(tmp_path / "templates")})
    (d,) = diags
    assert (d.code, d.line) == ("DSP047", 2) and d.file.endswith("labelled.yaml") and "`Profile`" in d.message


def test_what_validate_accepts_the_emulator_accepts() -> None:
    # the same rules: validate reuses provider/dataproc_rules.py, which the emulator enforces (tests/fidelity)
    assert label_problems({"team": "data", **ownership_labels("Sales ETL", "manual__x", "etl", "create")}) == []
    assert label_problems({"Owner": "Ana"}) != []

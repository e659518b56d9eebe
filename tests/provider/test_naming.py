"""Property tests of the deterministic names: Dataproc's limits hold for any input, and names are stable."""

from __future__ import annotations

import re

from dagspec.provider import naming
from hypothesis import given, settings
from hypothesis import strategies as st

CLUSTER = re.compile(r"^[a-z][-a-z0-9]*[a-z0-9]$")
JOB = re.compile(r"^[A-Za-z0-9_-]+$")
BATCH = re.compile(r"^[a-z][a-z0-9-]{2,61}[a-z0-9]$")
REQUEST = re.compile(r"^[A-Za-z0-9_-]+$")
LABEL = re.compile(r"^[a-z0-9_-]*$")

text = st.text(min_size=0, max_size=300)
ids = st.text(min_size=1, max_size=250)
index = st.one_of(st.none(), st.integers(min_value=-1, max_value=10**6))


@settings(max_examples=400)
@given(ids, ids, text)
def test_cluster_name_limits(dag_id: str, run_id: str, key: str) -> None:
    name = naming.cluster_name(dag_id, run_id, key)
    assert len(name) <= naming.CLUSTER_NAME_MAX
    assert CLUSTER.match(name), name
    assert name == naming.cluster_name(dag_id, run_id, key)


@settings(max_examples=400)
@given(ids, ids, ids, index, st.integers(min_value=1, max_value=9999))
def test_job_id_limits(dag_id: str, run_id: str, task_id: str, map_index: int | None, attempt: int) -> None:
    base = naming.job_id(dag_id, run_id, task_id, map_index)
    attempt_id = naming.job_attempt_id(base, attempt)
    assert len(attempt_id) <= naming.JOB_ID_MAX
    assert JOB.match(attempt_id), attempt_id
    assert base == naming.job_id(dag_id, run_id, task_id, map_index)


@settings(max_examples=300)
@given(ids, ids, ids, index, st.integers(min_value=1, max_value=9999))
def test_batch_id_limits(dag_id: str, run_id: str, key: str, map_index: int | None, attempt: int) -> None:
    batch = naming.batch_attempt_id(naming.batch_id(dag_id, run_id, key, map_index), attempt)
    assert len(batch) <= naming.BATCH_ID_MAX
    assert BATCH.match(batch), batch


@settings(max_examples=300)
@given(st.text(max_size=40), st.lists(st.one_of(text, st.integers(), st.none()), max_size=6))
def test_request_id_limits(operation: str, parts: list) -> None:
    rid = naming.request_id(operation, *parts)
    assert len(rid) <= naming.REQUEST_ID_MAX
    assert REQUEST.match(rid)


@settings(max_examples=300)
@given(text)
def test_labels(value: str) -> None:
    assert LABEL.match(naming.label_value(value)) and len(naming.label_value(value)) <= naming.LABEL_MAX
    key = naming.label_key(value or "x")
    assert key and key[0].isalpha() and LABEL.match(key) and len(key) <= naming.LABEL_MAX


def test_names_separate_runs_tasks_and_map_indexes() -> None:
    a = naming.cluster_name("etl", "manual__2026-01-01T00:00:00+00:00", "main")
    b = naming.cluster_name("etl", "manual__2026-01-02T00:00:00+00:00", "main")
    assert a != b and a.startswith("ds-etl-main-")
    jobs = {naming.job_id("etl", "r1", "clean", i) for i in (None, 0, 1, 2)}
    assert len(jobs) == 4
    assert naming.job_id("etl", "r1", "clean") != naming.job_id("etl", "r1", "load")
    assert naming.job_id("etl", "r1", "clean") == naming.job_id("etl", "r1", "clean", -1)


def test_attempts_and_request_ids_differ() -> None:
    base = naming.job_id("etl", "r1", "group.clean", 3)
    assert naming.job_attempt_id(base, 1) == base
    assert naming.job_attempt_id(base, 2) == f"{base}-r2"
    assert base.startswith("group-clean-m3_")
    assert naming.request_id("create", "d", "r", "k", 1, 0) != naming.request_id("create", "d", "r", "k", 1, 1)


def test_ownership_labels_survive_long_run_ids() -> None:
    run_id = "scheduled__" + "x" * 200
    labels = naming.ownership_labels("My.DAG", run_id, "Main", "create_cluster_main")
    assert labels["dagspec-dag"] == "my-dag"
    assert len(labels["dagspec-run"]) <= 63
    assert naming.owned_by({**labels, "team": "a"}, labels)
    assert naming.owned_by(labels, {**labels, "dagspec-task": "other"})  # task is informative only
    other = naming.ownership_labels("My.DAG", run_id + "y", "Main")
    assert not naming.owned_by(labels, other)

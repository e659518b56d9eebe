"""The one reader of workflow-template parameter field paths, as the operator, the emulator and the importer use it."""

from __future__ import annotations

import pytest
from dagspec.provider.fieldpath import FieldPathError, format_path, resolve_path, set_field

CAMEL = {"jobs": [{"stepId": "clean", "pysparkJob": {"args": ["a", "b"], "properties": {"spark.x": "1"}}}],
         "placement": {"managedCluster": {"clusterName": "c"}}}
SNAKE = {"jobs": [{"step_id": "clean", "pyspark_job": {"args": ["a", "b"], "properties": {"spark.x": "1"}}}],
         "placement": {"managed_cluster": {"cluster_name": "c"}}}


def test_a_value_is_written_through_a_step_id_an_index_and_a_map_key() -> None:
    data = {"jobs": [dict(CAMEL["jobs"][0], pysparkJob={"args": ["a", "b"], "properties": {"spark.x": "1"}})]}
    set_field(data, "jobs['clean'].pysparkJob.args[1]", "B")
    set_field(data, "jobs['clean'].pysparkJob.properties['spark.x']", "2")
    assert data["jobs"][0]["pysparkJob"] == {"args": ["a", "B"], "properties": {"spark.x": "2"}}


def test_snake_case_names_reach_camel_case_templates_and_a_missing_last_field_is_created() -> None:
    data = {"placement": {"managedCluster": {"clusterName": "c"}}}
    set_field(data, "placement.managed_cluster.cluster_name", "d")
    set_field(data, "placement.managedCluster.zone", "z")
    assert data["placement"]["managedCluster"] == {"clusterName": "d", "zone": "z"}


@pytest.mark.parametrize(("path", "message"), [
    ("jobs['nope'].pysparkJob.args[0]", "there is no step `nope`"),
    ("jobs['clean'].pysparkJob.args[5]", "index 5 is out of range"),
    ("jobs['clean'].sparkJob.args[0]", "names nothing in the template"),
    ("jobs..x", "where a field name belongs"),
    ("jobs['clean'].pysparkJob", "names a mapping, not a value"),
])
def test_a_path_that_names_nothing_is_a_field_path_error_saying_why(path: str, message: str) -> None:
    with pytest.raises(FieldPathError, match=message.replace("[", r"\[")):
        set_field({"jobs": [dict(CAMEL["jobs"][0])]}, path, "x")


def test_resolving_and_formatting_round_trip_in_dataprocs_syntax() -> None:
    path = resolve_path("jobs['clean'].pyspark_job.properties['spark.x']", SNAKE)
    assert path == ("jobs", 0, "pyspark_job", "properties", "spark.x")
    assert format_path(path, SNAKE) == "jobs['clean'].pysparkJob.properties['spark.x']"

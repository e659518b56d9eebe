"""A request naming something that does not exist is NOT_FOUND, as on Dataproc (not FAILED_PRECONDITION)."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d

from .kit import PROJECT, REGION, cluster, unique


def test_delete_with_another_clusters_uuid_is_not_found_and_keeps_the_cluster(emu, emulator_clients, fast_polling):
    # DeleteClusterRequest.cluster_uuid (google-cloud-dataproc types/clusters.py): "Specifying the cluster_uuid
    # means the RPC should fail (with error NOT_FOUND) if cluster with specified UUID does not exist."
    # REST: https://cloud.google.com/dataproc/docs/reference/rest/v1/projects.regions.clusters/delete
    made = cluster(emulator_clients, fast_polling)
    with pytest.raises(gexc.NotFound):
        emulator_clients.clusters.delete_cluster(request={
            "project_id": PROJECT, "region": REGION, "cluster_name": made.cluster_name,
            "cluster_uuid": "00000000-0000-0000-0000-000000000000"})
    kept = emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=made.cluster_name)
    assert kept.status.state == d.ClusterStatus.State.RUNNING
    emulator_clients.clusters.delete_cluster(request={
        "project_id": PROJECT, "region": REGION, "cluster_name": made.cluster_name,
        "cluster_uuid": made.cluster_uuid}).result(polling=fast_polling)


def test_submitting_to_a_missing_cluster_is_not_found(emu, emulator_clients):
    # JobPlacement.cluster_name "Required. The name of the cluster where the job will be submitted"; a name that
    # does not exist is "Not found: Cluster projects/P/regions/R/clusters/NAME" (google.rpc.Code NOT_FOUND:
    # "Some requested entity ... was not found"; FAILED_PRECONDITION is for an entity in the wrong state).
    with pytest.raises(gexc.NotFound, match="Cluster"):
        emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION, "job": {
            "placement": {"cluster_name": unique("absent")},
            "pyspark_job": {"main_python_file_uri": "gs://bucket/job.py"}}})

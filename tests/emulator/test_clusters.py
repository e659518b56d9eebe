"""Cluster lifecycle through the real google-cloud-dataproc client against the emulator."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d
from google.protobuf import duration_pb2, timestamp_pb2

PROJECT, REGION = "local-project", "us-central1"


def _name(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _create(clients, name: str, polling, **cluster):
    op = clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name, **cluster}})
    return op, op.result(polling=polling)


def _delete(clients, name: str, polling, **extra) -> None:
    clients.clusters.delete_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": name, **extra}).result(polling=polling)


def test_lifecycle_and_state_history(emu, emulator_clients, fast_polling):
    name = _name()
    op = emulator_clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}})
    assert op.metadata.operation_type == "CREATE"
    cluster = op.result(polling=fast_polling)
    assert cluster.status.state == d.ClusterStatus.State.RUNNING
    assert [s.state for s in cluster.status_history] == [d.ClusterStatus.State.CREATING]
    assert cluster.cluster_uuid and cluster.config.config_bucket
    assert cluster.labels["goog-dataproc-cluster-name"] == name
    # the staging bucket exists in the GCS emulator
    assert emulator_clients.storage.lookup_bucket(cluster.config.config_bucket) is not None

    got = emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=name)
    assert got.cluster_uuid == cluster.cluster_uuid
    _delete(emulator_clients, name, fast_polling)
    with pytest.raises(gexc.NotFound):
        emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=name)
    assert emu.stats.clusters_created[name] == 1 and emu.stats.clusters_deleted[name] == 1


def test_invalid_names_and_duplicates(emu, emulator_clients, fast_polling):
    for bad in ("Upper", "ends-", "a" * 52, "9starts-with-digit"):
        with pytest.raises(gexc.InvalidArgument):
            emulator_clients.clusters.create_cluster(
                request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": bad}})
    name = _name()
    _create(emulator_clients, name, fast_polling)
    with pytest.raises(gexc.AlreadyExists):
        emulator_clients.clusters.create_cluster(
            request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}})
    _delete(emulator_clients, name, fast_polling)


def test_list_filter_by_state_and_labels(emu, emulator_clients, fast_polling):
    team = uuid.uuid4().hex[:6]
    a, b = _name("fa"), _name("fb")
    _create(emulator_clients, a, fast_polling, labels={"team": team, "env": "dev"})
    _create(emulator_clients, b, fast_polling, labels={"team": team, "env": "prod"})

    def names(flt: str) -> set[str]:
        return {c.cluster_name for c in emulator_clients.clusters.list_clusters(
            request={"project_id": PROJECT, "region": REGION, "filter": flt})}

    assert names(f"labels.team = {team}") == {a, b}
    assert names(f"status.state = ACTIVE AND labels.team = {team} AND labels.env = prod") == {b}
    assert names(f'clusterName = "{a}"') == {a}
    assert names(f"status.state = INACTIVE AND labels.team = {team}") == set()
    with pytest.raises(gexc.InvalidArgument):
        names("color = blue")
    _delete(emulator_clients, a, fast_polling)
    _delete(emulator_clients, b, fast_polling)


def test_delete_checks_cluster_uuid(emu, emulator_clients, fast_polling):
    # DeleteClusterRequest.cluster_uuid: "fail (with error NOT_FOUND) if cluster with specified UUID does not exist"
    name = _name()
    _, cluster = _create(emulator_clients, name, fast_polling)
    with pytest.raises(gexc.NotFound):
        emulator_clients.clusters.delete_cluster(
            request={"project_id": PROJECT, "region": REGION, "cluster_name": name, "cluster_uuid": "not-it"})
    assert emulator_clients.clusters.get_cluster(
        project_id=PROJECT, region=REGION, cluster_name=name).status.state == d.ClusterStatus.State.RUNNING
    _delete(emulator_clients, name, fast_polling, cluster_uuid=cluster.cluster_uuid)


def test_request_id_replay_returns_same_operation(emu, emulator_clients, fast_polling):
    name = _name()
    request = {"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}, "request_id": "rq-" + name}
    first = emulator_clients.clusters.create_cluster(request=request)
    second = emulator_clients.clusters.create_cluster(request=request)
    assert first.operation.name == second.operation.name
    first.result(polling=fast_polling)
    assert emu.stats.clusters_created[name] == 1
    _delete(emulator_clients, name, fast_polling)


def test_unavailable_is_retried_and_work_happens_once(emu, emulator_clients, fast_polling):
    name = _name()
    # the reply is lost twice after the cluster was created: only the request id saves the day
    emu.faults.fail_method("CreateCluster", grpc.StatusCode.UNAVAILABLE, times=2, after=True)
    op = emulator_clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}, "request_id": "ra-" + name})
    op.result(polling=fast_polling)
    assert emu.stats.calls["CreateCluster"] == 3
    assert emu.stats.clusters_created[name] == 1
    _delete(emulator_clients, name, fast_polling)


def test_injected_cluster_error(emu, emulator_clients, fast_polling):
    name = _name()
    emu.faults.cluster_error(cluster_name=name, detail="no quota today")
    op = emulator_clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}})
    with pytest.raises(gexc.GoogleAPICallError, match="no quota today"):
        op.result(polling=fast_polling)
    cluster = emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=name)
    assert cluster.status.state == d.ClusterStatus.State.ERROR
    assert cluster.status.detail == "no quota today"
    _delete(emulator_clients, name, fast_polling)


def test_update_stop_start_diagnose(emu, emulator_clients, fast_polling):
    name = _name()
    _create(emulator_clients, name, fast_polling)
    updated = emulator_clients.clusters.update_cluster(request={
        "project_id": PROJECT, "region": REGION, "cluster_name": name,
        "cluster": {"labels": {"tier": "gold"}, "config": {"worker_config": {"num_instances": 5}}},
        "update_mask": {"paths": ["labels", "config.worker_config.num_instances"]},
    }).result(polling=fast_polling)
    assert updated.labels["tier"] == "gold" and updated.config.worker_config.num_instances == 5
    assert updated.labels["goog-dataproc-cluster-name"] == name
    stopped = emulator_clients.clusters.stop_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": name}).result(polling=fast_polling)
    assert stopped.status.state == d.ClusterStatus.State.STOPPED
    started = emulator_clients.clusters.start_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": name}).result(polling=fast_polling)
    assert started.status.state == d.ClusterStatus.State.RUNNING
    results = emulator_clients.clusters.diagnose_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": name}).result(polling=fast_polling)
    bucket, _, obj = results.output_uri[5:].partition("/")
    assert emulator_clients.storage.bucket(bucket).blob(obj).exists()
    _delete(emulator_clients, name, fast_polling)


def test_idle_ttl_deletes_cluster_on_accelerated_clock(emu, emulator_clients, fast_polling):
    name = _name()
    life = {"idle_delete_ttl": duration_pb2.Duration(seconds=600)}
    _create(emulator_clients, name, fast_polling, config={"lifecycle_config": life})
    with pytest.raises(gexc.InvalidArgument):  # below Dataproc's 5-minute minimum
        emulator_clients.clusters.create_cluster(request={
            "project_id": PROJECT, "region": REGION,
            "cluster": {"cluster_name": _name(), "config": {"lifecycle_config": {"idle_delete_ttl": {"seconds": 60}}}}})
    emu.clock.advance(601)
    _wait_gone(emulator_clients, name)
    assert emu.stats.ttl_deletions[name] == 1


def test_auto_delete_ttl(emu, emulator_clients, fast_polling):
    name = _name()
    _create(emulator_clients, name, fast_polling, config={"lifecycle_config": {"auto_delete_ttl": {"seconds": 3600}}})
    emu.clock.advance(1800)
    assert emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=name)
    emu.clock.advance(1801)
    _wait_gone(emulator_clients, name)


def test_auto_delete_time_set_by_update(emu, emulator_clients, fast_polling):
    name = _name()
    _create(emulator_clients, name, fast_polling)
    when = timestamp_pb2.Timestamp()
    when.FromNanoseconds(int((emu.clock.now() + 7200) * 1e9))
    emulator_clients.clusters.update_cluster(request={
        "project_id": PROJECT, "region": REGION, "cluster_name": name,
        "cluster": {"config": {"lifecycle_config": {"auto_delete_time": when}}},
        "update_mask": {"paths": ["config.lifecycle_config.auto_delete_time"]},
    }).result(polling=fast_polling)
    with pytest.raises(gexc.InvalidArgument):
        emulator_clients.clusters.update_cluster(request={
            "project_id": PROJECT, "region": REGION, "cluster_name": name, "cluster": {},
            "update_mask": {"paths": ["config.master_config.num_instances"]}})
    emu.clock.advance(7201)
    _wait_gone(emulator_clients, name)
    assert emu.stats.ttl_deletions[name] == 1


def _wait_gone(clients, name: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=name)
        except gexc.NotFound:
            return
        time.sleep(0.05)
    pytest.fail(f"cluster {name} was not deleted")


def test_operations_service_list_get_delete(emu, emulator_clients, fast_polling):
    name = _name()
    op = emulator_clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}})
    op.result(polling=fast_polling)
    got = emulator_clients.clusters.get_operation(request={"name": op.operation.name})
    assert got.done and not got.HasField("error")
    listed = emulator_clients.clusters.list_operations(
        request={"name": f"projects/{PROJECT}/regions/{REGION}/operations"})
    assert op.operation.name in {o.name for o in listed.operations}
    emulator_clients.clusters.delete_operation(request={"name": op.operation.name})
    with pytest.raises(gexc.NotFound):
        emulator_clients.clusters.get_operation(request={"name": op.operation.name})
    _delete(emulator_clients, name, fast_polling)


def test_slow_create_keeps_cluster_creating_and_jobs_are_refused(emu, emulator_clients, fast_polling):
    name = _name()
    emu.faults.slow_create(2.0, cluster_name=name)
    op = emulator_clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}})
    got = emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=name)
    assert got.status.state == d.ClusterStatus.State.CREATING
    with pytest.raises(gexc.FailedPrecondition, match="CREATING"):
        emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION, "job": {
            "placement": {"cluster_name": name}, "pyspark_job": {"main_python_file_uri": "gs://b/x.py"}}})
    assert op.result(polling=fast_polling).status.state == d.ClusterStatus.State.RUNNING
    _delete(emulator_clients, name, fast_polling)

"""google.longrunning.Operations as Dataproc serves it: ListOperations honours its filter; no WaitOperation."""

from __future__ import annotations

import pathlib

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.longrunning import operations_pb2

from .kit import PROJECT, REGION, cluster

OPERATIONS = f"projects/{PROJECT}/regions/{REGION}/operations"


def _names(clients, text: str) -> set[str]:
    listed = clients.clusters.list_operations(request={"name": OPERATIONS, "filter": text})
    return {op.name for op in listed.operations}


def test_list_operations_honours_its_filter(emu, emulator_clients, fast_polling):
    # `gcloud dataproc operations list --filter` (https://cloud.google.com/sdk/gcloud/reference/dataproc/operations/list):
    # "field = value [AND [field = value]] ...", fields status.state (PENDING, ACTIVE, DONE) or labels.[KEY],
    # value `*` matches all, space-separated items are an implicit AND; its examples also filter on
    # `operationType = CREATE` and `clusterName = mycluster`. REST: projects.regions.operations/list `filter`.
    made = cluster(emulator_clients, fast_polling, labels={"suite": "fidelity"})
    created = _names(emulator_clients, f"operationType = CREATE AND clusterName = {made.cluster_name}")
    assert len(created) == 1
    assert _names(emulator_clients, f"clusterName = {made.cluster_name} operationType = DELETE") == set()
    assert created <= _names(emulator_clients, "status.state = DONE")
    assert not created & _names(emulator_clients, "status.state = ACTIVE")
    assert created <= _names(emulator_clients, "labels.suite = *")
    assert not created & _names(emulator_clients, "labels.suite = other")
    delete = emulator_clients.clusters.delete_cluster(request={"project_id": PROJECT, "region": REGION,
                                                               "cluster_name": made.cluster_name})
    assert _names(emulator_clients, f'operationType = "DELETE" AND clusterName = "{made.cluster_name}"') == {
        delete.operation.name}
    delete.result(polling=fast_polling)
    with pytest.raises(gexc.InvalidArgument, match="unknown field"):
        _names(emulator_clients, "state = DONE")


def test_there_is_no_wait_operation_and_the_provider_never_calls_one(emu, emulator_clients):
    # Dataproc's operations resource (https://cloud.google.com/dataproc/docs/reference/rest/v1/projects.regions.operations)
    # has cancel, delete, get, list (and IAM methods): no wait. The client's mixins offer none either.
    wait = emulator_clients.channel.unary_unary(
        "/google.longrunning.Operations/WaitOperation",
        request_serializer=operations_pb2.WaitOperationRequest.SerializeToString,
        response_deserializer=operations_pb2.Operation.FromString)
    with pytest.raises(grpc.RpcError) as err:
        wait(operations_pb2.WaitOperationRequest(name=f"{OPERATIONS}/x"))
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    provider = pathlib.Path(__import__("dagspec.provider", fromlist=["x"]).__file__).parent
    callers = [p for p in provider.rglob("*.py") if "emulator" not in p.parts
               and any(w in p.read_text() for w in ("wait_operation", "WaitOperation"))]
    assert callers == []

"""The ``dagspec emulator`` program as a subprocess, the admin HTTP endpoint, GCS preconditions, import hygiene."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d

from .helpers import PROJECT, REGION, unique


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_cli_prints_exports_serves_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "dagspec.provider.emulator", "--no-spark", "--delay-scale", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        exports = dict(line[len("export "):].split("=", 1) for line in lines if line.startswith("export "))
        assert exports["DATAPROC_EMULATOR_HOST"].startswith("127.0.0.1:")
        assert exports["STORAGE_EMULATOR_HOST"].startswith("http://127.0.0.1:")
        admin = next(line.split()[2] for line in lines if line.startswith("# admin:"))
        assert _get(admin + "/health") == {"ok": True}
        channel = grpc.insecure_channel(exports["DATAPROC_EMULATOR_HOST"])
        client = d.ClusterControllerClient(
            transport=d.services.cluster_controller.transports.ClusterControllerGrpcTransport(channel=channel))
        assert list(client.list_clusters(project_id=PROJECT, region=REGION)) == []
        channel.close()
        assert _get(admin + "/stats")["calls"]["ListClusters"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_help_teaches():
    from dagspec.provider.emulator.cli import build_parser

    text = build_parser().format_help()
    assert "DATAPROC_EMULATOR_HOST" in text and "--no-spark" in text and "insecure" in text


def test_admin_endpoint_injects_faults_and_moves_clock(emu, emulator_clients, fast_polling):
    name = unique("adm")
    _post(emu.admin_url + "/faults/fail-method", {"method": "GetCluster", "code": "NOT_FOUND", "times": 1})
    assert _get(emu.admin_url + "/faults")["methods"][0]["method"] == "GetCluster"
    with pytest.raises(gexc.NotFound):
        emulator_clients.clusters.get_cluster(project_id=PROJECT, region=REGION, cluster_name=name)
    _post(emu.admin_url + "/faults/cluster-error", {"cluster_name": name, "detail": "bad luck"})
    op = emulator_clients.clusters.create_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster": {"cluster_name": name}})
    with pytest.raises(gexc.GoogleAPICallError, match="bad luck"):
        op.result(polling=fast_polling)
    before = emu.clock.now()
    assert _post(emu.admin_url + "/clock/advance", {"seconds": 3600})["now"] >= before + 3600
    stats = _get(emu.admin_url + "/stats")
    assert stats["clusters_created"][name] == 1
    state = _get(emu.admin_url + "/state")
    assert {"name": name, "state": "ERROR"}.items() <= next(c for c in state["clusters"] if c["name"] == name).items()
    assert _post(emu.admin_url + "/reset", {}) == {"ok": True}
    assert _get(emu.admin_url + "/stats")["calls"] == {}
    emulator_clients.clusters.delete_cluster(
        request={"project_id": PROJECT, "region": REGION, "cluster_name": name}).result(polling=fast_polling)


def test_gcs_generation_preconditions(emu, emulator_clients):
    bucket = emulator_clients.storage.create_bucket(unique("pre"))
    blob = bucket.blob("dags/spec.yaml")
    blob.upload_from_string(b"v1", if_generation_match=0)
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("dags/spec.yaml").upload_from_string(b"v2", if_generation_match=0)
    generation = bucket.get_blob("dags/spec.yaml").generation
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("dags/spec.yaml").upload_from_string(b"v2", if_generation_match=generation + 1)
    bucket.blob("dags/spec.yaml").upload_from_string(b"v2", if_generation_match=generation)
    big = os.urandom(3 * 1024 * 1024)
    resumable = bucket.blob("big.bin", chunk_size=1024 * 1024)
    resumable.upload_from_string(big, if_generation_match=0)
    assert bucket.blob("big.bin").download_as_bytes() == big
    with pytest.raises(gexc.PreconditionFailed):
        bucket.blob("dags/spec.yaml").delete(if_generation_match=generation)
    assert bucket.blob("dags/spec.yaml").download_as_bytes() == b"v2"


def test_importing_the_package_does_not_import_pyspark():
    code = ("import sys, dagspec.provider.emulator as e; from dagspec.provider.emulator import start_emulators;"
            "assert 'pyspark' not in sys.modules, 'pyspark imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cli_reports_a_busy_port_and_exits_1(capsys):
    import socket

    from dagspec.provider.emulator.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--gcs-port", str(port), "--no-spark"]) == 1
    assert "cannot start" in capsys.readouterr().err

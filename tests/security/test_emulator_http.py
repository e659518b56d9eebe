"""The emulators' HTTP listeners refuse requests a web page could send (DNS rebinding, cross-site posts)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from dagspec.provider.emulator.loopback import refusal


@pytest.fixture(scope="module")
def emulators() -> Iterator[Any]:
    from dagspec.provider.emulator import start_emulators

    handle = start_emulators(spark=False)
    try:
        yield handle
    finally:
        handle.stop()


def _send(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    """One raw request with exactly these headers (http.client adds no Host when we give one)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(key, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _port(url: str) -> int:
    return int(urlsplit(url).port or 0)


def test_the_admin_server_refuses_a_fault_injection_from_a_foreign_origin(emulators: Any) -> None:
    url = emulators.admin_url
    host = f"127.0.0.1:{_port(url)}"
    body = json.dumps({"method": "CreateCluster", "code": "UNAVAILABLE", "times": 1}).encode()
    status, answer = _send(url, "POST", "/faults/fail-method",
                           {"Host": host, "Origin": "http://evil.example", "Content-Type": "application/json"}, body)
    assert status == 403
    assert b"Origin" in answer and b"loopback" in answer
    status, faults = _send(url, "GET", "/faults", {"Host": host})
    assert status == 200
    assert json.loads(faults)["methods"] == []  # the fault was never planted
    status, _ = _send(url, "POST", "/faults/fail-method", {"Host": host, "Content-Type": "application/json"}, body)
    assert status == 200  # the same request from a program on this machine goes through
    status, _ = _send(url, "POST", "/faults/clear", {"Host": host, "Origin": f"http://localhost:{_port(url)}"}, b"{}")
    assert status == 200


def test_the_admin_server_refuses_a_rebound_host_name(emulators: Any) -> None:
    url = emulators.admin_url
    status, answer = _send(url, "POST", "/reset", {"Host": f"evil.example:{_port(url)}"}, b"{}")
    assert status == 403
    assert b"Host" in answer
    status, _ = _send(url, "GET", "/stats", {"Host": f"evil.example:{_port(url)}"})
    assert status == 403


def test_the_gcs_emulator_refuses_an_upload_from_a_foreign_host_or_origin(emulators: Any) -> None:
    url = emulators.gcs_host
    port = _port(url)
    create = json.dumps({"name": "planted"}).encode()
    for headers in ({"Host": f"evil.example:{port}"}, {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example"},
                    {"Host": f"127.0.0.1:{port}", "Origin": "null"}, {"Host": f"127.0.0.1:{port + 1}"}):
        status, answer = _send(url, "POST", "/storage/v1/b?project=p",
                               {**headers, "Content-Type": "application/json"}, create)
        assert status == 403, headers
        assert b"emulator:" in answer
    status, _ = _send(url, "GET", "/storage/v1/b/planted", {"Host": f"localhost:{port}"})
    assert status == 404  # nothing was created


def test_loopback_requests_still_work_with_the_real_storage_client(emulators: Any) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[attr-defined]

    client = storage.Client(project="p", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": emulators.gcs_host})
    client.create_bucket("loopback-ok")
    client.bucket("loopback-ok").blob("a.txt").upload_from_string(b"hi")
    assert client.bucket("loopback-ok").blob("a.txt").download_as_bytes() == b"hi"
    port = _port(emulators.gcs_host)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        status, _ = _send(emulators.gcs_host, "GET", "/storage/v1/b/loopback-ok",
                          {"Host": host, "Origin": "http://localhost:8080"})
        assert status == 200, host


@pytest.mark.parametrize(("host", "origin", "refused"), [
    ("127.0.0.1:9000", None, False),
    ("localhost:9000", "http://127.0.0.1:8080", False),
    ("[::1]:9000", "https://[::1]", False),
    ("127.0.0.1", None, True),
    (None, None, True),
    ("evil.example:9000", None, True),
    ("127.0.0.1.evil.example:9000", None, True),
    ("127.0.0.1:9000", "http://localhost.evil.example", True),
    ("127.0.0.1:9000", "file://", True),
    ("127.0.0.1:9000", "http://127.0.0.1:bad", True),
])
def test_only_loopback_hosts_and_origins_pass(host: str | None, origin: str | None, refused: bool) -> None:
    assert bool(refusal(host, origin, ("127.0.0.1", 9000))) is refused

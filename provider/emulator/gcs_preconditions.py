"""Starts gcp-storage-emulator with generation/metageneration preconditions, which it ignores by itself.

gcp-storage-emulator (2026.7.19) accepts ``ifGenerationMatch`` and friends but never checks them,
so an upload with ``if_generation_match=0`` silently overwrites an existing object. Deploys rely on
these preconditions, so this module puts a thin check in front of its request handler: it finds
the target object of the request, compares its generation/metageneration, and answers 412 (or 304
for a read whose ``ifGenerationNotMatch`` fails) like GCS. Everything else is the package's own.
"""

from __future__ import annotations

import io
import json
import re
import threading
from email.parser import BytesParser
from functools import partial
from http import HTTPStatus, server
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from gcp_storage_emulator import exceptions as emu_exc  # type: ignore[import-untyped]
from gcp_storage_emulator.server import RequestHandler, Server  # type: ignore[import-untyped]

from .loopback import LoopbackOnly

__all__ = ["PreconditionRequestHandler", "start_storage_server"]

_OBJECT = re.compile(r"^(?:/upload|/download)?(?:/storage/v1)?/b/(?P<b>[^/]+)/o/(?P<o>.+)$")
_DEST = re.compile(r"/o/.+/(?:copyTo|rewriteTo)/b/(?P<b>[^/]+)/o/(?P<o>.+)$")
_COMPOSE = re.compile(r"^(?:/storage/v1)?/b/(?P<b>[^/]+)/o/(?P<o>.+)/compose$")
_UPLOAD = re.compile(r"^/upload/storage/v1/b/(?P<b>[^/]+)/o$")
_LOCK = threading.RLock()
_KEYS = ("ifGenerationMatch", "ifGenerationNotMatch", "ifMetagenerationMatch", "ifMetagenerationNotMatch")


class PreconditionRequestHandler(LoopbackOnly, RequestHandler):
    """gcp-storage-emulator's handler with GCS precondition checks in front of every method, behind the
    loopback guard (a foreign ``Host`` or ``Origin`` gets 403 before any route runs)."""

    def do_GET(self) -> None:
        with _LOCK:  # the package's Storage expects one request at a time
            if self._preconditions_hold(read=True):
                super().do_GET()

    def do_POST(self) -> None:
        with _LOCK:  # the package's Storage expects one request at a time
            if self._preconditions_hold(read=False):
                super().do_POST()

    def do_PUT(self) -> None:
        with _LOCK:  # the package's Storage expects one request at a time
            if self._preconditions_hold(read=False):
                super().do_PUT()

    def do_PATCH(self) -> None:
        with _LOCK:  # the package's Storage expects one request at a time
            if self._preconditions_hold(read=False):
                super().do_PATCH()

    def do_DELETE(self) -> None:
        with _LOCK:  # the package's Storage expects one request at a time
            if self._preconditions_hold(read=False):
                super().do_DELETE()

    def _preconditions_hold(self, read: bool) -> bool:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        wanted = {k: query[k] for k in _KEYS if k in query}
        if not wanted:
            return True
        target = self._target(url.path, query)
        if target is None:
            return True
        current = _current(self.storage, *target)
        failed = _failed(wanted, current)
        if failed is None:
            return True
        status = HTTPStatus.NOT_MODIFIED if read and failed == "ifGenerationNotMatch" else (
            HTTPStatus.PRECONDITION_FAILED)
        self._discard_body()
        body = b"" if status == HTTPStatus.NOT_MODIFIED else json.dumps({"error": {
            "code": 412, "message": "At least one of the pre-conditions you specified did not hold.",
            "errors": [{"domain": "global", "reason": "conditionNotMet", "locationType": "header",
                        "location": failed,
                        "message": "At least one of the pre-conditions you specified did not hold."}],
        }}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return False

    def _target(self, path: str, query: dict[str, str]) -> tuple[str, str] | None:
        for pattern in (_DEST, _COMPOSE):
            match = pattern.search(path)
            if match:
                return match["b"], unquote(match["o"])
        match = _UPLOAD.match(path)
        if match:
            if "upload_id" in query:
                return None  # preconditions were checked when the resumable upload began
            name = query.get("name") or self._name_from_body()
            return (match["b"], name) if name else None
        match = _OBJECT.match(path)
        if match:
            return match["b"], unquote(match["o"])
        return None

    def _name_from_body(self) -> str | None:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        setattr(self, "rfile", io.BytesIO(raw))  # noqa: B010 - let the package's handler re-read the body
        content_type = self.headers.get("Content-Type") or ""
        try:
            if content_type.startswith("application/json"):
                return json.loads(raw).get("name")
            if content_type.startswith("multipart/"):
                msg: Any = BytesParser().parsebytes(f"Content-Type:{content_type}\r\n".encode() + raw)
                return json.loads(msg.get_payload()[0].get_payload()).get("name")
        except (ValueError, IndexError, AttributeError):
            return None
        return None

    def _discard_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length and not isinstance(self.rfile, io.BytesIO):
            self.rfile.read(length)


def _current(storage: Any, bucket: str, name: str) -> dict[str, Any] | None:
    try:
        return storage.get_file_obj(bucket, name)
    except (emu_exc.NotFound, KeyError, FileNotFoundError):
        return None


def _failed(wanted: dict[str, str], current: dict[str, Any] | None) -> str | None:
    """The name of the first precondition that does not hold, or None."""
    generation = int(current["generation"]) if current else 0
    metageneration = int(current.get("metageneration", 1)) if current else None
    for key, raw in wanted.items():
        value = int(raw)
        if key == "ifGenerationMatch" and generation != value:
            return key
        if key == "ifGenerationNotMatch" and current is not None and generation == value:
            return key
        if key == "ifMetagenerationMatch" and metageneration != value:
            return key
        if key == "ifMetagenerationNotMatch" and metageneration is not None and metageneration == value:
            return key
    return None


class _ThreadedAPI(threading.Thread):
    """Serves the storage emulator on a threading HTTP server with the precondition handler."""

    def __init__(self, host: str, port: int, storage: Any) -> None:
        super().__init__(name="gcs-emulator", daemon=True)
        self.httpd = server.ThreadingHTTPServer((host, port), partial(PreconditionRequestHandler, storage))
        self.httpd.daemon_threads = True

    def run(self) -> None:
        self.httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _StorageServer:
    def __init__(self, host: str, port: int, data_dir: str | Path | None) -> None:
        # Server builds the package's Storage (memory or files under data_dir); we serve it ourselves.
        inner = Server(host, port, in_memory=data_dir is None,
                       data_dir=str(data_dir) if data_dir else None)
        self.api = _ThreadedAPI(host, port, inner._storage)
        self.port = int(self.api.httpd.server_address[1])

    def stop(self) -> None:
        self.api.stop()


def start_storage_server(host: str, port: int, data_dir: str | Path | None) -> tuple[_StorageServer, int]:
    """Start the storage emulator; returns the server (``.stop()``) and the bound port."""
    srv = _StorageServer(host, port, data_dir)
    srv.api.start()
    return srv, srv.port

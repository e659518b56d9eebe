"""Refuses HTTP requests that a web page could send to the emulators (DNS rebinding, cross-site posts).

The emulators listen on loopback and trust whoever can reach them. A browser can reach them too:
a page on ``evil.example`` may post to ``http://127.0.0.1:PORT`` (the request carries
``Origin: http://evil.example``), or rebind its own name to 127.0.0.1 (the request carries
``Host: evil.example:PORT``). So every request must name a loopback host (``127.0.0.1``,
``localhost``, ``[::1]``, or the bound address) with the server's port, and carry either no
``Origin`` or a loopback one. Programs (google-cloud-storage, urllib, curl) send exactly that.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

__all__ = ["refusal", "LoopbackOnly"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _host_and_port(authority: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(f"//{authority}")
        return (parts.hostname or "").lower(), parts.port
    except ValueError:  # a malformed port or bracket
        return None


def refusal(host_header: str | None, origin: str | None, bound: tuple[str, int]) -> str:
    """Why a request with these headers must be refused, or an empty string when it may go on."""
    bound_host, bound_port = bound[0].lower(), int(bound[1])
    hosts = {*_LOOPBACK, bound_host}
    if not host_header:
        return "the request has no Host header"
    found = _host_and_port(host_header.strip())
    if found is None or found[0] not in hosts or (found[1] or 80) != bound_port:
        return (f"Host {host_header!r} is not this server: write 127.0.0.1:{bound_port}, "
                f"localhost:{bound_port} or [::1]:{bound_port}")
    if origin is not None and not _loopback_origin(origin.strip(), hosts):
        return f"Origin {origin!r} is not a loopback origin: cross-site requests are refused"
    return ""


def _loopback_origin(origin: str, hosts: set[str]) -> bool:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https"):  # includes the opaque origin "null"
        return False
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return (parts.hostname or "").lower() in hosts


class LoopbackOnly(BaseHTTPRequestHandler):
    """A request handler mixin: answers 403 to requests ``refusal`` rejects, before any route runs."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        address = self.server.server_address
        bound = (str(address[0]), int(address[1])) if isinstance(address, tuple) else ("127.0.0.1", 0)
        why = refusal(self.headers.get("Host"), self.headers.get("Origin"), bound)
        if not why:
            return True
        body = json.dumps({"error": {"code": 403, "message": f"emulator: {why}"}}).encode()
        self.close_connection = True
        self.send_response(HTTPStatus.FORBIDDEN)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        return False

"""Admin HTTP JSON endpoint on 127.0.0.1: fault injection, counters and the virtual clock for out-of-process use.

Requests from web pages (a foreign ``Host`` or ``Origin``) get 403, see ``loopback``.

Routes (JSON bodies; every answer is JSON):

- ``GET  /health``                       → ``{"ok": true}``
- ``GET  /stats``                        → call counters, jobs started per id, clusters created/deleted
- ``GET  /faults``                       → pending faults
- ``GET  /state``                        → clusters (name, state, uuid) and jobs (id, state, cluster, and the
  ``properties`` of the job's type as submitted, e.g. the Spark properties)
- ``POST /reset``                        → clear faults and zero counters
- ``POST /faults/clear``                 → clear faults
- ``POST /faults/fail-method``           ``{"method": "CreateCluster", "code": "UNAVAILABLE", "times": 2,
  "after": false, "message": "..."}``
- ``POST /faults/cluster-error``         ``{"cluster_name": null, "detail": "...", "times": 1}``
- ``POST /faults/slow-create``           ``{"seconds": 3, "cluster_name": null, "times": 1}``
- ``POST /faults/fail-job``              ``{"job_id": null, "marker": "FAIL_ME", "message": "...", "times": 1}``
- ``POST /clock/advance``                ``{"seconds": 601}`` → ``{"now": ...}``
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from .backend import Backend
from .loopback import LoopbackOnly
from .messages import ClusterState, JobState

__all__ = ["AdminServer"]


class AdminServer:
    """Serves the admin routes for one backend in a daemon thread."""

    def __init__(self, backend: Backend, port: int = 0) -> None:
        self.backend = backend
        handler = type("AdminHandler", (_Handler,), {"backend": backend})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="emulator-admin", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(2)


class _Handler(LoopbackOnly):
    backend: Backend

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        b = self.backend
        routes = {
            "/health": lambda: {"ok": True},
            "/stats": b.stats.snapshot,
            "/faults": b.faults.snapshot,
            "/state": lambda: _state(b),
        }
        route = routes.get(self.path.split("?")[0])
        if route is None:
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"no route GET {self.path}"})
        else:
            self._reply(HTTPStatus.OK, route())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            result = self._post(self.path.split("?")[0], body)
        except KeyError as exc:
            self._reply(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except (ValueError, TypeError) as exc:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        else:
            self._reply(HTTPStatus.OK, result)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        b = self.backend
        faults = b.faults
        if path == "/reset":
            faults.clear()
            b.stats.reset()
        elif path == "/faults/clear":
            faults.clear()
        elif path == "/faults/fail-method":
            faults.fail_method(**body)
        elif path == "/faults/cluster-error":
            faults.cluster_error(**body)
        elif path == "/faults/slow-create":
            faults.slow_create(**body)
        elif path == "/faults/fail-job":
            faults.fail_job(**body)
        elif path == "/clock/advance":
            return {"now": b.clock.advance(float(body["seconds"]))}
        else:
            raise KeyError(f"no route POST {path}")
        return {"ok": True}


def _state(backend: Backend) -> dict[str, Any]:
    """A plain view of the clusters and jobs the emulator holds."""
    with backend.lock:
        clusters = [
            {"project": r.project, "region": r.region, "name": r.name, "uuid": r.pb.cluster_uuid,
             "state": ClusterState(r.pb.status.state).name, "active_jobs": sorted(r.active_jobs)}
            for r in backend.clusters.values()
        ]
        jobs = [
            {"project": r.project, "region": r.region, "job_id": r.job_id,
             "state": JobState(r.pb.status.state).name, "cluster": r.pb.placement.cluster_name,
             "details": r.pb.status.details, "properties": _properties(r.pb)}
            for r in backend.jobs.values()
        ]
    return {"clusters": clusters, "jobs": jobs, "now": backend.clock.now()}


def _properties(job: Any) -> dict[str, str]:
    """The ``properties`` map of the job's type (``pyspark_job.properties``, ...), as it was submitted."""
    kind = job.WhichOneof("type_job")
    section = getattr(job, kind) if kind else None
    return dict(section.properties) if section is not None and hasattr(section, "properties") else {}

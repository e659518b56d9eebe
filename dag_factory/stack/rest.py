"""A small client of Airflow 3's REST API (/api/v2, token from /auth/token), as the UI uses it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

__all__ = ["AirflowClient", "ApiError"]

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiError(RuntimeError):
    """A non-2xx answer of the API (``status`` 0: no answer at all)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class AirflowClient:
    """JSON over HTTP to one api-server; logs in lazily and again when the token expires."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self._token: str | None = None

    # -- transport ---------------------------------------------------------------------------------
    def _send(self, method: str, path: str, body: Any = None, auth: bool = True, raw: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with _NO_PROXY.open(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            if exc.code == 401 and auth and self._token is not None:
                self._token = None  # expired: log in once more
                return self._send(method, path, body, auth, raw)
            raise ApiError(exc.code, f"{method} {path}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(0, f"{method} {path}: {getattr(exc, 'reason', exc)}") from None
        if raw:
            return payload.decode("utf-8", "replace")
        return json.loads(payload) if payload else None

    def token(self) -> str:
        """A JWT for the configured user (POST /auth/token)."""
        if self._token is None:
            answer = self._send("POST", "/auth/token", {"username": self.username, "password": self.password}, auth=False)
            self._token = str(answer["access_token"])
        return self._token

    def get(self, path: str) -> Any:
        return self._send("GET", "/api/v2" + path)

    def post(self, path: str, body: Any) -> Any:
        return self._send("POST", "/api/v2" + path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("PATCH", "/api/v2" + path, body)

    # -- what the stack and the demo ask ------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """GET /api/v2/monitor/health (no login needed): status of the DB, scheduler, triggerer, dag processor."""
        return dict(self._send("GET", "/api/v2/monitor/health", auth=False))

    def wait_healthy(self, components: tuple[str, ...], timeout: float, check: Any = None) -> dict[str, Any]:
        """Wait until every named component reports healthy; ``check()`` may raise to abort early."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if check is not None:
                check()
            try:
                last = self.health()
                if all((last.get(c) or {}).get("status") == "healthy" for c in components):
                    return last
            except ApiError as exc:
                last = str(exc)
            time.sleep(0.5)
        raise TimeoutError(f"Airflow not healthy after {timeout:.0f}s: {last}")

    def dags(self) -> dict[str, dict[str, Any]]:
        """Every DAG the API knows, by dag_id."""
        return {d["dag_id"]: d for d in self.get("/dags?limit=1000")["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.get("/importErrors?limit=1000")["import_errors"])

    def unpause(self, dag_id: str) -> None:
        self.patch(f"/dags/{_q(dag_id)}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a manual run now, with the current time as its logical date (as the UI's trigger form does,
        so templates such as ``{{ ds }}`` render); returns its run id."""
        now = datetime.now(UTC).isoformat()
        run = self.post(f"/dags/{_q(dag_id)}/dagRuns", {"logical_date": now, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.get(f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances?limit=1000")["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The deserialized value of one XCom (None when there is none)."""
        try:
            entry = self.get(f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/xcomEntries/"
                             f"{_q(key)}?deserialize=true")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return entry.get("value")

    def extra_links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/links"
        return dict(self.get(path).get("extra_links") or {})

    def log_text(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The whole task log of one try, one event per line."""
        path = (f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/{try_number}"
                "?full_content=true")
        content = self.get(path).get("content") or []
        lines: list[str] = []
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, dict):
                lines.append(str(item.get("event", "")))
            else:
                lines.append(str(item))
        return "\n".join(lines)

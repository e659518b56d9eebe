"""Start and stop the local stack: the Dataproc/GCS emulators and Airflow 3 (api-server, scheduler,
dag-processor, triggerer; with ``executor="celery"`` also Postgres, Redis and Celery workers, see topology.py) on
127.0.0.1, with a private AIRFLOW_HOME; reusable by tests."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..airflow.importer_default import ImporterModeError
from .config import HOST, PASSWORD, USERNAME, StackConfig, free_port, prepare_home
from .processes import Child, tail
from .rest import AirflowClient
from .servers import ServerMissing
from .topology import topology

__all__ = ["AIRFLOW_COMPONENTS", "LocalStack", "StackError", "local_stack"]

AIRFLOW_COMPONENTS = topology("local").names  # the default stack's Airflow processes
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StackError(RuntimeError):
    """The stack could not start or a process of it died; ``log`` names the log file to read."""

    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log

    def details(self, lines: int = 30) -> str:
        if self.log is None:
            return str(self)
        return f"{self}\n--- last lines of {self.log} ---\n{tail(self.log, lines)}"


@dataclass
class LocalStack:
    """A running stack: ``api_url`` (UI and REST API), ``client`` (REST, logged in as admin), ``env`` (the
    Airflow processes' environment), ``emulator_env`` and ``admin_url`` (the emulator's admin JSON)."""

    config: StackConfig
    api_url: str
    env: dict[str, str]
    emulator_env: dict[str, str]
    admin_url: str
    client: AirflowClient
    children: dict[str, Child] = field(default_factory=dict)
    username: str = USERNAME
    password: str = PASSWORD

    stopped: list[Child] = field(default_factory=list)

    def check(self) -> None:
        """Raise :class:`StackError` (naming the log) if any process of the stack has exited (unless killed on
        purpose with :meth:`kill`)."""
        for name, child in self.children.items():
            code = child.exit_code()
            if code is not None:
                raise StackError(f"{name} exited with code {code}", child.log)

    def emulator_stats(self) -> dict[str, Any]:
        """The emulator's counters: clusters created/deleted, jobs started (GET <admin>/stats)."""
        with _NO_PROXY.open(self.admin_url + "/stats", timeout=10) as response:
            return dict(json.loads(response.read()))

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 120.0,
                      progress: Callable[[set[str]], None] | None = None) -> dict[str, dict[str, Any]]:
        """Wait until the dag-processor has parsed and serialized every DAG in ``dag_ids``."""
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while True:
            self.check()
            dags = self.client.dags()
            if set(dags) != seen:
                seen = set(dags)
                if progress:
                    progress(seen)
            if all(d in dags for d in dag_ids):
                return dags
            if time.monotonic() > deadline:
                missing = sorted(set(dag_ids) - set(dags))
                errors = [f"{e.get('filename')}: {str(e.get('stack_trace'))[:300]}" for e in self.client.import_errors()]
                raise StackError(f"DAGs {missing} not loaded after {timeout:.0f}s; import errors: {errors or 'none'}",
                                 self.log("dag-processor"))
            time.sleep(1)

    def log(self, name: str) -> Path:
        """The log file of one process of the stack (``emulator``, ``db-migrate`` or an Airflow component)."""
        return self.config.logs / f"{name}.log"

    def kill(self, name: str, sig: int = signal.SIGKILL) -> Child:
        """Kill one process of the stack (and its children) as a crash would; :meth:`check` then ignores it."""
        child = self.children.pop(name)
        child.signal(sig)
        child.wait_gone(30)
        self.stopped.append(child)
        return child

    def restart(self, name: str) -> Child:
        """Start again a process that :meth:`kill` stopped (same command, same log)."""
        child = next(c for c in reversed(self.stopped) if c.name == name)
        self.children[name] = child.start()
        return child

    def _stop_waves(self) -> list[list[Child]]:
        """The children in the order they stop, in waves stopped together: the Airflow processes started after
        the api-server (schedulers, workers, triggerer, dag processor) and any killed on purpose, then the
        api-server (the others' tasks talk to it), then the emulator, then each backing server in reverse."""
        names = list(self.children)
        if "api-server" not in names or "emulator" not in names:  # a partial start: one by one, in reverse
            return [[child] for child in [*reversed(list(self.children.values())), *self.stopped]]
        api, emulator = names.index("api-server"), names.index("emulator")
        later = [self.children[n] for n in reversed(names[api + 1:])] + self.stopped
        servers = [[self.children[n]] for n in reversed(names[:emulator])]
        between = [[self.children[n]] for n in reversed(names[emulator + 1:api])]
        return [later, [self.children["api-server"]], *between, [self.children["emulator"]], *servers]

    def all_children(self) -> list[Child]:
        """Every process the stack started, running or killed (to check that none outlives it)."""
        return [*self.children.values(), *self.stopped]

    def outlived(self) -> list[str]:
        """Names of the processes whose group is still alive: after ``stop``, none should be."""
        return [child.name for child in self.all_children() if child.group_alive()]

    def stop(self) -> None:
        """Stop Airflow first (its tasks may still talk to the emulators), then the emulators, then the backing
        servers (the reverse of the start order); a second Ctrl-C while stopping is ignored so that nothing is
        left behind."""
        in_main = threading.current_thread() is threading.main_thread()
        saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)} if in_main else {}
        try:
            for wave in self._stop_waves():
                for child in wave:
                    child.terminate()
                for child in wave:
                    child.stop()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def _wait_emulator(child: Child, admin_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running():
            raise StackError(f"the emulator exited with code {child.exit_code()}", child.log)
        try:
            with _NO_PROXY.open(admin_url + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise StackError(f"the emulator did not answer within {timeout:.0f}s", child.log)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the api-server does: TIME_WAIT is fine
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@contextmanager
def local_stack(config: StackConfig, *, fresh: bool = True, start_timeout: float = 240.0,
                say: Callable[[str], None] | None = None) -> Iterator[LocalStack]:
    """Start the emulators and Airflow, wait until every component is healthy, yield the stack, stop it all.

    Everything binds 127.0.0.1. ``config.api_port`` 0 picks a free port. ``fresh`` starts from an empty
    metadata DB. On a start failure the processes already started are stopped and :class:`StackError`
    names the log to read.
    """
    note = say or (lambda message: None)
    try:
        note(config.parse_path().line)
    except ImporterModeError as exc:
        raise StackError(str(exc)) from None
    prepare_home(config, fresh)
    api_port = config.api_port or free_port()
    if not _port_free(api_port):
        raise StackError(f"port {HOST}:{api_port} is in use (another `make airflow`?); choose another with --port")
    ports = {"dataproc": free_port(), "gcs": free_port(), "admin": free_port()}
    emulator_env = {"DATAPROC_EMULATOR_HOST": f"{HOST}:{ports['dataproc']}",
                    "STORAGE_EMULATOR_HOST": f"http://{HOST}:{ports['gcs']}"}
    admin_url = f"http://{HOST}:{ports['admin']}"
    shape = config.topology
    api_url = f"http://{HOST}:{api_port}"
    stack = LocalStack(config, api_url, {}, emulator_env, admin_url, AirflowClient(api_url, USERNAME, PASSWORD))
    try:
        servers_env: dict[str, str] = {}
        for server in shape.servers(config.home, config.logs):
            note(f"starting {server.name} on {HOST} (data under {config.home}/{server.name})")
            try:
                stack.children[server.name] = server.start(config.airflow_env(api_port, emulator_env))
            except ServerMissing as exc:
                raise StackError(str(exc)) from None
            except RuntimeError as exc:
                raise StackError(str(exc), stack.log(server.name)) from None
            servers_env.update(server.airflow_env())
        env = stack.env = config.airflow_env(api_port, emulator_env, servers_env=servers_env)
        note(f"starting the Dataproc + GCS emulators (logs: {stack.log('emulator')})")
        emulator = Child("emulator", [sys.executable, "-m", "dagspec.provider.emulator", "--port", str(ports["dataproc"]),
                                      "--gcs-port", str(ports["gcs"]), "--admin-port", str(ports["admin"]), "-v",
                                      *(["--warm-spark", "2"] if config.warm_spark else [])],
                         env, stack.log("emulator"), cwd=config.home)
        stack.children["emulator"] = emulator.start()
        _wait_emulator(emulator, admin_url, 60)
        note(f"migrating the Airflow metadata DB ({'Postgres' if shape.server_kinds else 'SQLite'})")
        _migrate(stack)
        for component in shape.components:
            cwd = config.home / component.workdir
            cwd.mkdir(parents=True, exist_ok=True)
            argv = [sys.executable, "-m", component.module, *component.args]
            stack.children[component.name] = Child(component.name, argv, {**env, **component.env},
                                                   stack.log(component.name), cwd=cwd).start()
        note(f"starting Airflow ({shape.executor} executor): {', '.join(shape.names)} (logs: {config.logs}/)")
        try:
            stack.client.wait_healthy(shape.health, start_timeout, check=stack.check)
        except TimeoutError as exc:
            raise StackError(str(exc), stack.log("api-server")) from None
        yield stack
    finally:
        stack.stop()


def _migrate(stack: LocalStack) -> None:
    log = stack.log("db-migrate")
    with log.open("ab") as out:
        try:
            done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=stack.env, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=600,
                                  cwd=stack.config.home)
        except subprocess.TimeoutExpired:
            raise StackError("`airflow db migrate` took more than 10 minutes", log) from None
    if done.returncode != 0:
        raise StackError(f"`airflow db migrate` failed with code {done.returncode}", log)


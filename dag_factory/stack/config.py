"""The local stack's settings: its folder layout, free loopback ports and the environment of every process."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..airflow.importer_default import CONFIGS_ENV, MODE_ENV, ParsePath, installed_airflow_version, parse_path

if TYPE_CHECKING:
    from .topology import Topology

__all__ = ["USERNAME", "PASSWORD", "DEMO_BUCKET", "StackConfig", "free_port", "prepare_home", "secret"]

USERNAME = "admin"
PASSWORD = "admin"
DEMO_BUCKET = "dagspec-demo"
HOST = "127.0.0.1"


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class StackConfig:
    """Where the stack lives and how it is wired; ``api_port`` 0 means a free port is chosen at start."""

    home: Path
    dags_folder: Path
    api_port: int = 8080
    parallelism: int = 3
    poll_interval: str = "1s"
    demo_bucket: str = DEMO_BUCKET
    deferrable: bool = True
    parse_interval: int = 10
    extra_env: dict[str, str] = field(default_factory=dict)
    executor: str = "local"  # "local" (LocalExecutor, SQLite) or "celery" (see topology.py)
    warm_spark: bool = True  # the emulator keeps a Spark driver started ahead per cluster (fast jobs; --cold-spark: off)
    airflow_version: str | None = None  # the stack's Airflow (None: the one installed beside this interpreter)

    @property
    def topology(self) -> Topology:
        """The processes of this stack (one machine, or the distributed celery stack)."""
        from .topology import topology  # topology imports this module's helpers

        return topology(self.executor)

    @property
    def logs(self) -> Path:
        """Where each process's stdout/stderr goes (``<name>.log``)."""
        return self.home / "logs" / "processes"

    @property
    def passwords_file(self) -> Path:
        return self.home / "passwords.json"

    def parse_path(self, base: dict[str, str] | None = None) -> ParsePath:
        """How the stack's dag processor parses the specs (dagspec's importer or the loader files) and why, from
        the stack's Airflow version and ``[dagspec] dag_importer`` / ``dag_importer_configs`` as the caller's
        environment or ``extra_env`` set them; ImporterModeError for a bad ``[dagspec] dag_importer``."""
        return parse_path(self.airflow_version or installed_airflow_version(), self._importer_settings(base))

    def _importer_settings(self, base: dict[str, str] | None) -> dict[str, str]:
        """The two importer settings the stack takes from the caller's environment (it drops its other Airflow
        settings), overridden by ``extra_env``."""
        inherited = os.environ if base is None else base
        return {k: v for k, v in {**inherited, **self.extra_env}.items() if k in (MODE_ENV, CONFIGS_ENV)}

    def airflow_env(self, api_port: int, emulator_env: dict[str, str], base: dict[str, str] | None = None,
                    servers_env: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of every Airflow process: the caller's, minus its Airflow settings, plus the stack's
        (``servers_env``: what the backing servers tell Airflow, e.g. the Postgres URL and the Celery broker)."""
        inherited = dict(os.environ if base is None else base)
        env = {k: v for k, v in inherited.items() if not k.startswith("AIRFLOW")}
        url = f"http://{HOST}:{api_port}"
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secret(self.home, "api_secret_key"),
            "AIRFLOW__API_AUTH__JWT_SECRET": secret(self.home, "jwt_secret"),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # The loader file is re-parsed every parse_interval seconds and lists the specs itself, so
            # new and changed specs show up then. A bundle refresh also sweeps import errors of files
            # that are not DAG files (the specs' errors) until the next parse: keep those sweeps rare.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(self.parse_interval),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3600",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__DAGSPEC__DEFAULT_DEFERRABLE": str(self.deferrable),
            "DAGSPEC_POLL_INTERVAL": self.poll_interval,
            "DAGSPEC_DEMO_BUCKET": self.demo_bucket,
            "SPARK_LOCAL_IP": HOST,
            "NO_PROXY": "127.0.0.1,localhost",
            **emulator_env,
            **self.topology.env,
            **(servers_env or {}),
            **self._importer_settings(base),
            **self.parse_path(base).env,  # dagspec's importer when it is this Airflow's default parse path
            **self.extra_env,
        })
        return env


def secret(home: Path, name: str) -> str:
    """A random secret kept in the stack's home, shared by all its processes (made on first use)."""
    path = home / ".secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def prepare_home(config: StackConfig, fresh: bool) -> None:
    """Create the home folders and the login's passwords file; ``fresh`` forgets the earlier DB and logs."""
    home = config.home
    if fresh:
        for name in ("airflow.db", "airflow.db-wal", "airflow.db-shm"):
            (home / name).unlink(missing_ok=True)

        shutil.rmtree(home / "logs", ignore_errors=True)
        shutil.rmtree(home / "postgres", ignore_errors=True)
        shutil.rmtree(home / "redis", ignore_errors=True)
    config.logs.mkdir(parents=True, exist_ok=True)
    config.passwords_file.write_text(json.dumps({USERNAME: PASSWORD}) + "\n")

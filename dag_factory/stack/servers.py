"""The distributed stack's backing servers from Debian's packages: Postgres (metadata DB, Celery results) and Redis
(Celery broker), on 127.0.0.1 with their data under the stack's folder, started and stopped with the stack."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .config import HOST, free_port, secret
from .processes import Child

__all__ = ["BackingServer", "Postgres", "Redis", "ServerMissing", "missing_servers"]

INSTALL_HINT = ("install Debian's packages: `apt-get install postgresql redis-server` "
                "(`make` does it when running as root with apt-get)")


class ServerMissing(RuntimeError):
    """A program the distributed stack needs is not installed."""


def _postgres_bin() -> Path | None:
    """The newest installed Postgres server's bin folder (Debian keeps it off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def missing_servers() -> list[str]:
    """The backing programs that are not installed (empty when the distributed stack can run)."""
    missing = [] if _postgres_bin() else ["postgresql"]
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    return missing


def _as_postgres_user() -> list[str]:
    """Postgres refuses to run as root: as root, run it as the `postgres` user, keeping only the right to reach
    folders root can (the stack's folder may sit under a private one, e.g. pytest's)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--"]


def _wait_port(child: Child, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running():
            raise RuntimeError(f"{child.name} exited with code {child.exit_code()}; see {child.log}")
        try:
            socket.create_connection((HOST, port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not listen on {HOST}:{port} within {timeout:.0f}s; see {child.log}")


@dataclass
class BackingServer:
    """One server process of the stack: ``start()`` returns its running :class:`Child`, ``env`` what Airflow needs."""

    home: Path
    logs: Path
    port: int = 0

    name = "server"

    def start(self, env: dict[str, str]) -> Child:  # pragma: no cover - overridden
        raise NotImplementedError

    def airflow_env(self) -> dict[str, str]:  # pragma: no cover - overridden
        raise NotImplementedError


class Postgres(BackingServer):
    """Postgres on 127.0.0.1 only (no Unix socket), password login, data in ``<home>/postgres/data``."""

    name = "postgres"
    user = "airflow"
    database = "airflow"

    @property
    def password(self) -> str:
        return secret(self.home, "postgres_password")

    def start(self, env: dict[str, str]) -> Child:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            raise ServerMissing(f"Postgres is not installed: {INSTALL_HINT}")
        self.port = self.port or free_port()
        root = self.home / "postgres"
        data = root / "data"
        fresh = not (data / "PG_VERSION").exists()
        if fresh:
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            pwfile = root / "pwfile"
            pwfile.write_text(self.password + "\n")
            if os.geteuid() == 0:
                shutil.chown(root, "postgres", "postgres")
                shutil.chown(pwfile, "postgres", "postgres")
            pwfile.chmod(0o600)
            log = self.logs / "postgres-initdb.log"
            with log.open("ab") as out:
                done = subprocess.run([*_as_postgres_user(), str(bin_dir / "initdb"), "-D", str(data), "-U", self.user,
                                       f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
                                      stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                                      timeout=120, check=False)
            pwfile.unlink()
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed with code {done.returncode}; see {log}")
        child = Child(self.name, [*_as_postgres_user(), str(bin_dir / "postgres"), "-D", str(data), "-h", HOST,
                                  "-p", str(self.port), "-c", "unix_socket_directories=", "-c", "fsync=off",
                                  "-c", "max_connections=200"],
                      env, self.logs / "postgres.log", cwd=Path("/")).start()
        _wait_port(child, self.port, 60)
        if fresh:
            self._create_database()
        return child

    def _create_database(self) -> None:
        import psycopg2  # type: ignore[import-untyped]  # the celery extra; only the distributed stack needs it

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(host=HOST, port=self.port, user=self.user, password=self.password,
                                        dbname="postgres")
                break
            except psycopg2.OperationalError:  # listening but still starting up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {self.database}")
        finally:
            conn.close()

    def url(self, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}:{self.password}@{HOST}:{self.port}/{self.database}"

    def airflow_env(self) -> dict[str, str]:
        # Celery's result backend names the driver: plain db+postgresql picks psycopg 3 under SQLAlchemy 2.
        return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.url(),
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.url()}


class Redis(BackingServer):
    """Redis on 127.0.0.1 only with a password, nothing persisted, working folder ``<home>/redis``."""

    name = "redis"

    @property
    def password(self) -> str:
        return secret(self.home, "redis_password")

    def start(self, env: dict[str, str]) -> Child:
        server = shutil.which("redis-server")
        if server is None:
            raise ServerMissing(f"Redis is not installed: {INSTALL_HINT}")
        self.port = self.port or free_port()
        folder = self.home / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "redis.conf"  # the password stays off the command line
        conf.write_text(f"bind {HOST}\nport {self.port}\nprotected-mode yes\nrequirepass {self.password}\n"
                        f"dir {folder}\nsave \"\"\nappendonly no\ndaemonize no\n")
        conf.chmod(0o600)
        child = Child(self.name, [server, str(conf)], env, self.logs / "redis.log", cwd=folder).start()
        _wait_port(child, self.port, 30)
        return child

    def airflow_env(self) -> dict[str, str]:
        return {"AIRFLOW__CELERY__BROKER_URL": f"redis://:{self.password}@{HOST}:{self.port}/0"}

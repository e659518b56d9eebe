"""Which processes make up the local stack: one machine (LocalExecutor, SQLite) or a distributed Airflow
(CeleryExecutor, Postgres, Redis, two workers, two schedulers), as data the stack starts in order."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from .servers import BackingServer, Postgres, Redis

__all__ = ["EXECUTORS", "Component", "Topology", "hostname", "topology"]

EXECUTORS = ("local", "celery")


@dataclass(frozen=True)
class Component:
    """One Airflow process: its name in the stack (log ``<name>.log``), its ``airflow`` arguments, extra env."""

    name: str
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = ""  # under the stack's home; "" = the home itself
    prewarmed: bool = False  # run through stack/prewarmed.py: the tasks it forks inherit the Google clients

    @property
    def module(self) -> str:
        """The module ``python -m`` runs: Airflow's command line, or the same after the provider's imports."""
        return "dagspec.dag_factory.stack.prewarmed" if self.prewarmed else "airflow"

    @property
    def kind(self) -> str:
        """What it is, whatever its number: ``scheduler``, ``celery-worker``, ..."""
        return self.name.rstrip("0123456789").rstrip("-")


@dataclass(frozen=True)
class Topology:
    """The stack's shape: the executor, its backing servers (started first, stopped last), its Airflow processes
    (started in order, stopped in reverse), the env every process shares and the health the api-server reports."""

    executor: str
    components: tuple[Component, ...]
    env: dict[str, str] = field(default_factory=dict)
    server_kinds: tuple[type[BackingServer], ...] = ()
    health: tuple[str, ...] = ("metadatabase", "scheduler", "triggerer", "dag_processor")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.kind == kind]

    def servers(self, home: Path, logs: Path) -> list[BackingServer]:
        return [kind(home, logs) for kind in self.server_kinds]


HOSTNAME_ENV = "DAGSPEC_STACK_HOSTNAME"


def hostname() -> str:
    """Airflow's ``[core] hostname_callable`` in the distributed stack: each worker names itself as a machine
    would (``worker-1``), so task instances show where they ran; elsewhere the machine's name."""
    return os.environ.get(HOSTNAME_ENV) or socket.getfqdn()


_SKIP_SERVE_LOGS = ("--skip-serve-logs",)  # serve_logs binds every interface: the stack binds 127.0.0.1 only


def _local() -> Topology:
    return Topology("local", (
        Component("api-server", ("api-server",)),
        # LocalExecutor: the scheduler forks the workers that fork the tasks
        Component("scheduler", ("scheduler", *_SKIP_SERVE_LOGS), prewarmed=True),
        Component("dag-processor", ("dag-processor",)),
        Component("triggerer", ("triggerer", *_SKIP_SERVE_LOGS), prewarmed=True),  # its trigger runner forks too
    ), {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"})


def _celery(workers: int, schedulers: int, concurrency: int) -> Topology:
    components = [Component("api-server", ("api-server",))]
    components += [Component(f"scheduler-{i}", ("scheduler", *_SKIP_SERVE_LOGS)) for i in range(1, schedulers + 1)]
    components += [Component("dag-processor", ("dag-processor",)), Component("triggerer", ("triggerer", *_SKIP_SERVE_LOGS))]
    # Each worker is a machine of its own: its Celery hostname, its working folder and its process log.
    # Task logs go to the shared log folder, as Composer's go to its bucket, so the UI shows every try.
    components += [Component(f"celery-worker-{i}", ("celery", "worker", "--celery-hostname", f"worker-{i}",
                                                    "--concurrency", str(concurrency), *_SKIP_SERVE_LOGS),
                             {HOSTNAME_ENV: f"worker-{i}"}, workdir=f"workers/worker-{i}")
                   for i in range(1, workers + 1)]
    env = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "dagspec.dag_factory.stack.topology.hostname",
        # Faults are noticed in seconds, not minutes: a task whose worker died, a scheduler or triggerer gone.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "15",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        "AIRFLOW__CELERY__OPERATION_TIMEOUT": "10",
        # each worker imports the Google clients and the provider once, before forking: tasks start warm
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "dagspec.dag_factory.stack.celery_config.CELERY_CONFIG",
    }
    return Topology("celery", tuple(components), env, (Postgres, Redis),
                    ("metadatabase", "scheduler", "triggerer", "dag_processor"))


def topology(executor: str = "local", *, workers: int = 2, schedulers: int = 2, concurrency: int = 2) -> Topology:
    """The stack for ``executor`` (``local``: one machine; ``celery``: the distributed stack)."""
    if executor == "local":
        return _local()
    if executor == "celery":
        return _celery(workers, schedulers, concurrency)
    raise ValueError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")

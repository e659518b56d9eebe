"""The Celery configuration of the distributed local stack: Airflow's defaults, plus modules each worker imports at start.

Celery imports the modules named in ``imports`` in the worker's main process before it forks its
pool, so the tasks the pool then forks start with the Google clients, the provider and the spec
loader already imported (``dagspec.provider.warm``). Selected by ``[celery] celery_config_options``
in ``topology._celery``; read only by Celery (scheduler and workers), never on the parse path.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from dagspec.dag_factory.stack.prewarmed import TASK_MODULES

__all__ = ["CELERY_CONFIG"]

CELERY_CONFIG: dict[str, Any] = {
    **DEFAULT_CELERY_CONFIG,
    "imports": (*tuple(DEFAULT_CELERY_CONFIG.get("imports") or ()), *TASK_MODULES),
}

"""Imports once what a Dataproc task needs on a worker (operators, hooks, the Google clients), for a long-lived worker.

A Celery worker that lists this module in its ``imports`` (the local stack's
``dagspec.dag_factory.stack.celery_config``) loads it before forking its pool, and every task it then
forks inherits the loaded modules instead of importing the Google clients again (the largest part of
a task's start-up). Importing it anywhere else only costs time: the parse path never imports it.
"""

from __future__ import annotations

import importlib
import logging

__all__ = ["MODULES", "warm"]

MODULES = (
    "grpc",
    "google.cloud.dataproc_v1",  # its package imports every controller client and message: ~1-4 s here
    "google.cloud.storage",
    "google.auth.credentials",
    "dagspec.provider.hooks.dataproc",
    "dagspec.provider.hooks.workflow",
    "dagspec.provider.operators.cluster",
    "dagspec.provider.operators.job",
    "dagspec.provider.operators.workflow",
    "dagspec.provider.triggers.dataproc",
    "dagspec.provider.triggers.workflow",
)

log = logging.getLogger(__name__)


def warm(modules: tuple[str, ...] = MODULES) -> list[str]:
    """Import ``modules``; the names that could not be imported are logged and returned (nothing fails)."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # an optional client missing must not stop a worker from starting
            log.warning("dagspec warm start: cannot import %s (%s)", name, exc)
            missing.append(name)
    return missing


warm()

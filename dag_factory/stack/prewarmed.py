"""``python -m dagspec.dag_factory.stack.prewarmed ARGS``: the ``airflow ARGS`` command in a process that has
already imported what a Dataproc task needs (the Google clients, the provider, the spec loader).

The local stack runs its LocalExecutor scheduler this way: Airflow forks the executor's workers from the
scheduler and each task from a worker, so every task inherits the loaded modules instead of importing the
Google clients again (1.5-2 s of each task's start on this machine). The Celery workers get the same
through ``celery_config``. Nothing else changes: the arguments go to Airflow's own command line.
"""

from __future__ import annotations

import importlib
import sys

# What a forked task needs already imported: the loader its DAG parse runs and the provider's warm start (the
# Google clients, operators, triggers). The one list for every prewarmed process: ``celery_config`` gives it to
# the Celery workers (this module imports no Celery code, so the scheduler can use it without the provider).
TASK_MODULES = ("dagspec.dag_factory.airflow.loader", "dagspec.provider.warm")
# Airflow's configuration first, as ``python -m airflow`` does (it avoids import cycles in settings).
PRELOAD = ("airflow.configuration", *TASK_MODULES)


def main() -> int | None:
    for name in PRELOAD:
        importlib.import_module(name)
    from airflow.__main__ import main as airflow_main

    return airflow_main()


if __name__ == "__main__":
    sys.exit(main())

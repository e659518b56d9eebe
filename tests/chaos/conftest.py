"""The distributed stack for the chaos tests: CeleryExecutor, Postgres, Redis, two workers, two schedulers, the
dag processor, the triggerer and the api-server, started once for tests/chaos and stopped after its last test;
each test kills a part of it while a run is under way and checks the emulator's own records afterwards."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagspec.dag_factory.stack import StackConfig, StackError, local_stack

from .kit import CHAOS_DAGS, ROOT, Chaos, write_specs


def _skip_reason() -> str | None:
    """Why the distributed stack cannot run here (None when it can)."""
    from dagspec.dag_factory.stack.servers import missing_servers

    try:
        import airflow.providers.celery  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError as exc:
        return f"the celery extra is not installed ({exc}); run `make venv`"
    missing = missing_servers()
    if missing:
        how = "`make test` installs them as root with apt-get" if os.geteuid() == 0 else "not root: run as root, or"
        return f"{' and '.join(missing)} not installed ({how} `apt-get install postgresql redis-server`)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "running as root without setpriv (util-linux): Postgres cannot be started as the postgres user"
    return None


@pytest.fixture(scope="package")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("chaos")
    shutil.copytree(ROOT / "templates", base / "templates", ignore=shutil.ignore_patterns("__pycache__"))
    dags = base / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "dags" / "dagspec_loader.py", dags)
    write_specs(dags)
    config = StackConfig(home=base / "home", dags_folder=dags, api_port=0, poll_interval="1s", parse_interval=5,
                         executor="celery", parallelism=8, warm_spark=False)  # simulated jobs: no Spark
    try:
        with local_stack(config, start_timeout=300) as stack:
            stack.wait_for_dags(sorted(CHAOS_DAGS), timeout=240)
            yield Chaos(stack)
    except StackError as exc:
        pytest.fail(exc.details(60))
    left = stack.outlived()
    if left:
        pytest.fail(f"processes of {left} outlived the stack's stop")



@pytest.fixture
def home(chaos: Chaos) -> Path:
    return chaos.stack.config.home

"""The local stack for the stack tests: a copy of dags/ (plus templates/ and one broken spec) served by a real
Airflow 3 on 127.0.0.1 with the emulators. The flagship runs once for tests/stack and every stack test reads
that run; the stack stops after the package's last test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagspec.dag_factory.stack import StackConfig, StackError, local_stack
from dagspec.dag_factory.stack.runs import run_dag

from .kit import BROKEN, BROKEN_SPEC, FLAGSHIP, ROOT, Flagship


@pytest.fixture(scope="package")
def stack_dags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dags/ and templates/ side by side in a temp folder (the repository layout), plus a broken spec."""
    base = tmp_path_factory.mktemp("stack")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "dags", base / "dags", ignore=ignore)
    shutil.copytree(ROOT / "templates", base / "templates", ignore=ignore)
    (base / "dags" / BROKEN).parent.mkdir(parents=True, exist_ok=True)
    (base / "dags" / BROKEN).write_text(BROKEN_SPEC)
    return base / "dags"


def _expected_dags(folder: Path) -> set[str]:
    """What Airflow's own DagBag finds in the folder, in this process (the stack must show the same)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder), safe_mode=True)
    assert set(bag.import_errors) == {str(folder / BROKEN)}, bag.import_errors
    return set(bag.dags)


@pytest.fixture(scope="package")
def flagship(stack_dags: Path) -> Iterator[Flagship]:
    """The running stack after one flagship run (started once for tests/stack, stopped after its last test)."""
    expected = _expected_dags(stack_dags)
    assert FLAGSHIP in expected
    config = StackConfig(home=stack_dags.parent / "home", dags_folder=stack_dags, api_port=0, poll_interval="0.5s",
                         parse_interval=5)
    try:
        with local_stack(config, start_timeout=240) as stack:
            stack.wait_for_dags(sorted(expected), timeout=180)
            result = run_dag(stack, FLAGSHIP, timeout=420)
            yield Flagship(stack, stack_dags, expected, result)
    except StackError as exc:  # a process died or did not start: show the tail of its log
        pytest.fail(exc.details(60))
    left = stack.outlived()
    if left:
        pytest.fail(f"processes of {left} outlived the stack's stop")


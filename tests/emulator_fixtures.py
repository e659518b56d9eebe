"""Pytest fixtures that start the local Dataproc and GCS emulators on 127.0.0.1 (owned by the emulator).

- ``emulator`` (session): one running :class:`EmulatorHandle` (local Spark on, fast delays) with
  ``DATAPROC_EMULATOR_HOST`` / ``STORAGE_EMULATOR_HOST`` set in ``os.environ`` for the session.
- ``emu`` (function): the same handle with faults cleared and counters zeroed before the test.
- ``emulator_clients`` (session): real Dataproc/GCS clients on the emulator (``.clusters``,
  ``.jobs``, ``.workflows``, ``.batches``, ``.storage``).
- ``warm_emu`` (function): ``emu`` with warm Spark on for the test (a cluster's jobs share one running Spark
  instead of a JVM start each; real Spark all the same), off again afterwards.
- ``emu_modes`` (function, parametrized): ``emu`` once per request_id replay mode of workflows:
  "retained" (a finished workflow's request_id still replays, the emulator's default) and
  "concurrent" (it replays only while that workflow runs: all Dataproc documents). Tests of the
  provider's retries use it, so they hold whichever way Dataproc behaves.
- ``fast_polling``: a polling policy for ``operation.result(polling=...)`` that checks every 50 ms
  (the client's default waits 1 s, then longer).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["emu", "emu_modes", "emulator", "emulator_clients", "fast_polling", "pytest_runtest_setup", "warm_emu"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``@pytest.mark.spark`` tests, with the reason, where Java or pyspark is missing."""
    if item.get_closest_marker("spark") is None:
        return
    if shutil.which("java") is None:
        pytest.skip("local Spark needs Java (no `java` on PATH)")
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("local Spark needs pyspark (install the 'spark' extra)")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    from dagspec.provider.emulator import start_emulators

    handle = start_emulators(spark=True)
    saved = {key: os.environ.get(key) for key in handle.env()}
    os.environ.update(handle.env())
    try:
        yield handle
    finally:
        handle.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def emu(emulator: Any) -> Any:
    """The session emulator with faults cleared and counters zeroed for this test."""
    emulator.reset()
    yield emulator
    emulator.faults.clear()


@pytest.fixture
def warm_emu(emu: Any) -> Any:
    """``emu`` with warm Spark on for this test: the jobs of a cluster it creates skip the JVM start."""
    emu.set_warm_spark(True)
    yield emu
    emu.set_warm_spark(False)


@pytest.fixture(params=["retained", "concurrent"])
def emu_modes(emulator: Any, request: pytest.FixtureRequest) -> Any:
    """``emu`` with workflow request_id replay set to the parameter's mode (restored afterwards)."""
    emulator.reset()
    emulator.backend.set_replay(workflow=request.param)
    yield emulator
    emulator.backend.set_replay(workflow="retained")
    emulator.faults.clear()


@pytest.fixture(scope="session")
def emulator_clients(emulator: Any) -> Iterator[Any]:
    from dagspec.provider.emulator import clients

    bundle = clients(emulator.dataproc_host, emulator.gcs_host, emulator.project)
    yield bundle
    bundle.close()


@pytest.fixture(scope="session")
def fast_polling() -> Any:
    from google.api_core.future import polling

    return polling.DEFAULT_POLLING.with_delay(initial=0.05, maximum=0.2, multiplier=1.5).with_timeout(120)

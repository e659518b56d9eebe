"""The fidelity suite shares one RUNNING cluster per session and checks that no test leaves work running."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator.helpers import no_work_left

from .kit import OTHER_REGION, REGION, cluster


@pytest.fixture(scope="session")
def running(emulator_clients: Any, fast_polling: Any) -> Any:
    return cluster(emulator_clients, fast_polling)


@pytest.fixture(autouse=True)
def leaves_nothing_running(emulator_clients: Any) -> Iterator[None]:
    """A job or workflow a test leaves running would be counted by the tests after it: wait for it (or cancel it)."""
    with no_work_left(emulator_clients, (REGION, OTHER_REGION)):
        yield

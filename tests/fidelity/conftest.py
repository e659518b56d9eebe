"""The fidelity suite shares one RUNNING cluster per session (created through the real client)."""

from __future__ import annotations

from typing import Any

import pytest

from .kit import cluster


@pytest.fixture(scope="session")
def running(emulator_clients: Any, fast_polling: Any) -> Any:
    return cluster(emulator_clients, fast_polling)

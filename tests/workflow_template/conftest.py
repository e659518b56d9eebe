"""The workflow-template tests that use the emulator must leave no job or workflow running for later tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagspec.provider.hooks.settings import LOCAL_PROJECT, LOCAL_REGION
from emulator.helpers import no_work_left


@pytest.fixture(autouse=True)
def leaves_nothing_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """In the region the provider's hooks use on the emulator: wait for a workflow you start (or cancel it)."""
    if not {"emu", "emu_modes"} & set(request.fixturenames):
        yield  # a pure test: no emulator
        return
    with no_work_left(request.getfixturevalue("emulator_clients"), (LOCAL_REGION,), LOCAL_PROJECT):
        yield

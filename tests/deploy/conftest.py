"""Fixtures for deploy tests: a small project (dags/ + templates/) on disk and a fresh bucket on the GCS emulator."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_kit import FILES, Bucket, write


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root holding dags/ and templates/; the current directory for the test."""
    root = tmp_path / "proj"
    for rel, text in FILES.items():
        write(root, rel, text)
    monkeypatch.chdir(root)
    monkeypatch.delenv("DAGSPEC_TEMPLATES_PATH", raising=False)
    return root


_counter = itertools.count()


@pytest.fixture
def bucket(emu: Any) -> Iterator[Bucket]:
    """A new, empty bucket (``STORAGE_EMULATOR_HOST`` points at the emulator for the test session)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=emu.project, credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": emu.gcs_host})
    name = f"composer-bucket-{next(_counter)}"
    client.create_bucket(name)
    yield Bucket(name, client)

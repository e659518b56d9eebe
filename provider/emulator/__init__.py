"""Local Google Cloud Dataproc (gRPC v1) and GCS emulators for tests and demos; see README.md here.

Importing this package is cheap and never imports pyspark; only job subprocesses do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Clients", "Delays", "EmulatorHandle", "clients", "start_emulators"]

if TYPE_CHECKING:
    from .client import Clients, clients
    from .control import Delays
    from .server import EmulatorHandle, start_emulators

_LAZY = {
    "start_emulators": "server", "EmulatorHandle": "server", "Delays": "control",
    "clients": "client", "Clients": "client",
}


def __getattr__(name: str) -> Any:
    """Import the server lazily, so ``import dagspec.provider.emulator`` stays light."""
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Pausing Python's cyclic garbage collector around a compile or build (a light module: the worker's
cache-hit path imports it without the compiler)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: compiling and building allocate many small objects that live
    on, and full collections while the loaded YAML trees and built DAGs are alive cost more than the
    work itself. The collector's previous state comes back afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

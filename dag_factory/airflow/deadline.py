"""Time budgets inside Airflow's import timeout: one slow spec is stopped and reported, the folder still loads.

Airflow times the whole loader file (``[core] dagbag_import_timeout``) with a ``SIGALRM`` timer; when
it fires, the module fails and *every* DAG of the folder is gone. ``time_limit`` runs one spec's
build under a shorter timer of its own, nested inside Airflow's: when the spec overruns, it raises
``OverBudget`` (a ``BaseException``, so neither the builder nor an operator's ``except Exception``
swallows it), and Airflow's handler and timer are put back with the time they had left. Where a
timer cannot be used (not the main thread, no ``SIGALRM``), the caller checks the elapsed time
after the build instead, which still keeps an over-budget spec from loading.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["OverBudget", "time_limit", "outer_time_left"]


class OverBudget(BaseException):
    """The block ran longer than its budget (seconds)."""

    def __init__(self, seconds: float):
        super().__init__(f"over the budget of {seconds:g} s")
        self.seconds = seconds


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def outer_time_left() -> float | None:
    """Seconds left on the armed ``SIGALRM`` timer (Airflow's import timeout), or None."""
    if not _usable():
        return None
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    return left or None


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``OverBudget`` in the block once ``seconds`` have passed, without disturbing an outer
    ``SIGALRM`` timer (which keeps its handler and the time it had left). A no-op when ``seconds``
    is None, when no timer can be set here, or when the outer timer fires first anyway."""
    if seconds is None or seconds <= 0 or not _usable():
        yield
        return
    outer_left, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield
        return
    outer_handler: Any = signal.getsignal(signal.SIGALRM)
    done = False

    def on_alarm(signum: int, frame: Any) -> None:
        if not done:  # the block may end between the alarm and this handler
            raise OverBudget(seconds)

    start = time.monotonic()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        done = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler if outer_handler is not None else signal.SIG_DFL)
        if outer_left:
            left = outer_left - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer_interval)

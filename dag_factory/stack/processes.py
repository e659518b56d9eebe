"""Child processes of the local stack: each in its own process group, logging to a file, stopped as a group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

__all__ = ["Child", "stop_signals", "tail"]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, Ctrl-C (SIGINT) and SIGTERM raise KeyboardInterrupt, whatever the parent left us.

    A command that runs "until Ctrl-C" must not inherit an ignored SIGINT: a shell starts background jobs
    (``cmd &`` in a script, ``(... &)``) with SIGINT ignored, and Python then never raises KeyboardInterrupt,
    so the stack would outlive the interrupt. The previous handlers are restored on exit.
    """
    previous = {sig: signal.signal(sig, handler)
                for sig, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, _raise_interrupt))}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, previous)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file ("" when it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64_000))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Child:
    """One long-running command; ``start()`` puts it in a new session so ``stop()`` reaches its children too."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log = log
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._terminated = False  # SIGTERM already sent to this start's group (terminate(), then stop())

    def start(self) -> Child:
        self._terminated = False
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n==== {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exit_code(self) -> int | None:
        """None while it runs (or was never started), else its exit code."""
        return None if self.proc is None else self.proc.poll()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        """SIGTERM the whole process group without waiting (``stop()`` then waits), so that several children
        can shut down at the same time; a second SIGTERM is never sent."""
        if self.proc is not None and not self._terminated:
            self._terminated = True
            _signal_group(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the whole process group (unless ``terminate()`` did), wait, then SIGKILL whatever is left of
        it; idempotent."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 3
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)  # workers of the leader may still be finishing their SIGTERM handling
        _signal_group(pgid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(5)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the whole process group (SIGKILL: a crash of the machine's process tree)."""
        if self.proc is not None:
            _signal_group(self.proc.pid, sig)

    def wait_gone(self, timeout: float) -> bool:
        """Wait until the leader has exited and no process of its group is left; True if so."""
        if self.proc is None:
            return True
        deadline = time.monotonic() + timeout
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        return not _group_alive(self.proc.pid)

    def group_alive(self) -> bool:
        """Whether any process of the child's group is still alive (the leader or what it spawned)."""
        return self.proc is not None and _group_alive(self.proc.pid)

    def tail(self, lines: int = 30) -> str:
        return tail(self.log, lines)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True

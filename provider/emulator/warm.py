"""Warm Spark per emulated cluster: one driver process started ahead of the next job, so a job skips the JVM start.

A spare (``warm_driver.py``) is launched when a cluster becomes RUNNING and replaced each time a job
takes it; it is killed when the cluster is deleted and when the emulator stops. Each spare runs
exactly one job in its own process group with its own JVM, so a job that fails, calls
``spark.stop()`` or ``sys.exit`` cannot affect the next one. Only jobs whose settings a running JVM
can still take (no jars, no driver/launch properties) use a spare; the others run cold as before.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .driver_output import DriverOutput

__all__ = ["WARM_KINDS", "Spare", "WarmPool", "warm_compatible"]

log = logging.getLogger(__name__)

WARM_KINDS = {"pyspark_job", "spark_sql_job", "hive_job"}
# properties a JVM only reads when it starts (or that add classpath entries): such a job runs cold
_LAUNCH_PROPS = ("spark.driver.", "spark.jars", "spark.packages", "spark.repositories", "spark.files",
                 "spark.archives", "spark.submit.", "spark.executor.extra", "spark.pyspark.", "spark.master",
                 "spark.submit.deployMode")
_EARLY_OUTPUT = 65536  # bytes of a spare's warm-up output kept (dropped when it takes a job)


def warm_compatible(kind: str, jars: list[str], properties: dict[str, str]) -> bool:
    """Whether a job can run on a spare: a PySpark or SQL job without jars or JVM-launch properties."""
    return kind in WARM_KINDS and not jars and not any(k.startswith(_LAUNCH_PROPS) for k in properties)


class Spare:
    """One started warm driver: its process (a session leader), its scratch folder, and its output pump."""

    def __init__(self, proc: subprocess.Popen, scratch: Path) -> None:
        self.proc = proc
        self.scratch = scratch
        self._lock = threading.Lock()
        self._early = bytearray()
        self._sink: DriverOutput | None = None
        self.tail = bytearray()
        self._pump = threading.Thread(target=self._read, name=f"warm-pump-{proc.pid}", daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            with self._lock:
                if self._sink is None:
                    self._early.extend(chunk)
                    del self._early[:-_EARLY_OUTPUT]
                    continue
                self._sink.write(chunk)
                self.tail.extend(chunk)
                del self.tail[:-4096]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def start_job(self, out: DriverOutput, main: str, argv: list[str], props: dict[str, str],
                  path: list[str]) -> None:
        """Send the job to the spare; from now on its output goes to ``out``."""
        with self._lock:
            self._early.clear()  # the warm-up's JVM banner is not the job's output
            self._sink = out
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps({"main": main, "argv": argv, "props": props, "path": path})
                                   + "\n").encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass  # it died meanwhile: the exit code says so

    def finish(self, timeout: float = 10.0) -> None:
        """After the job's process ended: end what is left of its group (its JVM), drain the output, close."""
        kill_group(self.proc)
        self._pump.join(timeout)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not self._pump.is_alive():
                try:
                    stream.close()
                except OSError:
                    pass

    def early_output(self) -> str:
        with self._lock:
            return self._early.decode(errors="replace")


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group ``proc`` leads (its JVM and Python workers too) and reap ``proc``."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        log.warning("warm driver %s did not end after SIGKILL", proc.pid)


class WarmPool:
    """Spares by cluster key; ``launch(scratch)`` starts one warm driver whose scratch folder is ``scratch``.

    Each open cluster keeps ``depth`` spares (2 lets two jobs submitted together, as after a fan-out,
    both find a warm one); the oldest is taken first, being the likeliest to have finished warming.
    """

    def __init__(self, launch: Callable[[Path], subprocess.Popen], work_root: Path, enabled: bool = True,
                 depth: int = 1) -> None:
        self.enabled = enabled  # off: clusters that become RUNNING get no spare (their jobs run cold)
        self.depth = max(1, depth)
        self._launch = launch
        self._work_root = work_root
        self._lock = threading.Lock()
        self._open: set[Any] = set()
        self._spares: dict[Any, list[Spare]] = {}
        self._closed = False

    def _new_spare(self) -> Spare | None:
        scratch = self._work_root / f"warm-{uuid.uuid4().hex}"
        (scratch / "work").mkdir(parents=True, exist_ok=True)
        try:
            return Spare(self._launch(scratch), scratch)
        except Exception:  # no warm Spark (e.g. pyspark missing): jobs run cold
            log.exception("cannot start a warm Spark driver")
            shutil.rmtree(scratch, ignore_errors=True)
            return None

    def open(self, key: Any) -> None:
        """A cluster became RUNNING: start its spare."""
        with self._lock:
            if self._closed or not self.enabled or key in self._open:
                return
            self._open.add(key)
            spares = [s for s in (self._new_spare() for _ in range(self.depth)) if s is not None]
            self._spares[key] = spares
            log.info("warm Spark drivers %s started for %s", [s.proc.pid for s in spares], key)

    def take(self, key: Any) -> Spare | None:
        """The cluster's spare for a job (a new one is started for the next job), or None: run cold."""
        with self._lock:
            queue = self._spares.get(key, [])
            spare = queue.pop(0) if queue else None
            if key in self._open and not self._closed:
                replacement = self._new_spare()
                if replacement is not None:
                    queue.append(replacement)
                    self._spares[key] = queue
        if spare is not None and not spare.alive():
            log.warning("warm Spark driver for %s had ended (exit %s): running the job cold\n%s", key,
                        spare.proc.returncode, spare.early_output()[-2000:])
            discard(spare)
            return None
        return spare

    def close(self, key: Any) -> None:
        """The cluster is being deleted: stop its spare."""
        with self._lock:
            self._open.discard(key)
            spares = self._spares.pop(key, [])
        for spare in spares:
            discard(spare)

    def close_all(self) -> None:
        """The emulator is stopping: stop every spare and start no more."""
        with self._lock:
            self._closed = True
            spares = [s for queue in self._spares.values() for s in queue]
            self._spares.clear()
            self._open.clear()
        for spare in spares:
            discard(spare)

    def spare_pids(self, key: Any = None) -> list[int]:
        """Process ids of the idle spares (of one cluster key, or all)."""
        with self._lock:
            return [s.proc.pid for k, queue in self._spares.items() if key is None or k == key for s in queue]


def discard(spare: Spare) -> None:
    """Kill an unused spare and remove its scratch folder."""
    spare.finish()
    shutil.rmtree(spare.scratch, ignore_errors=True)

"""Streams a job's driver output to GCS as Dataproc does: ``<uri>.000000000``, ``<uri>.000000001``, …"""

from __future__ import annotations

import logging
import threading

from .gcs import GcsStore, split_gs_uri

__all__ = ["DriverOutput"]

log = logging.getLogger(__name__)


class DriverOutput:
    """Buffers output and writes a new chunk object every ``interval`` seconds while there is new output.

    At least one chunk (``.000000000``, possibly empty) exists once ``close()`` returns.
    """

    def __init__(self, gcs: GcsStore, uri: str, interval: float = 0.3, max_chunk: int = 256 * 1024) -> None:
        self.gcs = gcs
        self.bucket, self.name = split_gs_uri(uri)
        self.interval = interval
        self.max_chunk = max_chunk
        self.index = 0
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._loop, name=f"driveroutput-{self.name}", daemon=True)
        self._flusher.start()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._buf.extend(data)
            big = len(self._buf) >= self.max_chunk
        if big:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            data = bytes(self._buf)
            self._buf.clear()
            if not data:
                return
            name = f"{self.name}.{self.index:09d}"
            self.index += 1
        try:
            self.gcs.write(self.bucket, name, data, "text/plain")
        except Exception:  # output streaming must not kill the job; log it loudly
            log.exception("could not write driver output chunk gs://%s/%s", self.bucket, name)

    def _loop(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        self._flusher.join()
        self.flush()
        if self.index == 0:
            self.gcs.write(self.bucket, f"{self.name}.{0:09d}", b"", "text/plain")
            self.index = 1


"""Streams a job's driver output to GCS as Dataproc does: ``<uri>.000000000``, ``<uri>.000000001``, …

Dataproc appends to the current object until it reaches a size, then starts the next one; once the
driver ends it writes one more, empty, object: a reader stops at that zero-byte marker. An object
therefore keeps growing until the next one appears, and is complete from then on.
"""

from __future__ import annotations

import logging
import threading

from .gcs import GcsStore, split_gs_uri

__all__ = ["DriverOutput"]

log = logging.getLogger(__name__)


class DriverOutput:
    """Buffers output and appends it to the current object every ``interval`` seconds while there is new output.

    The current object is rewritten with everything it holds so far (GCS objects are immutable, so
    appending is a rewrite); once it holds ``max_chunk`` bytes or more, the next object starts.
    ``close()`` writes the zero-byte end marker after the last object with content.
    """

    def __init__(self, gcs: GcsStore, uri: str, interval: float = 0.3, max_chunk: int = 256 * 1024) -> None:
        self.gcs = gcs
        self.bucket, self.name = split_gs_uri(uri)
        self.interval = interval
        self.max_chunk = max_chunk
        self.index = 0
        self._current = bytearray()  # what the object ``index`` holds
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer at a time keeps objects in order
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
        with self._write_lock:
            with self._lock:
                data = bytes(self._buf)
                self._buf.clear()
            while data:
                room = self.max_chunk - len(self._current)
                self._current.extend(data[:room])
                data = data[room:]
                self._put(self.index, bytes(self._current))
                if len(self._current) >= self.max_chunk:  # roll over: this object is complete
                    self.index += 1
                    self._current.clear()

    def _put(self, index: int, data: bytes) -> None:
        name = f"{self.name}.{index:09d}"
        try:
            self.gcs.write(self.bucket, name, data, "text/plain")
        except Exception:  # output streaming must not kill the job; log it loudly
            log.exception("could not write driver output object gs://%s/%s", self.bucket, name)

    def _loop(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()

    def close(self) -> None:
        """Write what is buffered, then the zero-byte marker that ends the stream."""
        self._closed.set()
        self._flusher.join()
        self.flush()
        with self._write_lock:
            if self._current:
                self.index += 1
                self._current.clear()
            self._put(self.index, b"")

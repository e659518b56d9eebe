"""Cloud Storage work done through the hook: content-hashed staging of local job files, and reading driver output."""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, NotFound
from .files import FileRefused, file_digest, local_path, parse_gs_uri, rewrite_files, split_fragment, staged_object
from .hooks.dataproc import DataprocHook

__all__ = ["Stager", "DriverOutput", "follow_output", "default_staging_bucket", "staging_for", "files_exist"]

log = logging.getLogger(__name__)


def default_staging_bucket(project: str) -> str:
    return f"gs://dagspec-staging-{project}"


class Stager:
    """Uploads local files to ``gs://bucket[/prefix]/<sha256-prefix>/<name>``, skipping unchanged ones."""

    def __init__(self, hook: DataprocHook, staging: str, files_root: str | None, create_bucket: bool = False,
                 roots: tuple[str, ...] | None = None) -> None:
        self.hook = hook
        self.staging = staging.rstrip("/")
        self.files_root = files_root
        self.roots = roots  # folders local files may come from (default: files_root only)
        self.create_bucket = create_bucket
        self._bucket_checked = False
        self.uploaded: list[str] = []
        self.reused: list[str] = []

    def _ensure_bucket(self, name: str) -> Any:
        if self._bucket_checked:
            return self.hook.storage.bucket(name)
        bucket = self.hook.ensure_bucket(name, create=self.create_bucket)
        self._bucket_checked = True
        return bucket

    def upload(self, uri: str) -> str:
        """The gs:// URI of local file ``uri`` after making sure its content is staged."""
        try:
            path, fragment = local_path(uri, self.files_root, self.roots)
        except FileRefused as refused:
            raise ConfigurationError(f"local job file {uri!r} refused: {refused.message} "
                                     f"(files_root {self.files_root or '.'})") from None
        bucket_name, name = staged_object(self.staging, file_digest(path), Path(split_fragment(uri)[0]).name)
        bucket = self._ensure_bucket(bucket_name)
        blob = bucket.blob(name)
        target = f"gs://{bucket_name}/{name}"
        if self.hook.call(blob.exists):
            self.reused.append(target)
        else:
            self.hook.call(blob.upload_from_filename, str(path))
            self.uploaded.append(target)
            log.info("staged %s as %s", path, target)
        return target + fragment

    def stage(self, body: dict[str, Any]) -> dict[str, Any]:
        return rewrite_files(body, self.upload)


class DriverOutput:
    """Follows a job's driver output objects ``<uri>.000000000``, ``.000000001``, ... and returns new text.

    Read as Dataproc's own CLI does: an object keeps growing until the next one appears, so look
    for the next object first, then finish the current one from the saved offset, and only then
    move on; a zero-byte object after the first marks the end of the stream (``ended``).
    ``finish`` waits (``sleep``, up to ``timeout`` seconds of ``clock``) for that marker once the
    job has ended.
    """

    def __init__(self, hook: DataprocHook, uri: str, tail_lines: int = 40, index: int = 0, offset: int = 0,
                 *, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.hook = hook
        self.uri = uri
        self.bucket, self.prefix = parse_gs_uri(uri)
        self.index = index
        self.offset = offset
        self.ended = False
        self.tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self._partial = ""
        self._sleep = sleep
        self._clock = clock

    def _object(self, index: int) -> Any:
        return self.hook.storage.bucket(self.bucket).blob(f"{self.prefix}.{index:09d}")

    def _read(self, index: int) -> bytes | None:
        try:
            return self.hook.call(self._object(index).download_as_bytes)
        except NotFound:
            return None

    def _size(self, index: int) -> int | None:
        """The size of object ``index``, or None when it does not exist (yet)."""
        blob = self._object(index)
        try:
            self.hook.call(blob.reload)
        except NotFound:
            return None
        return int(blob.size or 0)

    def _text(self, final: bool = False) -> list[str]:
        """Read what is new; returns the chunks of text in order (``final``: the job has ended)."""
        chunks: list[str] = []
        while not self.ended:
            following = self._size(self.index + 1)  # first: does the next object exist?
            data = self._read(self.index)  # then: the current one, complete if the next exists
            if data is None:
                break
            if not data and self.offset == 0 and (self.index > 0 or final):
                self.ended = True  # the zero-byte marker (the only object, when the job printed nothing)
                break
            if len(data) > self.offset:
                chunks.append(data[self.offset :].decode("utf-8", "replace"))
                self.offset = len(data)
            if following is None:
                break
            self.index, self.offset = self.index + 1, 0
            if following == 0:
                self.ended = True
        return chunks

    def read_new(self, final: bool = False) -> list[str]:
        """Complete new lines since the last call (``final``: the job has ended)."""
        text = self._partial + "".join(self._text(final))
        lines = text.split("\n")
        self._partial = lines.pop()
        self.tail.extend(lines)
        return lines

    def flush(self) -> list[str]:
        """New lines including a final line without a newline (no waiting for the end marker)."""
        lines = self.read_new()
        if self._partial:
            lines.append(self._partial)
            self.tail.append(self._partial)
            self._partial = ""
        return lines

    def finish(self, timeout: float = 60.0, interval: float = 1.0) -> list[str]:
        """After the job ended: the rest of the output, waiting up to ``timeout`` s for the end marker."""
        lines = self.read_new(final=True)
        deadline = self._clock() + timeout
        while not self.ended and self._clock() < deadline:
            self._sleep(min(interval, max(0.0, deadline - self._clock())))
            lines += self.read_new(final=True)
        if not self.ended and timeout > 0:
            log.warning("driver output %s: no end marker after %.0f s; the log may miss its last lines",
                        self.uri, timeout)
        return lines + self.flush()

    def tail_text(self) -> str:
        return "\n".join(self.tail)


def follow_output(hook: DataprocHook, current: DriverOutput | None, uri: str, ended: bool,
                  marker_timeout: float) -> tuple[DriverOutput | None, list[str]]:
    """One look at a job's driver output: the reader to keep and the new lines to log.

    ``uri`` is the job's current ``driver_output_resource_uri``: when a restartable job's driver
    failed and started again (ATTEMPT_FAILURE), it names the new attempt's output, so the old
    attempt's reader is finished (without waiting: a failed driver may write no end marker) and a
    new one follows. Once the job ``ended``, the rest is read, waiting up to ``marker_timeout``
    seconds for the end marker.
    """
    lines: list[str] = []
    if uri and current is not None and current.uri != uri:
        lines += current.flush()
        lines.append(f"--- the driver was restarted; its output continues in {uri} ---")
        current = None
    if uri and current is None:
        current = DriverOutput(hook, uri)
    if current is not None:
        lines += current.finish(marker_timeout) if ended else current.read_new()
    return current, lines


def staging_for(hook: DataprocHook, staging_bucket: str | None, cluster: Any | None) -> tuple[str, bool]:
    """The staging location and whether its bucket may be created if missing: explicit, the cluster's, or the default."""
    if staging_bucket:
        uri = staging_bucket if staging_bucket.startswith("gs://") else f"gs://{staging_bucket}"
        return uri, True
    config_bucket = getattr(getattr(cluster, "config", None), "config_bucket", "") if cluster is not None else ""
    if config_bucket:
        return f"gs://{config_bucket}/dagspec-staging", False
    return default_staging_bucket(hook.project_id), True


def files_exist(body: dict[str, Any], files_root: str | None) -> list[Path]:
    """Local files a body refers to that are missing or refused (for early, clear errors)."""
    missing: list[Path] = []

    def check(uri: str) -> str:
        try:
            local_path(uri, files_root)
        except FileRefused:
            missing.append(Path(uri))
        return uri

    rewrite_files(body, check)
    return missing

"""Local stand-in for the GCS connector: mirrors gs:// data a job names into a scratch dir and syncs it back.

Before a job runs, every ``gs://bucket/path`` in its arguments, queries, properties and script text
is downloaded (the object, or every object under the prefix; for a glob, everything under the
directory before the first wildcard) to ``<scratch>/gcs/bucket/path`` and the URI in the text is
replaced by that local path. After the job, files that are new or changed under ``<scratch>/gcs``
are uploaded to the same bucket and name, objects whose mirrored file the job deleted (e.g. a
``mode("overwrite")``) are deleted, and Spark's ``.crc`` checksum files and ``_temporary``
directories are skipped. ``_SUCCESS`` markers are uploaded, as the real connector does. Writes to
a bucket that does not exist are reported: the runner either fails the job (strict, as the
connector would fail the write) or creates the bucket and warns in the driver output.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .gcs import GcsStore, split_gs_uri

__all__ = ["GcsMirror", "GS_URI", "SyncReport", "fetch_artifact"]

GS_URI = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,220}(?:/[^\s'\"`,;()<>{}\[\]|\\]*)?")
_GLOB = re.compile(r"[*?\[{]")


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    missing_buckets: list[str] = field(default_factory=list)  # written to, but they do not exist in GCS
    created_buckets: list[str] = field(default_factory=list)  # ... and were created (lenient mode)


class GcsMirror:
    """The per-job mirror of gs:// data under ``root``."""

    def __init__(self, gcs: GcsStore, root: Path) -> None:
        self.gcs = gcs
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._seen: dict[Path, tuple[int, int]] = {}  # local file -> (size, mtime_ns) after download
        self._staged: set[str] = set()

    def rewrite(self, text: str) -> str:
        """Stage every gs:// URI in ``text`` and return the text with local paths instead."""
        return GS_URI.sub(lambda m: self.stage(m.group(0)), text)

    def stage(self, uri: str) -> str:
        """Download what ``uri`` names and return the local path standing for it."""
        bucket, name = split_gs_uri(uri)
        local = self.root / bucket / name
        if uri in self._staged:
            return self._local_text(local, name)
        self._staged.add(uri)
        glob = _GLOB.search(name)
        if glob:
            directory = name[: glob.start()].rpartition("/")[0]
            self._download_prefix(bucket, directory + "/" if directory else "")
        else:
            stripped = name.rstrip("/")
            if stripped and self.gcs.exists(bucket, stripped) and not name.endswith("/"):
                self._download(bucket, stripped)
            self._download_prefix(bucket, stripped + "/" if stripped else "")
        (self.root / bucket / name).parent.mkdir(parents=True, exist_ok=True)
        return self._local_text(local, name)

    def _local_text(self, local: Path, name: str) -> str:
        text = str(local)
        return text + "/" if name.endswith("/") or not name else text

    def _download_prefix(self, bucket: str, prefix: str) -> None:
        for obj in self.gcs.list(bucket, prefix):
            if not obj.endswith("/"):
                self._download(bucket, obj)

    def _download(self, bucket: str, name: str) -> None:
        path = self.root / bucket / name
        if path in self._seen:
            return
        self.gcs.download(bucket, name, path)
        stat = path.stat()
        self._seen[path] = (stat.st_size, stat.st_mtime_ns)

    def sync_back(self, create_missing_buckets: bool = False) -> SyncReport:
        """Upload new/changed files and delete objects whose mirrored file is gone.

        Output for a bucket that does not exist is skipped and reported, or with
        ``create_missing_buckets`` the bucket is created and reported as such.
        """
        report = SyncReport()
        exists: dict[str, bool] = {}
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            rel = path.relative_to(self.root).parts
            if len(rel) < 2 or _skipped(rel):
                continue
            stat = path.stat()
            if self._seen.get(path) == (stat.st_size, stat.st_mtime_ns):
                continue
            bucket, name = rel[0], "/".join(rel[1:])
            if bucket in report.missing_buckets:
                continue
            if bucket not in exists:
                exists[bucket] = self.gcs.bucket_exists(bucket)
                if not exists[bucket] and create_missing_buckets:
                    self.gcs.ensure_bucket(bucket)
                    report.created_buckets.append(bucket)
                elif not exists[bucket]:
                    report.missing_buckets.append(bucket)
                    continue
            self.gcs.upload(bucket, name, path)
            report.uploaded.append(f"gs://{bucket}/{name}")
        for path in self._seen:
            if not path.exists():
                rel = path.relative_to(self.root).parts
                self.gcs.delete(rel[0], "/".join(rel[1:]))
                report.deleted.append(f"gs://{rel[0]}/{'/'.join(rel[1:])}")
        return report


def _skipped(parts: tuple[str, ...]) -> bool:
    name = parts[-1]
    return name.endswith(".crc") or "_temporary" in parts or name.startswith(".") and name.endswith(".crc")


def fetch_artifact(gcs: GcsStore, uri: str, workdir: Path, extract: bool = False) -> Path:
    """Put a job file (main file, py file, jar, file, archive) into ``workdir``; gs:// or local paths.

    A ``#name`` suffix renames it, as on Dataproc. Archives are extracted into a folder of that name.
    """
    uri, _, alias = uri.partition("#")
    name = alias or uri.rstrip("/").rsplit("/", 1)[-1]
    target = workdir / name
    if uri.startswith("gs://"):
        bucket, obj = split_gs_uri(uri)
        tmp = workdir / ".fetch" / name
        gcs.download(bucket, obj, tmp)
        source = tmp
    else:
        source = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
        if not source.is_file():
            raise FileNotFoundError(f"{uri} does not exist")
    if extract:
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                archive.extractall(folder)
        else:
            with tarfile.open(source) as archive:
                archive.extractall(folder, filter="data")
        return folder
    if source != target:
        shutil.copyfile(source, target)
    return target

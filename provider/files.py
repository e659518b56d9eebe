"""Which fields of a Dataproc job or batch name files, and which of those are local paths to upload (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["FILE_FIELDS", "is_local", "local_path", "staged_object", "rewrite_files", "parse_gs_uri", "file_digest"]

# fields that hold one file URI, or a list of them, in any job / batch body
FILE_FIELDS = ("main_python_file_uri", "main_jar_file_uri", "main_r_file_uri", "query_file_uri",
               "python_file_uris", "jar_file_uris", "file_uris", "archive_uris")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_local(uri: str) -> bool:
    """True for a path on this machine (``jobs/x.py``, ``/abs/x.py``); False for ``gs://``, ``file://``, ``hdfs:`` ..."""
    return bool(uri) and not _SCHEME.match(uri)


def local_path(uri: str, files_root: str | None) -> tuple[Path, str]:
    """The local file of ``uri`` (relative to ``files_root``) and its ``#fragment`` suffix, if any."""
    path, sep, fragment = uri.partition("#")
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = Path(files_root or ".") / p
    return p, (sep + fragment)


def file_digest(path: Path, size: int = 16) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:size]


def parse_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ("bucket", "a/b")."""
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def staged_object(staging: str, digest: str, name: str) -> tuple[str, str]:
    """(bucket, object) of a file with content ``digest`` under ``gs://bucket[/prefix]``: ``<prefix>/<digest>/<name>``."""
    bucket, prefix = parse_gs_uri(staging)
    return bucket, "/".join(p for p in (prefix, digest, name) if p)


def rewrite_files(body: dict[str, Any], upload: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a job/batch body where every local file URI is replaced by ``upload(uri)`` (recursively)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in FILE_FIELDS and isinstance(value, str):
            out[key] = upload(value) if is_local(value) else value
        elif key in FILE_FIELDS and isinstance(value, list | tuple):
            out[key] = [upload(v) if isinstance(v, str) and is_local(v) else v for v in value]
        elif isinstance(value, dict):
            out[key] = rewrite_files(value, upload)
        else:
            out[key] = value
    return out

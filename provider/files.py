"""Which fields of a Dataproc job or batch name files, and which of those are local paths to upload (pure).

Local paths are confined at run time as at compile time (``dagspec.dag_factory.spec.files``): a job
or upload file must resolve, symlinks resolved, inside the operator's ``files_root``, the folder of
the DAG file, or a template folder beside it, and be a regular file, so that a tampered plan can
never stage ``/etc/passwd`` or block on a FIFO.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagspec.dag_factory.spec.files import (
    FILE_FIELDS,
    JOB_MAX,
    FileRefused,
    confined_file,
    is_local,
    split_fragment,
    template_folders,
)

__all__ = ["FILE_FIELDS", "is_local", "local_path", "staged_object", "rewrite_files", "parse_gs_uri", "file_digest",
           "allowed_roots", "built_from_spec", "FileRefused"]


def allowed_roots(files_root: str | None, dag_file: str | None = None, env: Mapping[str, str] | None = None,
                  *, from_spec: bool = False) -> tuple[str, ...]:
    """The folders local files may come from: ``files_root`` (default: the working directory), and when
    the operator belongs to a DAG, the DAG file's folder and its template folders. For a DAG built from
    a spec (``from_spec``: its author is not trusted) ``files_root`` counts only inside those folders,
    so a plan whose ``files_root`` was changed to ``/etc`` still stages nothing from there. The file
    system's root is never one of them."""
    roots: list[str] = []
    if dag_file:
        folder = Path(dag_file).parent
        roots += [os.path.realpath(folder), *(str(d) for d in template_folders(folder, os.environ if env is None else env))]
    own = os.path.realpath(files_root or os.getcwd())
    if not from_spec or any(own == r or own.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
        roots.insert(0, own)
    top = os.path.realpath(os.sep)
    return tuple(dict.fromkeys(r for r in roots if r != top))


def built_from_spec(dag: Any) -> bool:
    """Whether an operator's DAG was compiled from a spec (dagspec tags every such DAG ``spec:<hash>``)."""
    return dag is not None and any(str(tag).startswith("spec:") for tag in (getattr(dag, "tags", None) or ()))


def local_path(uri: str, files_root: str | None, roots: Sequence[str] | None = None) -> tuple[Path, str]:
    """The real local file of ``uri`` (relative to ``files_root``) and its ``#fragment`` suffix, if any.

    ``FileRefused`` unless it is a regular file inside ``roots`` (default: ``allowed_roots(files_root)``)."""
    path, fragment = split_fragment(uri)
    base = files_root or os.getcwd()
    found = confined_file(path, base, allowed_roots(files_root) if roots is None else roots, JOB_MAX)
    return found, fragment


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

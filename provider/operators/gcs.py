"""Moving local files to Cloud Storage inside a workflow (for example sample data before a job)."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

from ..compat import BaseOperator
from ..errors import ConfigurationError
from ..files import FileRefused, allowed_roots, built_from_spec, local_path, parse_gs_uri
from ..hooks.dataproc import DataprocHook
from ..hooks.settings import DEFAULT_CONN_ID

__all__ = ["GcsUploadOperator"]


class GcsUploadOperator(BaseOperator):
    """Upload local files (paths or glob patterns, relative to ``files_root``) to Cloud Storage.

    ``destination`` is a ``gs://bucket/object`` URI for a single file, or a ``gs://bucket/prefix/``
    ending in ``/`` to keep the files' names. The bucket is created when it does not exist and
    ``create_bucket`` is true. Returns the list of URIs written (XCom).
    """

    template_fields: Sequence[str] = ("source", "destination")
    ui_color = "#e8eefa"

    def __init__(self, *, source: str | list[str], destination: str, files_root: str | None = None,
                 create_bucket: bool = True, project_id: str | None = None, gcp_conn_id: str = DEFAULT_CONN_ID,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.destination = destination
        self.files_root = files_root
        self.create_bucket = create_bucket
        self.project_id = project_id
        self.gcp_conn_id = gcp_conn_id

    def _files(self) -> list[tuple[str, str]]:
        """The local files to upload: each pattern's matches, every one a regular file inside the allowed
        folders (``files_root``, the DAG file's folder, its template folders); anything else is refused."""
        base = self.files_root or os.getcwd()
        dag = self.get_dag()
        roots = allowed_roots(self.files_root, getattr(dag, "fileloc", None), from_spec=built_from_spec(dag))
        patterns = [self.source] if isinstance(self.source, str) else list(self.source)
        files: list[tuple[str, str]] = []  # (the name matched, the real file)
        for pattern in patterns:
            full = os.path.join(base, os.path.expanduser(pattern))
            matches = sorted(p for p in glob.glob(full) if not os.path.isdir(p))
            if not matches:
                raise FileNotFoundError(f"no local file matches {pattern!r} (looked in {base})")
            for match in matches:
                try:
                    files.append((match, str(local_path(match, base, roots)[0])))
                except FileRefused as refused:
                    raise ConfigurationError(f"refusing to upload {match!r} (from {pattern!r}): {refused.message}; "
                                             f"allowed folders: {', '.join(roots)}") from None
        return files

    def execute(self, context: Any) -> list[str]:
        hook = DataprocHook(self.gcp_conn_id, project_id=self.project_id)
        files = self._files()
        bucket_name, name = parse_gs_uri(self.destination)
        as_folder = self.destination.endswith("/") or len(files) > 1
        bucket = hook.ensure_bucket(bucket_name, create=self.create_bucket)
        written = []
        for i, (matched, path) in enumerate(files, 1):
            target = f"{name}/{os.path.basename(matched)}".lstrip("/") if as_folder else name
            hook.call(bucket.blob(target).upload_from_filename, path)
            uri = f"gs://{bucket_name}/{target}"
            self.log.info("uploaded %s -> %s (%d/%d, %d bytes)", path, uri, i, len(files), os.path.getsize(path))
            written.append(uri)
        hook.close()
        return written

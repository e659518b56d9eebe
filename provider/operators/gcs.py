"""Moving local files to Cloud Storage inside a workflow (for example sample data before a job)."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

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

    def _files(self) -> list[str]:
        patterns = [self.source] if isinstance(self.source, str) else list(self.source)
        files: list[str] = []
        for pattern in patterns:
            full = pattern if os.path.isabs(pattern) else os.path.join(self.files_root or os.getcwd(), pattern)
            matches = sorted(p for p in glob.glob(full) if os.path.isfile(p))
            if not matches:
                raise FileNotFoundError(f"no local file matches {pattern!r} (looked in {self.files_root or os.getcwd()})")
            files += matches
        return files

    def execute(self, context: Any) -> list[str]:
        from ..errors import NotFound
        from ..files import parse_gs_uri
        from ..hooks.dataproc import DataprocHook

        hook = DataprocHook(self.gcp_conn_id, project_id=self.project_id)
        files = self._files()
        bucket_name, name = parse_gs_uri(self.destination)
        as_folder = self.destination.endswith("/") or len(files) > 1
        storage = hook.storage
        try:
            hook.call(storage.get_bucket, bucket_name)
        except NotFound:
            if not self.create_bucket:
                raise
            self.log.info("creating bucket gs://%s", bucket_name)
            hook.call(storage.create_bucket, bucket_name)
        bucket = storage.bucket(bucket_name)
        written = []
        for i, path in enumerate(files, 1):
            target = f"{name}/{os.path.basename(path)}".lstrip("/") if as_folder else name
            hook.call(bucket.blob(target).upload_from_filename, path)
            uri = f"gs://{bucket_name}/{target}"
            self.log.info("uploaded %s -> %s (%d/%d, %d bytes)", path, uri, i, len(files), os.path.getsize(path))
            written.append(uri)
        hook.close()
        return written

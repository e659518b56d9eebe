"""The GCS side: runs gcp-storage-emulator on 127.0.0.1 and gives the Dataproc emulator a small client for it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage  # type: ignore[attr-defined]

from .gcs_preconditions import start_storage_server

__all__ = ["GcsEmulator", "GcsStore", "split_gs_uri"]

log = logging.getLogger(__name__)


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` → ``("bucket", "a/b")``; ValueError for other schemes."""
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri}")
    bucket, _, name = uri[len("gs://"):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri}")
    return bucket, name


class GcsEmulator:
    """gcp-storage-emulator in this process, in memory or persisted under ``data_dir``."""

    def __init__(self, port: int = 0, data_dir: str | Path | None = None) -> None:
        self._server, self.port = start_storage_server("127.0.0.1", port, data_dir)
        self.host = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop()


class GcsStore:
    """What the Dataproc emulator needs from GCS, through the real google-cloud-storage client."""

    def __init__(self, host: str, project: str) -> None:
        self.host = host
        self.project = project
        self._local = threading.local()

    @property
    def client(self) -> storage.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = storage.Client(
                project=self.project, credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.host},
            )
            self._local.client = client
        return client

    def ensure_bucket(self, bucket: str) -> None:
        try:
            self.client.create_bucket(bucket)
        except gexc.Conflict:
            pass

    def bucket_exists(self, bucket: str) -> bool:
        return self.client.lookup_bucket(bucket) is not None

    def exists(self, bucket: str, name: str) -> bool:
        return self.client.bucket(bucket).blob(name).exists()

    def read(self, bucket: str, name: str) -> bytes:
        return self.client.bucket(bucket).blob(name).download_as_bytes()

    def read_uri(self, uri: str) -> bytes:
        return self.read(*split_gs_uri(uri))

    def download(self, bucket: str, name: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.client.bucket(bucket).blob(name).download_to_filename(str(path))

    def list(self, bucket: str, prefix: str) -> list[str]:
        try:
            return [b.name for b in self.client.list_blobs(bucket, prefix=prefix or None)]
        except gexc.NotFound:
            return []

    def write(self, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.bucket(bucket).blob(name).upload_from_string(data, content_type=content_type)

    def upload(self, bucket: str, name: str, path: Path) -> None:
        self.client.bucket(bucket).blob(name).upload_from_filename(str(path))

    def delete(self, bucket: str, name: str) -> None:
        try:
            self.client.bucket(bucket).blob(name).delete()
        except gexc.NotFound:
            pass

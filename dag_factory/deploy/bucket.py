"""The bucket side of a deploy: list the prefix, read/write the manifest, upload and delete with generation preconditions.

Google libraries are imported inside functions, so importing dagspec's CLI stays cheap. Errors
from the API are mapped once, here, to :class:`DeployError` and its subclass :class:`ConflictError`
(a precondition failed: someone changed the object after it was listed).
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from ..spec.discover import SPEC_SUFFIXES
from .plan import MANIFEST_NAME, Change, Manifest, RemoteObject

__all__ = ["DeployError", "ConflictError", "BucketTarget", "parse_bucket", "normalise_prefix", "storage_client",
           "EMULATOR_PROJECT"]

EMULATOR_PROJECT = "local-project"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
T = TypeVar("T")


class DeployError(Exception):
    """The deploy could not be done (bucket missing, no permission, no credentials, bad manifest)."""


class ConflictError(DeployError):
    """An object changed in the bucket between listing and writing; nothing of it was overwritten."""

    def __init__(self, key: str, action: str) -> None:
        self.key = key
        super().__init__(f"{key} was changed in the bucket by someone else while deploying "
                         f"(the {action} would have overwritten it); run the deploy again to see the new plan")


def parse_bucket(value: str) -> str:
    """``gs://name`` or ``name`` → ``name``; ValueError for anything else (paths go to ``--prefix``)."""
    name = value.removeprefix("gs://").rstrip("/")
    if "/" in name:
        raise ValueError(f"{value}: give the bucket alone (gs://BUCKET) and the folder with --prefix")
    if not _BUCKET_NAME.match(name):
        raise ValueError(f"{value}: not a valid bucket name: {_why_invalid(name)}")
    return name


def _why_invalid(name: str) -> str:
    """What is wrong with a bucket name, in the words of Cloud Storage's naming rules."""
    if name != name.lower():
        return (f"bucket names are lower case (`gs://{name.lower()}`?); the Composer bucket is the one "
                "`gcloud composer environments describe ENV --location REGION --format=\"value(config.dagGcsPrefix)\"` prints")
    if not 3 <= len(name) <= 222:
        return "a bucket name has 3 to 63 characters (222 with dots)"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "a bucket name starts and ends with a letter or a digit"
    return "use only lower-case letters, digits, `-`, `_` and `.`"


def storage_client(project: str | None) -> Any:
    """A google-cloud-storage client: on ``STORAGE_EMULATOR_HOST`` anonymous with a fixed project, else
    application default credentials (``gcloud auth application-default login``) and their project."""
    # lazy: the Google client loads only when a deploy talks to a bucket
    from google.auth.credentials import AnonymousCredentials
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import storage  # type: ignore[import-untyped]

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        return storage.Client(project=project or EMULATOR_PROJECT, credentials=AnonymousCredentials())
    try:
        return storage.Client(project=project)
    except DefaultCredentialsError as exc:
        raise DeployError(f"no Google credentials: run `gcloud auth application-default login` "
                          f"or set GOOGLE_APPLICATION_CREDENTIALS ({exc})") from exc


def _call(fn: Callable[..., T], *args: Any, what: str, conflict: tuple[str, str] | None = None, **kwargs: Any) -> T:
    # lazy: the Google client loads only when a deploy talks to a bucket
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import GoogleAuthError

    try:
        return fn(*args, **kwargs)
    except gexc.PreconditionFailed as exc:
        if conflict is None:
            raise DeployError(f"{what}: {exc.message}") from exc
        raise ConflictError(*conflict) from exc
    except gexc.NotFound as exc:
        raise DeployError(f"{what}: not found ({exc.message})") from exc
    except gexc.Forbidden as exc:
        raise DeployError(f"{what}: permission denied ({exc.message})") from exc
    except gexc.GoogleAPICallError as exc:
        raise DeployError(f"{what}: {exc.message}") from exc
    except GoogleAuthError as exc:
        raise DeployError(f"{what}: Google credentials failed: {exc}") from exc


def normalise_prefix(prefix: str) -> str:
    """``/dags//team/`` -> ``dags/team``; ValueError for an empty prefix or one with ``.``/``..`` segments,
    backslashes or control characters (object names are literal: ``dags/../x`` is not ``x``, and a
    deploy must own exactly the folder it names)."""
    parts = [p for p in prefix.split("/") if p]
    if not parts:
        raise ValueError("the prefix must not be empty: deploy owns a folder of the bucket, never all of it")
    for part in parts:
        if part in (".", "..") or "\\" in part or any(ord(c) < 32 or ord(c) == 127 for c in part):
            raise ValueError(f"the prefix {prefix!r} must be a plain folder path (no `.` or `..` segments, "
                             "backslashes or control characters)")
    return "/".join(parts)


class BucketTarget:
    """One ``gs://bucket/prefix/`` a deploy writes into; every name it touches starts with the prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        prefix = normalise_prefix(prefix)
        self.client = client
        self.bucket_name = bucket
        self.prefix = prefix
        self._bucket = client.bucket(bucket)

    @property
    def url(self) -> str:
        return f"gs://{self.bucket_name}/{self.prefix}/"

    def name(self, key: str) -> str:
        if not key or key.startswith("/") or any(p in (".", "..") for p in key.split("/")):
            raise ValueError(f"refusing object key {key!r}: it must name an object below the prefix")
        return f"{self.prefix}/{key}"

    def check_bucket(self) -> None:
        found = _call(self.client.lookup_bucket, self.bucket_name, what=f"gs://{self.bucket_name}")
        if found is None:
            raise DeployError(f"bucket gs://{self.bucket_name} does not exist (or is not visible to these credentials)")

    def list(self) -> tuple[list[RemoteObject], Manifest | None]:
        """Objects below the prefix (keys relative to it) and the manifest, if any."""
        start = self.prefix + "/"
        blobs = _call(lambda: list(self.client.list_blobs(self.bucket_name, prefix=start)), what=f"listing {self.url}")
        objects: list[RemoteObject] = []
        manifest_blob = None
        for blob in blobs:
            key = blob.name[len(start):]
            if not key or key.endswith("/"):
                continue  # folder placeholders
            if key == MANIFEST_NAME:
                manifest_blob = blob
                continue
            objects.append(RemoteObject(key, int(blob.generation), int(blob.size or 0), blob.md5_hash, blob.crc32c))
        return objects, self._read_manifest(manifest_blob)

    def _read_manifest(self, blob: Any) -> Manifest | None:
        if blob is None:
            return None
        generation = int(blob.generation)
        data = _call(blob.download_as_bytes, what=f"reading {self.url}{MANIFEST_NAME}", if_generation_match=generation,
                     conflict=(MANIFEST_NAME, "read"))
        try:
            return Manifest.from_json(data.decode("utf-8"), generation)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DeployError(f"{self.url}{MANIFEST_NAME} is not a dagspec manifest ({exc}); "
                              "move it away to start over (nothing will be deleted then)") from exc

    def upload(self, change: Change) -> None:
        assert change.local is not None
        blob = self._bucket.blob(self.name(change.key))
        ctype = mimetypes.guess_type(change.key)[0] or (
            "application/yaml" if change.key.endswith(SPEC_SUFFIXES) else "application/octet-stream")
        _call(blob.upload_from_filename, str(change.local.path), content_type=ctype,
              if_generation_match=change.generation, what=f"uploading {change.key}", conflict=(change.key, "upload"))

    def delete(self, change: Change) -> None:
        blob = self._bucket.blob(self.name(change.key))
        _call(blob.delete, if_generation_match=change.generation, what=f"deleting {change.key}",
              conflict=(change.key, "delete"))

    def write_manifest(self, manifest: Manifest, text: str) -> None:
        blob = self._bucket.blob(self.name(MANIFEST_NAME))
        _call(blob.upload_from_string, text, content_type="application/json", if_generation_match=manifest.generation,
              what=f"writing {MANIFEST_NAME}", conflict=(MANIFEST_NAME, "manifest update"))

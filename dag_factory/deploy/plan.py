"""The deploy plan, computed purely: local files + bucket listing + manifest in, uploads/deletes out.

Keys are object names relative to the deploy prefix (``examples/hello.yaml``,
``templates/etl-base.yaml``). A local file is uploaded when the bucket has no object of that key
(``new``, precondition generation 0) or one with another checksum (``changed``, precondition: the
listed generation). An object of the prefix that is not a local file is deleted only when the
manifest says dagspec uploaded it, with that content (``stale``); any other object is ``foreign``:
kept and reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..spec.discover import SPEC_SUFFIXES

__all__ = [
    "MANIFEST_NAME", "LocalFile", "RemoteObject", "Manifest", "Change", "DeployPlan",
    "compute_plan", "upload_rank", "format_size",
]

MANIFEST_NAME = ".dagspec-manifest.json"
MANIFEST_FORMAT = 1
LOADER_NAME = "dagspec_loader.py"

Reason = Literal["new", "changed", "stale"]


@dataclass(frozen=True)
class LocalFile:
    """A file to deploy: its key under the prefix, where it is, its size and checksums (base64, as GCS)."""

    key: str
    path: Path
    size: int
    md5: str
    crc32c: str
    why: str = ""  # why it is deployed: "in the dag folder", "job main of sales.clean", "template of x" ...


@dataclass(frozen=True)
class RemoteObject:
    """An object listed under the prefix (``key`` relative to it) with its generation and checksums."""

    key: str
    generation: int
    size: int
    md5: str | None = None
    crc32c: str | None = None


@dataclass(frozen=True)
class Manifest:
    """What the last deploy uploaded: key → md5. Only these keys may ever be deleted."""

    files: Mapping[str, str] = field(default_factory=dict)
    generation: int = 0  # of the manifest object; 0 when there is none

    def to_json(self, tool_version: str, deployed_at: str) -> str:
        return json.dumps({"format": MANIFEST_FORMAT, "tool": f"dagspec {tool_version}", "deployed_at": deployed_at,
                           "files": dict(sorted(self.files.items()))}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, generation: int) -> Manifest:
        """Parse a manifest; ValueError when it is not one (never guess which files are ours)."""
        data = json.loads(text)
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict) or not all(isinstance(k, str) for k in files):
            raise ValueError("not a dagspec manifest (no `files` mapping)")
        return cls({k: str(v) for k, v in files.items()}, generation)


@dataclass(frozen=True)
class Change:
    """One upload or delete; ``generation`` is the precondition (0: the object must not exist)."""

    key: str
    reason: Reason
    generation: int
    size: int
    local: LocalFile | None = None

    @property
    def why(self) -> str:
        return self.local.why if self.local is not None else ""

    def to_data(self) -> dict[str, Any]:
        data = {"key": self.key, "reason": self.reason, "size": self.size, "if_generation_match": self.generation}
        return {**data, "why": self.why} if self.why else data


@dataclass(frozen=True)
class DeployPlan:
    """Everything a deploy will do, in order: uploads (dependencies before specs, the loader last),
    then deletes (specs first); plus what stays and the manifest to write."""

    uploads: tuple[Change, ...]
    deletes: tuple[Change, ...]
    unchanged: tuple[str, ...]
    foreign: tuple[str, ...]
    manifest: Manifest  # the manifest read from the bucket
    new_manifest: dict[str, str]  # key → md5 once the plan is applied
    why: Mapping[str, str] = field(default_factory=dict)  # key → why the local file is deployed

    @property
    def manifest_changes(self) -> bool:
        return dict(self.manifest.files) != self.new_manifest or self.manifest.generation == 0

    @property
    def is_noop(self) -> bool:
        return not self.uploads and not self.deletes and not self.manifest_changes

    def counts(self) -> dict[str, int]:
        return {
            "new": sum(c.reason == "new" for c in self.uploads),
            "changed": sum(c.reason == "changed" for c in self.uploads),
            "delete": len(self.deletes),
            "unchanged": len(self.unchanged),
            "foreign": len(self.foreign),
        }

    def to_data(self) -> dict[str, Any]:
        return {
            "upload": [c.to_data() for c in self.uploads],
            "delete": [c.to_data() for c in self.deletes],
            "unchanged": list(self.unchanged),
            "foreign": list(self.foreign),
            "counts": self.counts(),
            "manifest_generation": self.manifest.generation,
            "why": dict(self.why),
        }


def upload_rank(key: str) -> int:
    """Upload order: files specs use (templates, jobs, SQL, data) first, then specs, the loader last,
    so that Composer's sync never shows a spec before what it refers to."""
    name = key.rpartition("/")[2]
    if name == LOADER_NAME or (name.startswith("dagspec_unit_") and name.endswith(".py")):  # parse units too
        return 2
    if name.endswith(SPEC_SUFFIXES) and not key.startswith("templates/") and not name.startswith(("_", ".")):
        return 1
    return 0


def _same(local: LocalFile, remote: RemoteObject) -> bool:
    if remote.md5:  # composite objects have no MD5; compare CRC32C then
        return remote.md5 == local.md5
    return bool(remote.crc32c) and remote.crc32c == local.crc32c


def compute_plan(local: Iterable[LocalFile], remote: Iterable[RemoteObject], manifest: Manifest | None) -> DeployPlan:
    """The plan that makes the prefix hold exactly the local files, deleting only what the manifest owns.

    ``remote`` must not contain the manifest object itself.
    """
    manifest = manifest or Manifest()
    local_by_key = {f.key: f for f in local}
    remote_by_key = {o.key: o for o in remote}
    uploads: list[Change] = []
    unchanged: list[str] = []
    for key, file in local_by_key.items():
        obj = remote_by_key.get(key)
        if obj is None:
            uploads.append(Change(key, "new", 0, file.size, file))
        elif not _same(file, obj):
            uploads.append(Change(key, "changed", obj.generation, file.size, file))
        else:
            unchanged.append(key)
    deletes: list[Change] = []
    foreign: list[str] = []
    for key, obj in remote_by_key.items():
        if key in local_by_key:
            continue
        if key in manifest.files and (obj.md5 is None or obj.md5 == manifest.files[key]):
            deletes.append(Change(key, "stale", obj.generation, obj.size))
        else:  # not uploaded by dagspec, or rewritten by someone since: not ours to delete
            foreign.append(key)
    uploads.sort(key=lambda c: (upload_rank(c.key), c.key))
    deletes.sort(key=lambda c: (-upload_rank(c.key), c.key))
    return DeployPlan(
        uploads=tuple(uploads),
        deletes=tuple(deletes),
        unchanged=tuple(sorted(unchanged)),
        foreign=tuple(sorted(foreign)),
        manifest=manifest,
        new_manifest={k: f.md5 for k, f in sorted(local_by_key.items())},
        why={k: f.why for k, f in sorted(local_by_key.items())},
    )


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover

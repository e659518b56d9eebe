"""A deploy from start to end: ``prepare`` (validate, list local files and the bucket, plan) and ``apply`` (write).

``prepare`` touches the bucket only to read it, and not at all when a spec has an error.
``apply`` uploads (preconditions from the plan), deletes stale files, then records what dagspec
owns in the manifest; on a conflict it stops, records what it did upload, and reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .bucket import BucketTarget, ConflictError, DeployError, storage_client
from .local import LocalSide, collect_local
from .plan import Change, DeployPlan, Manifest, compute_plan

__all__ = ["DeployOptions", "Prepared", "Outcome", "Progress", "prepare", "apply"]

Progress = Callable[[int, int, str, Change], None]  # (index from 1, total, "upload"|"delete", change)


@dataclass(frozen=True)
class DeployOptions:
    bucket: str  # the bucket's name (no gs://)
    prefix: str = "dags/dagspec"
    dags: Path = Path("dags")
    templates: Path | None = Path("templates")
    project: str | None = None
    check_imports: bool = True
    airflow_line: tuple[int, int] | None = None  # the environment's Airflow line (--airflow-version): check against it


@dataclass(frozen=True)
class Prepared:
    """The validated local side, and when it is clean, the target and the plan."""

    options: DeployOptions
    local: LocalSide
    target: BucketTarget | None = None
    plan: DeployPlan | None = None


@dataclass
class Outcome:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    manifest_written: bool = False
    error: DeployError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_data(self) -> dict[str, Any]:
        return {"ok": self.ok, "uploaded": self.uploaded, "deleted": self.deleted,
                "manifest_written": self.manifest_written, "seconds": round(self.seconds, 3),
                "error": None if self.error is None else str(self.error),
                "conflict": self.error.key if isinstance(self.error, ConflictError) else None}


def prepare(options: DeployOptions, client: Any | None = None) -> Prepared:
    """Validate the specs; when they are clean, read the bucket and compute the plan."""
    local = collect_local(options.dags, options.templates, check_imports=options.check_imports,
                          airflow_line=options.airflow_line)
    if not local.ok:
        return Prepared(options, local)
    target = BucketTarget(client if client is not None else storage_client(options.project), options.bucket,
                          options.prefix)
    target.check_bucket()
    remote, manifest = target.list()
    return Prepared(options, local, target, compute_plan(local.files, remote, manifest))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version() -> str:
    try:
        return version("dagspec")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def apply(prepared: Prepared, progress: Progress | None = None) -> Outcome:
    """Carry out the plan: uploads, then deletes, then the manifest. Stops at the first failure."""
    target, plan = prepared.target, prepared.plan
    if target is None or plan is None:
        raise ValueError("nothing to apply: the specs have errors")
    started = time.monotonic()
    outcome = Outcome()
    owned = dict(plan.manifest.files)
    total = len(plan.uploads) + len(plan.deletes)
    step = 0
    try:
        for change in plan.uploads:
            step += 1
            if progress:
                progress(step, total, "upload", change)
            target.upload(change)
            outcome.uploaded.append(change.key)
            owned[change.key] = plan.new_manifest[change.key]
        for key in plan.unchanged:
            owned[key] = plan.new_manifest[key]
        for change in plan.deletes:
            step += 1
            if progress:
                progress(step, total, "delete", change)
            target.delete(change)
            outcome.deleted.append(change.key)
            owned.pop(change.key, None)
    except DeployError as exc:
        outcome.error = exc
    finally:
        # Record what dagspec owns now, also after a failure, so that files it did upload stay its own.
        complete = outcome.error is None and len(outcome.uploaded) + len(outcome.deleted) == total
        files = plan.new_manifest if complete else owned
        if (complete and plan.manifest_changes) or (not complete and (outcome.uploaded or outcome.deleted)):
            try:
                target.write_manifest(plan.manifest, Manifest(files).to_json(_version(), _now()))
                outcome.manifest_written = True
            except DeployError as exc:
                outcome.error = outcome.error or exc
        outcome.seconds = time.monotonic() - started
    return outcome

"""Deploying a dag folder to a Cloud Composer bucket: a pure plan of uploads and deletes, then applying it to GCS.

``plan`` is pure (local files + bucket listing + manifest → plan); ``local`` validates specs and
lists the files to deploy; ``bucket`` is the only module that talks to Cloud Storage; ``run``
ties them together; ``command`` is the ``dagspec deploy`` command.
"""

from __future__ import annotations

from .bucket import BucketTarget, ConflictError, DeployError, parse_bucket, storage_client
from .local import LocalSide, collect_local
from .plan import MANIFEST_NAME, Change, DeployPlan, LocalFile, Manifest, RemoteObject, compute_plan
from .run import DeployOptions, Outcome, Prepared, apply, prepare

__all__ = [
    "MANIFEST_NAME", "BucketTarget", "Change", "ConflictError", "DeployError", "DeployOptions", "DeployPlan",
    "LocalFile", "LocalSide", "Manifest", "Outcome", "Prepared", "RemoteObject", "apply", "collect_local",
    "compute_plan", "parse_bucket", "prepare", "storage_client",
]

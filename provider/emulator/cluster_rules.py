"""Dataproc's cluster rules the emulator enforces: default buckets and fields, lifecycle limits and expiry."""

from __future__ import annotations

import re
from typing import Any

import grpc  # type: ignore[import-untyped]

from .backend import ClusterRecord
from .common import ApiError, duration_seconds

__all__ = ["check_lifecycle", "check_uuid", "expired", "fill_defaults", "staging_bucket"]

_MIN_IDLE, _MIN_AUTO, _MAX_TTL = 5 * 60, 10 * 60, 14 * 24 * 3600


def staging_bucket(project: str, region: str, kind: str = "staging") -> str:
    """The bucket Dataproc would create when a cluster names none (one per project and region)."""
    slug = re.sub(r"[^a-z0-9-]", "-", f"dataproc-{kind}-{region}-{project}".lower())
    return slug[:63].rstrip("-")


def expired(record: ClusterRecord, now: float) -> str | None:
    life = record.pb.config.lifecycle_config
    if life.HasField("auto_delete_time") and now >= life.auto_delete_time.ToNanoseconds() / 1e9:
        return "Cluster deleted by lifecycle policy: auto_delete_time reached"
    if life.HasField("auto_delete_ttl") and now >= record.create_time + duration_seconds(life.auto_delete_ttl):
        return "Cluster deleted by lifecycle policy: auto_delete_ttl expired"
    if (life.HasField("idle_delete_ttl") and not record.active_jobs and record.idle_since is not None
            and now >= record.idle_since + duration_seconds(life.idle_delete_ttl)):
        return "Cluster deleted by lifecycle policy: idle_delete_ttl expired"
    return None


def check_uuid(record: ClusterRecord, cluster_uuid: str) -> None:
    """NOT_FOUND when ``cluster_uuid`` names another cluster than ``record`` (DeleteClusterRequest.cluster_uuid:
    "the RPC should fail (with error NOT_FOUND) if cluster with specified UUID does not exist")."""
    if cluster_uuid and cluster_uuid != record.pb.cluster_uuid:
        raise ApiError(grpc.StatusCode.NOT_FOUND,
                       f"Cluster {record.name} has uuid {record.pb.cluster_uuid}, "
                       f"which does not match the requested cluster_uuid {cluster_uuid}")


def check_lifecycle(life: Any) -> None:
    checks = (("idle_delete_ttl", _MIN_IDLE), ("auto_delete_ttl", _MIN_AUTO))
    for name, minimum in checks:
        if life.HasField(name):
            seconds = duration_seconds(getattr(life, name))
            if not minimum <= seconds <= _MAX_TTL:
                raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"Invalid argument: lifecycle_config.{name} must be between {minimum // 60} "
                               f"minutes and 14 days, got {seconds:g} seconds")
    if life.HasField("auto_delete_ttl") and life.HasField("auto_delete_time"):
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                       "Invalid argument: set only one of lifecycle_config.auto_delete_ttl and auto_delete_time")


def fill_defaults(msg: Any, project: str, region: str) -> None:
    """Fill what Dataproc fills: buckets, instance counts, image version, goog-* labels."""
    config = msg.config
    if not config.config_bucket:
        config.config_bucket = staging_bucket(project, region)
    if not config.temp_bucket:
        config.temp_bucket = staging_bucket(project, region, "temp")
    if not config.master_config.num_instances:
        config.master_config.num_instances = 1
    if not config.worker_config.num_instances:
        config.worker_config.num_instances = 2
    for group, role in ((config.master_config, "m"), (config.worker_config, "w")):
        if not group.machine_type_uri:
            group.machine_type_uri = "n2-standard-4"
        del group.instance_names[:]
        if role == "m":
            group.instance_names.append(f"{msg.cluster_name}-m")
        else:
            group.instance_names.extend(f"{msg.cluster_name}-w-{i}" for i in range(group.num_instances))
    if not config.software_config.image_version:
        config.software_config.image_version = "2.2-debian12"
    msg.labels["goog-dataproc-cluster-name"] = msg.cluster_name
    msg.labels["goog-dataproc-cluster-uuid"] = msg.cluster_uuid
    msg.labels["goog-dataproc-location"] = region

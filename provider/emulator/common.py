"""Shared helpers of the emulator services: API errors, timestamps, name validation, list filters, paging."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

import grpc  # type: ignore[import-untyped]
from google.protobuf import duration_pb2, timestamp_pb2  # type: ignore[import-untyped]

__all__ = [
    "ApiError",
    "Filter",
    "check_cluster_name",
    "check_job_id",
    "check_request_id",
    "duration_seconds",
    "page",
    "parse_filter",
    "require",
    "timestamp",
]

T = TypeVar("T")

_CLUSTER_NAME = re.compile(r"^[a-z](?:[-a-z0-9]{0,49}[a-z0-9])?$")
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class ApiError(Exception):
    """An error the RPC layer turns into a gRPC status with this code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def require(value: str, what: str) -> str:
    """``value`` if not empty, else INVALID_ARGUMENT naming the missing field."""
    if not value:
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid argument: {what} is required")
    return value


def check_cluster_name(name: str) -> None:
    """Dataproc's rule: 1-51 chars, lowercase letter first, ``[-a-z0-9]``, no trailing ``-``."""
    if not name or len(name) > 51 or not _CLUSTER_NAME.match(name):
        raise ApiError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Invalid cluster name '{name}': it must start with a lowercase letter, contain only lowercase "
            "letters, digits and hyphens, not end with a hyphen, and be at most 51 characters long.",
        )


def check_job_id(job_id: str) -> None:
    """Dataproc's rule: 1-100 chars of letters, digits, underscores and hyphens."""
    if not _JOB_ID.match(job_id):
        raise ApiError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Invalid job id '{job_id}': it may contain only letters (a-z, A-Z), digits (0-9), underscores "
            "(_) and hyphens (-), and be at most 100 characters long.",
        )


def check_request_id(request_id: str) -> None:
    """Dataproc's rule for ``request_id``: at most 40 chars of ``[A-Za-z0-9_-]`` (empty means none)."""
    if request_id and not _REQUEST_ID.match(request_id):
        raise ApiError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Invalid request_id '{request_id}': it may contain only letters, digits, underscores and "
            "hyphens, and be at most 40 characters long.",
        )


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp for epoch ``seconds``."""
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def duration_seconds(duration: duration_pb2.Duration) -> float:
    return duration.seconds + duration.nanos / 1e9


class Filter:
    """A parsed Dataproc list filter: ``field = value`` terms joined by AND, all must match.

    Fields: ``status.state`` (a state name, ``ACTIVE`` or ``INACTIVE``), ``clusterName`` /
    ``cluster_name``, ``labels.KEY`` (value ``*`` matches any value of a present label).
    """

    def __init__(self, terms: list[tuple[str, str]]) -> None:
        self.terms = terms

    def matches(
        self, state: str, labels: dict[str, str], name: str, active: set[str], inactive: set[str]
    ) -> bool:
        for key, value in self.terms:
            if key == "status.state":
                wanted = value.upper()
                allowed = active if wanted == "ACTIVE" else inactive if wanted == "INACTIVE" else {wanted}
                if state not in allowed:
                    return False
            elif key in ("clustername", "cluster_name"):
                if name != value:
                    return False
            elif key.startswith("labels."):
                label = key[len("labels."):]
                if label not in labels or (value != "*" and labels[label] != value):
                    return False
        return True


_TERM = re.compile(r"""^\s*([A-Za-z_][\w.\-]*)\s*(=|:)\s*("([^"]*)"|'([^']*)'|(\S+))\s*$""")


def parse_filter(text: str, fields: Sequence[str]) -> Filter:
    """Parse ``text``; INVALID_ARGUMENT for syntax errors or fields not in ``fields`` (plus ``labels.*``)."""
    terms: list[tuple[str, str]] = []
    if not text.strip():
        return Filter(terms)
    for part in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE):
        match = _TERM.match(part)
        if not match:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid filter '{text}': cannot parse '{part}'")
        key = match.group(1)
        value = next(g for g in match.group(4, 5, 6) if g is not None)
        norm = key if key.startswith("labels.") else key.lower()
        if not norm.startswith("labels.") and norm not in {f.lower() for f in fields}:
            raise ApiError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Invalid filter '{text}': unknown field '{key}' (allowed: {', '.join(fields)}, labels.KEY)",
            )
        terms.append((norm, value))
    return Filter(terms)


def page(items: Sequence[T], page_size: int, page_token: str, default_size: int = 100) -> tuple[list[T], str]:
    """One page of ``items`` and the token of the next page (empty when this is the last)."""
    try:
        start = int(page_token) if page_token else 0
    except ValueError as exc:
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid page_token '{page_token}'") from exc
    size = page_size if page_size > 0 else default_size
    chunk = list(items[start:start + size])
    next_token = str(start + size) if start + size < len(items) else ""
    return chunk, next_token


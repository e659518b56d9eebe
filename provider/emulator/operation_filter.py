"""ListOperations filters, in the syntax Dataproc documents for operations (``gcloud dataproc operations list``).

``field = value [AND field = value] ...`` (space-separated terms are an implicit AND), case-sensitive,
``*`` matches any value. Fields: ``status.state`` (``PENDING``, ``RUNNING``, ``DONE``, or ``ACTIVE`` for
both unfinished ones), ``operationType`` (e.g. ``CREATE``, ``DELETE``, ``SUBMIT_JOB``, ``BATCH``),
``clusterName``, ``labels.KEY``, and ``done`` (``true``/``false``, the Operation's own field). A field
outside this list is INVALID_ARGUMENT, so a typo never lists everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.longrunning import operations_pb2  # type: ignore[import-untyped]

from .common import ApiError
from .messages import ClusterOpState, pb

__all__ = ["OperationFilter", "parse_operation_filter"]

FIELDS = ("status.state", "operationType", "clusterName", "done")
_TERM = re.compile(r"""([A-Za-z_][\w.\-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"']+)""")
_METADATA = {
    "ClusterOperationMetadata": pb.ClusterOperationMetadata,
    "JobMetadata": pb.JobMetadata,
    "BatchOperationMetadata": pb.BatchOperationMetadata,
    "WorkflowMetadata": pb.WorkflowMetadata,
}


@dataclass(frozen=True)
class _Facts:
    state: str
    operation_type: str | None
    cluster_name: str | None
    labels: dict[str, str]
    done: bool


def _facts(op: operations_pb2.Operation) -> _Facts:
    kind = op.metadata.type_url.rsplit(".", 1)[-1]
    state = "DONE" if op.done else "RUNNING"
    if kind not in _METADATA:
        return _Facts(state=state, operation_type=None, cluster_name=None, labels={}, done=op.done)
    meta: Any = _METADATA[kind]()
    op.metadata.Unpack(meta)
    op_type: str | None = None
    cluster: str | None = None
    labels: dict[str, str] = {}
    if kind == "ClusterOperationMetadata":
        state = ClusterOpState(meta.status.state).name
        op_type, cluster, labels = meta.operation_type, meta.cluster_name, dict(meta.labels)
    elif kind == "JobMetadata":
        op_type = meta.operation_type
    elif kind == "BatchOperationMetadata":
        op_type = pb.BatchOperationMetadata.BatchOperationType.Name(meta.operation_type)
        labels = dict(meta.labels)
    elif kind == "WorkflowMetadata":
        cluster = meta.cluster_name
    return _Facts(state=state, operation_type=op_type, cluster_name=cluster, labels=labels, done=op.done)


class OperationFilter:
    """A parsed filter; ``matches`` an Operation when every term holds."""

    def __init__(self, terms: list[tuple[str, str]]) -> None:
        self.terms = terms

    def matches(self, op: operations_pb2.Operation) -> bool:
        if not self.terms:
            return True
        facts = _facts(op)
        return all(_holds(facts, key, value) for key, value in self.terms)


def _holds(facts: _Facts, key: str, value: str) -> bool:
    if key == "status.state":
        if value == "ACTIVE":
            return facts.state in ("PENDING", "RUNNING")
        return value == "*" or facts.state == value
    if key == "done":
        return value == "*" or str(facts.done).lower() == value.lower()
    if key == "operationType":
        return facts.operation_type is not None and value in ("*", facts.operation_type)
    if key == "clusterName":
        return facts.cluster_name is not None and value in ("*", facts.cluster_name)
    label = key[len("labels."):]
    return label in facts.labels and value in ("*", facts.labels[label])


def parse_operation_filter(text: str) -> OperationFilter:
    """Parse ``text``; INVALID_ARGUMENT for what is not ``field = value`` terms of the known fields."""
    terms: list[tuple[str, str]] = []
    position = 0
    for match in _TERM.finditer(text):
        between = text[position:match.start()].strip()
        if between not in ("", "AND"):
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid filter '{text}': cannot parse '{between}'")
        key, value = match.group(1), match.group(2).strip("\"'")
        if key not in FIELDS and not key.startswith("labels."):
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Invalid filter '{text}': unknown field '{key}' (allowed: {', '.join(FIELDS)}, labels.KEY)")
        terms.append((key, value))
        position = match.end()
    if text[position:].strip():
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                       f"Invalid filter '{text}': cannot parse '{text[position:].strip()}'")
    return OperationFilter(terms)



"""Deterministic identities: cluster names, job and batch ids, request ids and ownership labels.

Every name is a pure function of the run's identity ``(dag_id, run_id, task_id / cluster key,
map_index)``, so the create, submit and delete tasks of one run agree on the names without sharing
state, and a retried task finds what its previous try started.

Job ids and retries
-------------------
``job_id(...)`` deliberately does **not** contain the Airflow try number: a retry after a worker
crash computes the same id and *reattaches* to the job that is still running (or already done).
When the previous attempt ended in ``ERROR``/``CANCELLED``, the operator submits a new *attempt*
``job_attempt_id(base, n)`` = ``<base>-r<n>`` (n = 2, 3, ...), where ``n`` is one more than the
highest attempt found by looking the ids up in order. Attempt 1 is the bare base id. The same
scheme applies to batch ids (``batch_attempt_id``).

Request ids make one *request* idempotent against the client's own retries (UNAVAILABLE), so
they include the operation, the try number and a generation counter (e.g. a recreate after an
ERROR cluster must not be deduplicated into the first create).
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "CLUSTER_NAME_MAX",
    "JOB_ID_MAX",
    "REQUEST_ID_MAX",
    "BATCH_ID_MAX",
    "LABEL_MAX",
    "cluster_name",
    "job_id",
    "job_attempt_id",
    "batch_id",
    "batch_attempt_id",
    "request_id",
    "label_value",
    "label_key",
    "ownership_labels",
    "job_labels",
    "owned_by",
    "WORKFLOW_LABEL",
    "WORKFLOW_ATTEMPT_LABEL",
    "workflow_key",
    "workflow_labels",
]

# labels the workflow operator puts on the templates it instantiates; Dataproc propagates a template's
# labels to the workflow's jobs and managed cluster, which is how a retry finds the earlier instances
WORKFLOW_LABEL = "dagspec-workflow"
WORKFLOW_ATTEMPT_LABEL = "dagspec-workflow-attempt"

CLUSTER_NAME_MAX = 51
JOB_ID_MAX = 100
REQUEST_ID_MAX = 40
BATCH_ID_MAX = 63
LABEL_MAX = 63
MAX_ATTEMPT_SUFFIX = len("-r9999")

_CLUSTER_RE = re.compile(r"[^a-z0-9]+")
_JOB_RE = re.compile(r"[^A-Za-z0-9_-]+")
_LABEL_RE = re.compile(r"[^a-z0-9_-]+")


def _digest(*parts: object, size: int) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


def _slug(text: str, limit: int) -> str:
    """Lowercase ``[a-z0-9-]`` form of ``text``: runs of other characters become one '-'."""
    return _CLUSTER_RE.sub("-", text.lower()).strip("-")[:limit].strip("-")


def cluster_name(dag_id: str, run_id: str, cluster_key: str) -> str:
    """``ds-<dag>-<key>-<hash10>``: ≤51 chars of ``[a-z][-a-z0-9]*``, not ending in '-'.

    The hash covers the full (dag_id, run_id, cluster_key), so two runs never share a cluster
    while the readable part shows whose cluster it is in the console.
    """
    digest = _digest("cluster", dag_id, run_id, cluster_key, size=10)
    room = CLUSTER_NAME_MAX - len("ds-") - len(digest) - 1  # 37 chars for "<dag>-<key>"
    key = _slug(cluster_key, 16)
    dag = _slug(dag_id, room - len(key) - (1 if key else 0))
    readable = "-".join(p for p in (dag, key) if p)
    return f"ds-{readable}-{digest}" if readable else f"ds-{digest}"


def job_id(dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str:
    """Base id of a task's Dataproc job: ``<task>[-m<i>]_<hash16>``, ≤94 chars of ``[A-Za-z0-9_-]``.

    No try number (see the module docstring); room is left for the ``-r<n>`` attempt suffix.
    """
    index = -1 if map_index is None else int(map_index)
    digest = _digest("job", dag_id, run_id, task_id, index, size=16)
    readable = _JOB_RE.sub("-", task_id).strip("-_")
    if index >= 0:
        readable = f"{readable}-m{index}"
    room = JOB_ID_MAX - MAX_ATTEMPT_SUFFIX - len(digest) - 1
    readable = readable[:room].rstrip("-_")
    return f"{readable}_{digest}" if readable else digest


def job_attempt_id(base: str, attempt: int) -> str:
    """The id of attempt ``attempt`` (1-based) of a job: the base id, then ``<base>-r<n>``."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    return base if attempt == 1 else f"{base}-r{attempt}"


def batch_id(dag_id: str, run_id: str, batch_key: str, map_index: int | None = None) -> str:
    """Base id of a serverless batch: ``<key>-<hash12>``, ``[a-z][a-z0-9-]*[a-z0-9]``, ≤57 chars."""
    index = -1 if map_index is None else int(map_index)
    digest = _digest("batch", dag_id, run_id, batch_key, index, size=12)
    room = BATCH_ID_MAX - MAX_ATTEMPT_SUFFIX - len(digest) - len("b-") - 1
    readable = _slug(batch_key + (f"-m{index}" if index >= 0 else ""), room)
    return f"b-{readable}-{digest}" if readable else f"b-{digest}"


def batch_attempt_id(base: str, attempt: int) -> str:
    """Attempt ``attempt`` of a batch: the base id, then ``<base>-r<n>``."""
    return job_attempt_id(base, attempt)


def request_id(operation: str, *parts: object) -> str:
    """A request id (≤40 chars ``[a-z0-9-]``) unique to ``operation`` and its ``parts``."""
    tag = _slug(operation, 6) or "req"
    return f"{tag}-{_digest(operation, *parts, size=REQUEST_ID_MAX - len(tag) - 1)}"


def label_value(text: object) -> str:
    """A Google label value (≤63 chars ``[a-z0-9_-]``); long values keep a hash of the whole."""
    value = _LABEL_RE.sub("-", str(text).lower())
    if len(value) > LABEL_MAX:
        value = f"{value[: LABEL_MAX - 9]}-{_digest(text, size=8)}"
    return value


def label_key(text: str) -> str:
    """A Google label key: like a value, but non-empty and starting with a letter."""
    key = label_value(text)
    if not key or not key[0].isalpha():
        key = f"k{key}"[:LABEL_MAX]
    return key


def ownership_labels(dag_id: str, run_id: str, cluster_key: str, task_id: str | None = None) -> dict[str, str]:
    """Labels marking a cluster as created by this run for this cluster key (checked before reuse/delete)."""
    labels = {
        "dagspec-dag": label_value(dag_id),
        "dagspec-run": label_value(run_id),
        "dagspec-cluster": label_value(cluster_key),
    }
    if task_id:
        labels["dagspec-task"] = label_value(task_id)
    return labels


def job_labels(dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
    """Labels put on every job and batch the provider submits."""
    return {"dagspec-dag": label_value(dag_id), "dagspec-run": label_value(run_id), "dagspec-task": label_value(task_id)}


def owned_by(labels: dict[str, str] | None, expected: dict[str, str]) -> bool:
    """Whether ``labels`` carry the identity labels in ``expected`` (``dagspec-task`` is informative only)."""
    labels = labels or {}
    return all(labels.get(k) == v for k, v in expected.items() if k != "dagspec-task")


def workflow_key(dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str:
    """The value of the ``dagspec-workflow`` label of a task's workflow instances (every attempt)."""
    index = -1 if map_index is None else int(map_index)
    return f"wf-{_digest('workflow', dag_id, run_id, task_id, index, size=32)}"


def workflow_labels(dag_id: str, run_id: str, task_id: str, map_index: int | None, attempt: int) -> dict[str, str]:
    """Labels of attempt ``attempt`` of a task's workflow: its key and attempt, and the job labels."""
    return {**job_labels(dag_id, run_id, task_id), WORKFLOW_LABEL: workflow_key(dag_id, run_id, task_id, map_index),
            WORKFLOW_ATTEMPT_LABEL: str(int(attempt))}

"""Dataproc's documented naming rules for labels and workflow templates, as pure checks (no Google imports).

One home for rules both the emulator (which refuses a request with INVALID_ARGUMENT) and
``dagspec validate`` (which reports a diagnostic on the template's line) enforce. Each check
returns a sentence saying what is wrong, or None. The sources are the proto docstrings shipped in
google-cloud-dataproc (``types/clusters.py`` ``Cluster.labels``, ``types/jobs.py`` ``Job.labels``,
``types/workflow_templates.py`` ``ManagedCluster``, ``OrderedJob``, ``TemplateParameter``,
``RegexValidation``) and Google Cloud's label requirements (international characters allowed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

__all__ = [
    "MAX_LABELS",
    "MAX_LABEL_LENGTH",
    "MAX_PARAMETER_VALUE",
    "MAX_PREFIX_LENGTH",
    "label_issues",
    "label_problems",
    "managed_cluster_prefix_problem",
    "parameter_name_problem",
    "parameter_value_problem",
    "step_id_problem",
]

MAX_LABELS = 32  # "No more than 32 labels can be associated with a cluster / job / batch / template"
MAX_LABEL_LENGTH = 63
MAX_PARAMETER_VALUE = 1000  # InstantiateWorkflowTemplateRequest.parameters: "Values may not exceed 1000 characters"
MAX_PREFIX_LENGTH = 35  # ManagedCluster.cluster_name: "Must consist of between 2 and 35 characters"

_STEP_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{1,48})[A-Za-z0-9]$")
_PARAMETER_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,39}$")
_PREFIX = re.compile(r"^[a-z](?:[a-z0-9-]{0,33})[a-z0-9]$")


def _lower_letter(ch: str) -> bool:
    """``\\p{Ll}`` or ``\\p{Lo}``: a lower-case letter, or a letter without case (international)."""
    return unicodedata.category(ch) in ("Ll", "Lo")


def _label_char(ch: str) -> bool:
    """``[\\p{Ll}\\p{Lo}\\p{N}_-]``: what label keys (after the first) and values may hold."""
    return _lower_letter(ch) or unicodedata.category(ch).startswith("N") or ch in "_-"


def _label_key_problem(key: str) -> str | None:
    if not key or len(key) > MAX_LABEL_LENGTH:
        return f"label key `{key}` must be 1 to {MAX_LABEL_LENGTH} characters long"
    if not _lower_letter(key[0]):
        return f"label key `{key}` must start with a lower-case letter"
    bad = sorted({ch for ch in key[1:] if not _label_char(ch)})
    if bad:
        return (f"label key `{key}` may hold only lower-case letters, digits, `_` and `-` "
                f"(not {' '.join(repr(c) for c in bad)})")
    return None


def _label_value_problem(key: str, value: str) -> str | None:
    if len(value) > MAX_LABEL_LENGTH:
        return f"label `{key}`: the value must be at most {MAX_LABEL_LENGTH} characters long"
    bad = sorted({ch for ch in value if not _label_char(ch)})
    if bad:
        return (f"label `{key}`: the value `{value}` may hold only lower-case letters, digits, `_` and `-` "
                f"(not {' '.join(repr(c) for c in bad)})")
    return None


def label_issues(labels: Mapping[str, str]) -> list[tuple[str | None, bool, str]]:
    """``(key, in_value, problem)`` for everything Dataproc would refuse about ``labels`` (key None: the whole
    map; ``in_value``: the value is wrong, not the key)."""
    issues: list[tuple[str | None, bool, str]] = []
    if len(labels) > MAX_LABELS:
        issues.append((None, False, f"{len(labels)} labels, but at most {MAX_LABELS} can be associated with a resource"))
    for key, value in labels.items():
        key_problem = _label_key_problem(str(key))
        value_problem = None if key_problem else _label_value_problem(str(key), str(value))
        if key_problem or value_problem:
            issues.append((str(key), value_problem is not None, str(key_problem or value_problem)))
    return issues


def label_problems(labels: Mapping[str, str]) -> list[str]:
    """Everything Dataproc would refuse about ``labels``, as sentences."""
    return [problem for _, _, problem in label_issues(labels)]


def step_id_problem(step_id: str) -> str | None:
    """OrderedJob.step_id: 3-50 of ``[A-Za-z0-9_-]``, not starting or ending with ``_`` or ``-``."""
    if _STEP_ID.match(step_id):
        return None
    if not 3 <= len(step_id) <= 50:
        return f"step id `{step_id}` must be 3 to 50 characters long (it has {len(step_id)})"
    if step_id[0] in "_-" or step_id[-1] in "_-":
        return f"step id `{step_id}` must not start or end with `_` or `-`"
    return f"step id `{step_id}` may hold only letters, digits, `_` and `-`"


def parameter_name_problem(name: str) -> str | None:
    """TemplateParameter.name: capital letters, digits and ``_``, not starting with a digit, at most 40."""
    if _PARAMETER_NAME.match(name):
        return None
    if not name or len(name) > 40:
        return f"parameter name `{name}` must be 1 to 40 characters long"
    if name[0].isdigit():
        return f"parameter name `{name}` must not start with a digit"
    return f"parameter name `{name}` may hold only capital letters (A-Z), digits and `_`"


def managed_cluster_prefix_problem(name: str) -> str | None:
    """ManagedCluster.cluster_name (a prefix Dataproc appends a suffix to): 2-35 of ``[a-z0-9-]``, a letter
    first, no ``-`` at either end."""
    if _PREFIX.match(name):
        return None
    if not 2 <= len(name) <= MAX_PREFIX_LENGTH:
        return f"managed cluster name `{name}` must be 2 to {MAX_PREFIX_LENGTH} characters long (it has {len(name)})"
    return (f"managed cluster name `{name}` must start with a lower-case letter, hold only lower-case letters, "
            "digits and `-`, and not end with `-`")


def parameter_value_problem(name: str, value: str, regexes: Iterable[str] = (), values: Iterable[str] = ()) -> str | None:
    """A parameter value against its validation: a regex must match the *whole* value (RegexValidation:
    "substring matches are not sufficient"); ``values`` must contain it exactly."""
    if len(value) > MAX_PARAMETER_VALUE:
        return f"parameter {name}: the value is longer than {MAX_PARAMETER_VALUE} characters"
    regexes, values = list(regexes), list(values)
    if regexes:
        for regex in regexes:
            try:
                if re.fullmatch(regex, value):
                    return None
            except re.error:
                continue
        return f"parameter {name}: value `{value}` does not match any of the regexes {regexes} in full"
    if values and value not in values:
        return f"parameter {name}: value `{value}` is not one of {values}"
    return None

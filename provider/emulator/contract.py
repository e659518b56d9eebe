"""Dataproc's documented request rules the emulator refuses with INVALID_ARGUMENT: labels and workflow templates.

The rules themselves live in ``dagspec.provider.dataproc_rules`` (shared with ``dagspec validate``);
this module turns a broken rule into the gRPC error Dataproc answers with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc  # type: ignore[import-untyped]

from ..dataproc_rules import (
    label_problems,
    managed_cluster_prefix_problem,
    parameter_name_problem,
    parameter_value_problem,
    step_id_problem,
)
from .common import ApiError

__all__ = ["check_labels", "check_parameter_values", "check_template_names"]


def _invalid(what: str, problems: list[str]) -> ApiError:
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid argument: {what}: " + "; ".join(problems))


def check_labels(labels: Mapping[str, str], what: str) -> None:
    """INVALID_ARGUMENT unless ``labels`` follow Dataproc's label rules (at most 32, lower-case keys and values)."""
    problems = label_problems(dict(labels))
    if problems:
        raise _invalid(what, problems)


def check_template_names(template: Any) -> None:
    """Step ids, parameter names, the managed cluster's name prefix and every label map of a template."""
    problems: list[str] = []
    for job in template.jobs:
        problem = step_id_problem(job.step_id)
        if problem:
            problems.append(problem)
        problems += [f"step {job.step_id}: {p}" for p in label_problems(dict(job.labels))]
    for parameter in template.parameters:
        problem = parameter_name_problem(parameter.name)
        if problem:
            problems.append(problem)
    problems += [f"template {p}" for p in label_problems(dict(template.labels))]
    if template.placement.HasField("managed_cluster"):
        managed = template.placement.managed_cluster
        problem = managed_cluster_prefix_problem(managed.cluster_name)
        if problem:
            problems.append(problem)
        problems += [f"managed cluster {p}" for p in label_problems(dict(managed.labels))]
    if problems:
        raise _invalid("workflow template", problems)


def check_parameter_values(template: Any, values: Mapping[str, str]) -> None:
    """Each given value against its parameter's validation (a regex must match the whole value)."""
    problems: list[str] = []
    for parameter in template.parameters:
        if parameter.name not in values:
            continue
        validation = parameter.validation
        problem = parameter_value_problem(parameter.name, values[parameter.name],
                                          regexes=list(validation.regex.regexes), values=list(validation.values.values))
        if problem:
            problems.append(problem)
    if problems:
        raise _invalid("InstantiateWorkflowTemplate parameters", problems)

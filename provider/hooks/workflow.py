"""Dataproc workflow templates through the WorkflowTemplateService client: instantiate, observe, cancel.

``WorkflowHook`` adds the WorkflowTemplateService client to ``DataprocHook`` (built the same way,
from the same settings: insecure gRPC for the emulator, the regional endpoint otherwise) with the
few calls the workflow operator and trigger make. The protobuf side of templates lives here too:
an inline template dict becomes a ``WorkflowTemplate`` (with parameter values written into the
fields they name, through ``provider.fieldpath``), and a workflow operation's metadata becomes
plain facts (``workflow_progress``), so operators and triggers never touch ``dataproc_v1``.
Like ``hooks/dataproc.py``, Google libraries are imported inside the functions: the operators
import this module when a DAG file is parsed, and that must stay cheap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from .. import errors
from ..errors import ConfigurationError
from ..fieldpath import FieldPathError, set_field
from ..lifecycle import ObservedWorkflow, job_phase
from ..naming import WORKFLOW_ATTEMPT_LABEL, WORKFLOW_LABEL
from .dataproc import DataprocHook

__all__ = ["WorkflowHook", "check_parameters", "inline_template", "observed_workflow", "workflow_progress",
           "step_of"]

_METADATA_TYPE = "google.cloud.dataproc.v1.WorkflowMetadata"
_SERVER_FIELDS = ("name", "version", "createTime", "updateTime", "create_time", "update_time")

_CALL_TIMEOUT = 60.0


class WorkflowHook(DataprocHook):
    """``DataprocHook`` plus workflow templates: instantiate (stored or inline), observe, cancel."""

    @cached_property
    def workflows(self) -> Any:
        return self._client("workflow_template_service", "WorkflowTemplateService")

    def parent(self) -> str:
        return f"projects/{self.project_id}/regions/{self.region}"

    def template_path(self, name: str) -> str:
        """A stored template's resource name from its id (a full name is kept)."""
        return name if name.startswith("projects/") else f"{self.parent()}/workflowTemplates/{name}"

    def get_template(self, template_name: str) -> Any:
        """A stored template (``WorkflowTemplate``)."""
        return self.call(self.workflows.get_workflow_template, request={"name": self.template_path(template_name)},
                         timeout=_CALL_TIMEOUT)

    def check_stored_parameters(self, template_name: str, values: Mapping[str, Any]) -> None:
        """Raise ``ConfigurationError`` when ``values`` do not fit the stored template's declared parameters."""
        from google.protobuf import json_format  # type: ignore[import-untyped]  # parse-path cost

        stored = self.get_template(template_name)
        check_parameters(json_format.MessageToDict(type(stored).pb(stored)), values)

    def instantiate(self, template_name: str, parameters: Mapping[str, str], request_id: str) -> Any:
        """Instantiate a stored template; returns the workflow's operation (``operations_pb2.Operation``)."""
        request = {"name": self.template_path(template_name), "parameters": dict(parameters), "request_id": request_id}
        future = self.call(self.workflows.instantiate_workflow_template, request=request, timeout=_CALL_TIMEOUT)
        return future.operation

    def instantiate_inline(self, template: Any, request_id: str) -> Any:
        """Instantiate an inline template (a ``WorkflowTemplate`` message); returns the workflow's operation."""
        request = {"parent": self.parent(), "template": template, "request_id": request_id}
        future = self.call(self.workflows.instantiate_inline_workflow_template, request=request, timeout=_CALL_TIMEOUT)
        return future.operation

    def stored_as_dict(self, template_name: str) -> dict[str, Any]:
        """A stored template as an inline template dict (camelCase), without its server-set fields."""
        from google.protobuf import json_format  # type: ignore[import-untyped]  # parse-path cost

        stored = self.get_template(template_name)
        data = json_format.MessageToDict(type(stored).pb(stored))
        for key in _SERVER_FIELDS:
            data.pop(key, None)
        return data

    def list_jobs(self, labels: Mapping[str, str]) -> list[Any]:
        """Jobs of the project/region carrying all ``labels`` (also filtered here, so any server works)."""
        flt = " AND ".join(f"labels.{k} = {v}" for k, v in labels.items())
        found = self.call(lambda: list(self.jobs.list_jobs(request={**self._where(), "filter": flt},
                                                           timeout=_CALL_TIMEOUT)))
        return [j for j in found if all(j.labels.get(k) == v for k, v in labels.items())]

    def workflow_operations(self, cluster_name: str = "") -> list[Any]:
        """The workflow operations of the project/region (``Operation`` whose metadata is ``WorkflowMetadata``);
        with ``cluster_name``, the server lists only the operations on that cluster (Dataproc's operations
        filter ``clusterName = NAME``, as ``gcloud dataproc operations list`` documents it), not the region's."""
        request = {"name": f"{self.parent()}/operations", "filter": f"clusterName = {cluster_name}" if cluster_name
                   else ""}
        out: list[Any] = []
        token = ""
        while True:
            response = self.call(self.workflows.list_operations, request={**request, "page_token": token},
                                 timeout=_CALL_TIMEOUT)
            out += [op for op in response.operations if op.metadata.type_url.endswith(_METADATA_TYPE)]
            token = response.next_page_token
            if not token:
                return out

    def find_instance(self, key: str, steps: list[str]) -> tuple[ObservedWorkflow | None, dict[str, Any]]:
        """The latest attempt of the workflow labelled ``dagspec-workflow=key``, found without any request_id.

        Its jobs and its (managed) cluster carry the template's labels; its operation is the one whose
        ``WorkflowMetadata`` names one of those jobs or that cluster. When the operation is not listed,
        the jobs tell: still running, failed, or every step in ``steps`` DONE. Also returns
        ``{"cluster_name", "jobs": {step: job id}}`` of that attempt.
        """
        from google.cloud import dataproc_v1  # parse-path cost

        label = {WORKFLOW_LABEL: key}
        attempts: dict[int, tuple[list[Any], list[str]]] = {}
        for job in self.list_jobs(label):
            attempts.setdefault(_attempt(job.labels), ([], []))[0].append(job)
        for cluster in self.list_clusters(label):
            attempts.setdefault(_attempt(cluster.labels), ([], []))[1].append(cluster.cluster_name)
        if not attempts:
            return None, {}
        n = max(attempts)
        jobs, clusters = attempts[n]
        ids = {j.reference.job_id for j in jobs}
        facts = {"cluster_name": jobs[0].placement.cluster_name if jobs else (clusters[0] if clusters else ""),
                 "jobs": {step_of(j.reference.job_id, steps): j.reference.job_id for j in jobs}}
        # the attempt's workflow ran on its managed cluster, or on the selected cluster its jobs ran on
        for name in dict.fromkeys([*clusters, *(j.placement.cluster_name for j in jobs)]):
            for op in self.workflow_operations(name) if name else ():
                meta = dataproc_v1.WorkflowMetadata.deserialize(op.metadata.value)
                if meta.cluster_name in clusters or any(node.job_id in ids for node in meta.graph.nodes):
                    return observed_workflow(n, op), facts
        states = {j.reference.job_id: j.status.state.name for j in jobs}
        running = bool(clusters) or any(job_phase(s) in ("active", "cancelling") for s in states.values())
        failed = [f"job {i} ended in {s}" for i, s in sorted(states.items()) if job_phase(s) == "failed"]
        missing = [s for s in steps if s not in facts["jobs"]]
        if not running and not failed and missing:
            failed = [f"steps {missing} have no job"]
        return ObservedWorkflow(n, done=not running, error=failed[0] if failed else None, name=""), facts

    def get_operation(self, name: str) -> Any:
        return self.call(self.workflows.get_operation, request={"name": name}, timeout=_CALL_TIMEOUT)

    def progress(self, name: str) -> dict[str, Any]:
        """``workflow_progress`` of the operation ``name``."""
        return workflow_progress(self.get_operation(name))

    def cancel_operation(self, name: str) -> None:
        """Cancel a workflow: Dataproc cancels its jobs and deletes its managed cluster. Done/absent is fine."""
        try:
            self.call(self.workflows.cancel_operation, request={"name": name}, timeout=_CALL_TIMEOUT)
        except (errors.NotFound, errors.PreconditionFailed, errors.InvalidRequest) as exc:
            self.log.info("workflow %s not cancelled: %s", name, exc)


def check_parameters(template: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The template's declared parameters by name; raises when ``values`` has unknown or invalid ones."""
    declared = {p["name"]: p for p in template.get("parameters", [])}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ConfigurationError(f"unknown template parameters {unknown}; the template declares {sorted(declared)}")
    for name, raw in values.items():
        value = str(raw)
        validation = declared[name].get("validation") or {}
        regexes = (validation.get("regex") or {}).get("regexes")
        allowed = (validation.get("values") or {}).get("values")
        if regexes and not any(re.fullmatch(r, value) for r in regexes):
            raise ConfigurationError(f"parameter {name}={value!r} does not match {regexes}")
        if allowed and value not in allowed:
            raise ConfigurationError(f"parameter {name}={value!r} is not one of {allowed}")
    return declared


def inline_template(template: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
    """The inline template (camelCase or snake_case dict) as a ``WorkflowTemplate`` with ``values`` applied.

    An inline template has no parameters in the API, so they are checked against its ``parameters``
    (regex/values) and written into the fields they name here.
    """
    from google.cloud import dataproc_v1  # parse-path cost
    from google.protobuf import json_format  # type: ignore[import-untyped]

    message = dataproc_v1.WorkflowTemplate.pb()()
    try:
        json_format.ParseDict(dict(template), message)
    except json_format.ParseError as exc:
        raise ConfigurationError(f"the inline workflow template is not valid: {exc}") from exc
    if not values:
        return dataproc_v1.WorkflowTemplate.wrap(message)
    data = json_format.MessageToDict(message)
    declared = check_parameters(data, values)
    for name, raw in values.items():
        for path in declared[name].get("fields", []):
            try:
                set_field(data, path, str(raw))
            except FieldPathError as exc:
                raise ConfigurationError(f"parameter field {path}: {exc}") from None
    out = dataproc_v1.WorkflowTemplate.pb()()
    try:
        json_format.ParseDict(data, out)
    except json_format.ParseError as exc:
        raise ConfigurationError(f"the parameter values do not fit the template: {exc}") from exc
    return dataproc_v1.WorkflowTemplate.wrap(out)


def _attempt(labels: Mapping[str, str]) -> int:
    value = labels.get(WORKFLOW_ATTEMPT_LABEL, "1")
    return int(value) if value.isdigit() else 1


def step_of(job_id: str, steps: list[str]) -> str:
    """The step a workflow job belongs to: Dataproc names them ``<step id>-<suffix>`` (longest match wins)."""
    matches = [s for s in steps if job_id.startswith(f"{s}-")]
    return max(matches, key=len) if matches else job_id


def observed_workflow(attempt: int, operation: Any) -> ObservedWorkflow:
    """What ``decide_workflow`` needs of the operation an attempt's Instantiate returned."""
    failed = operation.HasField("error")
    return ObservedWorkflow(attempt, done=bool(operation.done), error=operation.error.message if failed else None,
                            name=operation.name)


def workflow_progress(operation: Any) -> dict[str, Any]:
    """Plain facts of a workflow operation: done, error, state, cluster and each step's job and state."""
    from google.cloud import dataproc_v1  # parse-path cost

    meta = dataproc_v1.WorkflowMetadata.deserialize(operation.metadata.value) if operation.metadata.value else None
    steps = {}
    if meta is not None:
        for node in meta.graph.nodes:
            steps[node.step_id] = {"job_id": node.job_id, "state": node.state.name,
                                   "prerequisites": list(node.prerequisite_step_ids), "error": node.error}
    return {
        "operation": operation.name,
        "done": bool(operation.done),
        "error": operation.error.message if operation.HasField("error") else None,
        "error_code": int(operation.error.code) if operation.HasField("error") else 0,
        "state": meta.state.name if meta is not None else "UNKNOWN",
        "cluster_name": meta.cluster_name if meta is not None else "",
        "steps": steps,
    }

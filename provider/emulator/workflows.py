"""WorkflowTemplateService: stored templates and instantiation (managed cluster, jobs in DAG order, teardown)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.longrunning import operations_pb2 as o  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format  # type: ignore[import-untyped]

from ..fieldpath import FieldPathError, set_field
from .backend import Backend, JobRecord
from .clusters import ClusterService
from .common import ApiError, check_request_id, duration_seconds, page, require, timestamp
from .contract import check_parameter_values, check_template_names
from .jobs import JobService
from .messages import ClusterState, JobState, NodeState, WorkflowState, pb
from .operations import OperationRecord

__all__ = ["WorkflowService"]

_PARENT = re.compile(r"^projects/([^/]+)/(?:regions|locations)/([^/]+)$")
_TEMPLATE = re.compile(r"^projects/([^/]+)/(?:regions|locations)/([^/]+)/workflowTemplates/([^/]+)$")
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


def _parent(parent: str) -> tuple[str, str]:
    match = _PARENT.match(parent)
    if not match:
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                       f"Invalid argument: parent '{parent}' must be projects/PROJECT/regions/REGION")
    return match.group(1), match.group(2)


class WorkflowService:
    """google.cloud.dataproc.v1.WorkflowTemplateService."""

    SERVICE = "google.cloud.dataproc.v1.WorkflowTemplateService"

    def __init__(self, backend: Backend, clusters: ClusterService, jobs: JobService) -> None:
        self.backend = backend
        self.clusters = clusters
        self.jobs = jobs
        self.templates: dict[str, Any] = {}

    def methods(self) -> dict[str, tuple[Callable, type, type]]:
        return {
            "CreateWorkflowTemplate": (self.create_rpc, pb.CreateWorkflowTemplateRequest, pb.WorkflowTemplate),
            "GetWorkflowTemplate": (self.get_rpc, pb.GetWorkflowTemplateRequest, pb.WorkflowTemplate),
            "UpdateWorkflowTemplate": (self.update_rpc, pb.UpdateWorkflowTemplateRequest, pb.WorkflowTemplate),
            "ListWorkflowTemplates": (self.list_rpc, pb.ListWorkflowTemplatesRequest,
                                      pb.ListWorkflowTemplatesResponse),
            "DeleteWorkflowTemplate": (self.delete_rpc, pb.DeleteWorkflowTemplateRequest, empty_pb2.Empty),
            "InstantiateWorkflowTemplate": (self.instantiate_rpc, pb.InstantiateWorkflowTemplateRequest, o.Operation),
            "InstantiateInlineWorkflowTemplate": (self.instantiate_inline_rpc,
                                                  pb.InstantiateInlineWorkflowTemplateRequest, o.Operation),
        }

    # -- stored templates --------------------------------------------------------------------------
    def create_rpc(self, request: Any) -> Any:
        project, region = _parent(request.parent)
        template = request.template
        if not _TEMPLATE_ID.match(template.id):
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Invalid argument: template id '{template.id}' must be 1-50 of [A-Za-z0-9_-]")
        _validate(template)
        name = f"projects/{project}/regions/{region}/workflowTemplates/{template.id}"
        with self.backend.lock:
            if name in self.templates:
                raise ApiError(grpc.StatusCode.ALREADY_EXISTS, f"Already exists: Workflow template {name}")
            stored = pb.WorkflowTemplate()
            stored.CopyFrom(template)
            stored.name, stored.version = name, 1
            stored.create_time.CopyFrom(timestamp(self.backend.clock.now()))
            stored.update_time.CopyFrom(stored.create_time)
            self.templates[name] = stored
            return _copy(stored)

    def _stored(self, name: str, version: int = 0) -> Any:
        with self.backend.lock:
            stored = self.templates.get(name)
        if stored is None or (version and stored.version != version):
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Not found: Workflow template {name}"
                           + (f" version {version}" if version else ""))
        return stored

    def get_rpc(self, request: Any) -> Any:
        return _copy(self._stored(request.name, request.version))

    def update_rpc(self, request: Any) -> Any:
        template = request.template
        stored = self._stored(template.name)
        _validate(template)
        with self.backend.lock:
            if template.version != stored.version:
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"Template version {template.version} does not match current version {stored.version}")
            updated = _copy(template)
            updated.version = stored.version + 1
            updated.create_time.CopyFrom(stored.create_time)
            updated.update_time.CopyFrom(timestamp(self.backend.clock.now()))
            self.templates[stored.name] = updated
            return _copy(updated)

    def list_rpc(self, request: Any) -> Any:
        project, region = _parent(request.parent)
        with self.backend.lock:
            items = [_copy(t) for n, t in sorted(self.templates.items())
                     if n.startswith(f"projects/{project}/regions/{region}/")]
        chunk, token = page(items, request.page_size, request.page_token)
        return pb.ListWorkflowTemplatesResponse(templates=chunk, next_page_token=token)

    def delete_rpc(self, request: Any) -> Any:
        stored = self._stored(request.name)
        if request.version and request.version != stored.version:
            raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                           f"Template version {request.version} does not match current version {stored.version}")
        with self.backend.lock:
            self.templates.pop(request.name, None)
        return empty_pb2.Empty()

    # -- instantiation ------------------------------------------------------------------------------
    def instantiate_rpc(self, request: Any) -> Any:
        match = _TEMPLATE.match(request.name)
        if not match:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid template name '{request.name}'")
        project, region = match.group(1), match.group(2)
        stored = self._stored(request.name, request.version)
        template = _apply_parameters(stored, dict(request.parameters))
        return self._instantiate(project, region, template, request.request_id, dict(request.parameters))

    def instantiate_inline_rpc(self, request: Any) -> Any:
        project, region = _parent(request.parent)
        _validate(request.template)
        return self._instantiate(project, region, request.template, request.request_id, {})

    def _instantiate(self, project: str, region: str, template: Any, request_id: str, params: dict) -> Any:
        check_request_id(request_id)
        replay = self.backend.replay("InstantiateWorkflow", project, region, request_id)
        if replay is not None and (self.backend.workflow_replay == "retained" or not replay.pb.done):
            return self.backend.ops.snapshot(replay)
        meta = pb.WorkflowMetadata(template=template.name or template.id, version=template.version,
                                   state=WorkflowState.PENDING, parameters=params)
        meta.start_time.CopyFrom(timestamp(self.backend.clock.now()))
        if template.HasField("dag_timeout"):
            meta.dag_timeout.CopyFrom(template.dag_timeout)
        for job in template.jobs:
            node = meta.graph.nodes.add(step_id=job.step_id, prerequisite_step_ids=list(job.prerequisite_step_ids))
            node.state = NodeState.BLOCKED if job.prerequisite_step_ids else NodeState.RUNNABLE
        run = _Run(project, region, _copy(template), meta)
        op = self.backend.ops.create(project, region, meta, cancel=run.cancelled.set)
        run.op = op
        self.backend.remember("InstantiateWorkflow", project, region, request_id, op)
        self.backend.spawn(self._run, run, name=f"workflow-{template.id or 'inline'}")
        return self.backend.ops.snapshot(op)

    def _publish(self, run: _Run) -> None:
        assert run.op is not None
        self.backend.ops.set_metadata(run.op, run.meta)

    def _run(self, run: _Run) -> None:
        run.meta.state = WorkflowState.RUNNING
        self._publish(run)
        error = self._acquire_cluster(run)
        if error is None:
            run.meta.dag_start_time.CopyFrom(timestamp(self.backend.clock.now()))
            self._publish(run)
            error = self._run_jobs(run)
            run.meta.dag_end_time.CopyFrom(timestamp(self.backend.clock.now()))
        if run.managed and run.meta.cluster_name:
            self._delete_cluster(run)
        run.meta.state = WorkflowState.DONE
        run.meta.end_time.CopyFrom(timestamp(self.backend.clock.now()))
        assert run.op is not None
        if error:
            self.backend.ops.finish(run.op, error=error, metadata=run.meta)
        else:
            self.backend.ops.finish(run.op, response=empty_pb2.Empty(), metadata=run.meta)

    def _acquire_cluster(self, run: _Run) -> tuple[grpc.StatusCode, str] | None:
        placement = run.template.placement
        if placement.HasField("managed_cluster"):
            managed = placement.managed_cluster
            # WorkflowTemplate.labels "will be propagated to all jobs and clusters created by the workflow instance"
            cluster = pb.Cluster(cluster_name=f"{managed.cluster_name[:38]}-{uuid.uuid4().hex[:12]}",
                                 labels={**dict(run.template.labels), **dict(managed.labels)})
            cluster.config.CopyFrom(managed.config)
            labels = {"goog-dataproc-workflow-instance-id": run.instance_id,
                      "goog-dataproc-workflow-template-id": run.template.id or "inline"}
            try:
                op = self.clusters.create(run.project, run.region, cluster, extra_labels=labels)
            except ApiError as err:
                run.meta.create_cluster.error, run.meta.create_cluster.done = err.message, True
                return err.code, err.message
            run.managed = True
            run.meta.cluster_name = cluster.cluster_name
            run.meta.create_cluster.operation_id = op.pb.name
            self._publish(run)
            if not self.backend.wait_done(op):
                return grpc.StatusCode.UNAVAILABLE, "Emulator is shutting down"
            run.meta.create_cluster.done = True
            if op.pb.HasField("error"):
                run.meta.create_cluster.error = op.pb.error.message
                return grpc.StatusCode.UNKNOWN, f"Managed cluster creation failed: {op.pb.error.message}"
            run.meta.cluster_uuid = self.backend.cluster(run.project, run.region, cluster.cluster_name).pb.cluster_uuid
            return None
        wanted = dict(placement.cluster_selector.cluster_labels)
        with self.backend.lock:
            matches = [r for (p, reg, _), r in sorted(self.backend.clusters.items())
                       if p == run.project and reg == run.region and r.pb.status.state == ClusterState.RUNNING
                       and all(r.pb.labels.get(k) == v for k, v in wanted.items())]
        if not matches:
            return grpc.StatusCode.FAILED_PRECONDITION, f"No RUNNING cluster matches the cluster selector {wanted}"
        run.meta.cluster_name, run.meta.cluster_uuid = matches[0].name, matches[0].pb.cluster_uuid
        return None

    def _run_jobs(self, run: _Run) -> tuple[grpc.StatusCode, str] | None:
        nodes = {n.step_id: n for n in run.meta.graph.nodes}
        steps = {j.step_id: j for j in run.template.jobs}
        running: dict[str, JobRecord] = {}
        failure: tuple[grpc.StatusCode, str] | None = None
        timeout = duration_seconds(run.template.dag_timeout) if run.template.HasField("dag_timeout") else None
        started = self.backend.clock.now()
        while True:
            if failure is None:
                for step_id, node in nodes.items():
                    ready = all(nodes[p].state == NodeState.COMPLETED for p in node.prerequisite_step_ids)
                    if node.state in (NodeState.BLOCKED, NodeState.RUNNABLE) and ready:
                        try:
                            running[step_id] = self._submit_step(run, steps[step_id], node)
                        except ApiError as err:
                            node.state, node.error = NodeState.FAILED, err.message
                            failure = (err.code, f"Step {step_id} could not be submitted: {err.message}")
                            break
                self._publish(run)
            for step_id, record in list(running.items()):
                if record.finished.is_set():
                    del running[step_id]
                    node = nodes[step_id]
                    if record.pb.status.state == JobState.DONE:
                        node.state = NodeState.COMPLETED
                    else:
                        node.state, node.error = NodeState.FAILED, record.pb.status.details
                        failure = failure or (grpc.StatusCode.UNKNOWN, f"Job {record.job_id} of step {step_id} "
                                              f"failed: {record.pb.status.details}")
                    self._publish(run)
            if failure is None and timeout is not None and self.backend.clock.now() - started >= timeout:
                failure = (grpc.StatusCode.DEADLINE_EXCEEDED, f"Workflow exceeded its dag_timeout of {timeout:g} s")
            if failure is None and run.cancelled.is_set():
                failure = (grpc.StatusCode.CANCELLED, "Workflow was cancelled")
            if failure is not None:
                for record in running.values():
                    record.cancel.set()
            if not running and (failure is not None or all(
                    n.state == NodeState.COMPLETED for n in nodes.values())):
                self._publish(run)
                return failure
            if not self.backend.sleep(0.05):
                return grpc.StatusCode.UNAVAILABLE, "Emulator is shutting down"

    def _submit_step(self, run: _Run, step: Any, node: Any) -> JobRecord:
        job = pb.Job()
        kind = step.WhichOneof("job_type")
        getattr(job, kind).CopyFrom(getattr(step, kind))
        job.labels.update(dict(run.template.labels))  # propagated from the template, as on Dataproc
        job.labels.update(dict(step.labels))
        job.labels["goog-dataproc-workflow-instance-id"] = run.instance_id
        if step.HasField("scheduling"):
            job.scheduling.CopyFrom(step.scheduling)
        job.reference.job_id = f"{step.step_id}-{run.instance_id[:13].replace('-', '')}"
        job.placement.cluster_name = run.meta.cluster_name
        record = self.jobs.submit(run.project, run.region, job)
        node.job_id, node.state = record.job_id, NodeState.RUNNING
        return record

    def _delete_cluster(self, run: _Run) -> None:
        try:
            op = self.clusters.delete(run.project, run.region, run.meta.cluster_name)
        except ApiError as err:
            run.meta.delete_cluster.error, run.meta.delete_cluster.done = err.message, True
            return
        run.meta.delete_cluster.operation_id = op.pb.name
        self._publish(run)
        run.meta.delete_cluster.done = self.backend.wait_done(op, 60)


class _Run:
    """One workflow instance in flight."""

    def __init__(self, project: str, region: str, template: Any, meta: Any) -> None:
        self.project, self.region, self.template, self.meta = project, region, template, meta
        self.instance_id = str(uuid.uuid4())
        self.managed = False
        self.cancelled = threading.Event()
        self.op: OperationRecord | None = None


def _copy(template: Any) -> Any:
    out = pb.WorkflowTemplate()
    out.CopyFrom(template)
    return out


def _validate(template: Any) -> None:
    """Jobs present, step ids unique, prerequisites known and acyclic, a placement chosen."""
    if not template.jobs:
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid argument: a workflow template needs jobs")
    if not (template.placement.HasField("managed_cluster") or template.placement.HasField("cluster_selector")):
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                       "Invalid argument: placement needs managed_cluster or cluster_selector")
    steps = [j.step_id for j in template.jobs]
    for step in steps:
        require(step, "jobs[].step_id")
    check_template_names(template)
    if len(set(steps)) != len(steps):
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid argument: duplicate step ids in {steps}")
    prereqs = {j.step_id: list(j.prerequisite_step_ids) for j in template.jobs}
    for step, needs in prereqs.items():
        unknown = [n for n in needs if n not in prereqs]
        if unknown:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Invalid argument: step {step} has unknown prerequisites {unknown}")
    done: set[str] = set()
    while len(done) < len(prereqs):
        ready = [s for s, needs in prereqs.items() if s not in done and all(n in done for n in needs)]
        if not ready:
            cycle = sorted(set(prereqs) - done)
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid argument: prerequisite cycle among {cycle}")
        done.update(ready)
    if template.HasField("dag_timeout") and not 600 <= duration_seconds(template.dag_timeout) <= 86400:
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                       "Invalid argument: dag_timeout must be between 10 minutes and 24 hours")
    for job in template.jobs:
        if job.WhichOneof("job_type") is None:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid argument: step {job.step_id} has no job")


def _apply_parameters(template: Any, values: dict[str, str]) -> Any:
    """Substitute parameter values into the fields each template parameter names (camelCase paths)."""
    declared = {p.name: list(p.fields) for p in template.parameters}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid argument: unknown template parameters {unknown}")
    check_parameter_values(template, values)
    if not values:
        return _copy(template)
    data = json_format.MessageToDict(template)
    for name, value in values.items():
        for path in declared[name]:
            try:
                set_field(data, path, value)
            except FieldPathError as exc:
                raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid argument: parameter {name}: {exc}") from None
    out = pb.WorkflowTemplate()
    json_format.ParseDict(data, out)
    return out

"""JobController: job state machines (PENDING→SETUP_DONE→RUNNING→DONE/ERROR/CANCELLED) on emulated clusters."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.longrunning import operations_pb2 as o  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format  # type: ignore[import-untyped]

from .backend import Backend, ClusterRecord, JobRecord
from .clusters import ClusterService
from .common import ApiError, check_job_id, check_request_id, page, parse_filter, require, timestamp
from .contract import check_labels
from .messages import ClusterState, JobState, JobStatusSubstate, pb
from .runner import UNSUPPORTED, JobSpec, RunResult, simulated, spec_from_job
from .yarn import track_yarn_application

__all__ = ["JobService"]

log = logging.getLogger(__name__)

_ACTIVE = {"PENDING", "SETUP_DONE", "RUNNING", "CANCEL_PENDING", "CANCEL_STARTED", "ATTEMPT_FAILURE"}
_INACTIVE = {"DONE", "ERROR", "CANCELLED"}
_TERMINAL = {JobState.DONE, JobState.ERROR, JobState.CANCELLED}


class JobService:
    """google.cloud.dataproc.v1.JobController, running jobs through the backend's JobRunner."""

    SERVICE = "google.cloud.dataproc.v1.JobController"

    def __init__(self, backend: Backend, clusters: ClusterService) -> None:
        self.backend = backend
        self.clusters = clusters
        clusters.on_cluster_gone.append(self._cluster_gone)

    def methods(self) -> dict[str, tuple[Callable, type, type]]:
        return {
            "SubmitJob": (self.submit_rpc, pb.SubmitJobRequest, pb.Job),
            "SubmitJobAsOperation": (self.submit_as_operation_rpc, pb.SubmitJobRequest, o.Operation),
            "GetJob": (self.get_rpc, pb.GetJobRequest, pb.Job),
            "ListJobs": (self.list_rpc, pb.ListJobsRequest, pb.ListJobsResponse),
            "UpdateJob": (self.update_rpc, pb.UpdateJobRequest, pb.Job),
            "CancelJob": (self.cancel_rpc, pb.CancelJobRequest, pb.Job),
            "DeleteJob": (self.delete_rpc, pb.DeleteJobRequest, empty_pb2.Empty),
        }

    # -- submit ---------------------------------------------------------------------------------
    def submit_rpc(self, request: Any) -> Any:
        return self.backend.copy_job(self.submit(request.project_id, request.region, request.job, request.request_id))

    def submit_as_operation_rpc(self, request: Any) -> Any:
        record = self.submit(request.project_id, request.region, request.job, request.request_id,
                             with_operation=True)
        assert record.operation is not None
        return self.backend.ops.snapshot(record.operation)

    def submit(self, project: str, region: str, job: Any, request_id: str = "",
               with_operation: bool = False) -> JobRecord:
        """Validate and queue ``job``; a replayed request id returns the job it created the first time."""
        require(project, "project_id")
        require(region, "region")
        check_request_id(request_id)
        replay = self.backend.replay("SubmitJob", project, region, request_id)
        if replay is not None:
            return replay  # type: ignore[no-any-return]
        if job.WhichOneof("type_job") is None:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid argument: the job has no job type "
                           "(set one of pyspark_job, spark_job, spark_sql_job, hive_job, ...)")
        job_id = job.reference.job_id or uuid.uuid4().hex
        check_job_id(job_id)
        check_labels(job.labels, "job labels")
        with self.backend.lock:
            # JobReference.job_id: "must be unique within the project" -- not only within the region
            taken = next((k for k in self.backend.jobs if k[0] == project and k[2] == job_id), None)
            if taken is not None:
                raise ApiError(grpc.StatusCode.ALREADY_EXISTS,
                               f"Already exists: Job projects/{project}/regions/{taken[1]}/jobs/{job_id}")
            cluster = self._placement(project, region, job)
            msg = pb.Job()
            msg.CopyFrom(job)
            msg.reference.project_id = project
            msg.reference.job_id = job_id
            msg.placement.cluster_name = cluster.name
            msg.placement.cluster_uuid = cluster.pb.cluster_uuid
            msg.job_uuid = str(uuid.uuid4())
            base = f"gs://{cluster.bucket}/google-cloud-dataproc-metainfo/{cluster.pb.cluster_uuid}/jobs/{job_id}"
            msg.driver_control_files_uri = base + "/"
            msg.driver_output_resource_uri = base + "/driveroutput"
            record = JobRecord(project=project, region=region, pb=msg,
                               cluster_key=(project, region, cluster.name))
            self._set_state(record, JobState.PENDING)
            cluster.active_jobs.add(job_id)
            cluster.idle_since = None
            if with_operation:
                meta = pb.JobMetadata(job_id=job_id, operation_type="SUBMIT_JOB", status=msg.status)
                meta.start_time.CopyFrom(timestamp(self.backend.clock.now()))
                record.operation = self.backend.ops.create(project, region, meta, cancel=lambda: self._cancel(record))
            self.backend.jobs[(project, region, job_id)] = record
            self.backend.remember("SubmitJob", project, region, request_id, record)
        self.backend.spawn(self._execute, record, name=f"job-{job_id}")
        return record

    def _placement(self, project: str, region: str, job: Any) -> ClusterRecord:
        name = job.placement.cluster_name
        labels = dict(job.placement.cluster_labels)
        if not name and not labels:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           "Invalid argument: job.placement needs cluster_name or cluster_labels")
        candidates = [
            r for (p, reg, n), r in sorted(self.backend.clusters.items())
            if p == project and reg == region and (not name or n == name)
            and all(r.pb.labels.get(k) == v for k, v in labels.items())
        ]
        if not candidates:
            what = f"Cluster projects/{project}/regions/{region}/clusters/{name}" if name else (
                f"any cluster with labels {labels}")
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Not found: {what}")
        # ERROR_DUE_TO_UPDATE: "Jobs can be submitted to the cluster, but the cluster cannot be updated."
        running = [r for r in candidates if r.pb.status.state in (ClusterState.RUNNING, ClusterState.UPDATING,
                                                                  ClusterState.ERROR_DUE_TO_UPDATE)]
        if not running:
            state = ClusterState(candidates[0].pb.status.state).name
            raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                           f"Cluster {candidates[0].name} is in state {state}; jobs can only be submitted "
                           "to a RUNNING cluster")
        return running[0]

    # -- execution --------------------------------------------------------------------------------
    def _set_state(self, record: JobRecord, state: int, details: str = "") -> None:
        with self.backend.lock:
            if record.pb.HasField("status"):
                record.pb.status_history.add().CopyFrom(record.pb.status)
            record.pb.status.Clear()
            record.pb.status.state = state
            record.pb.status.details = details
            record.pb.status.state_start_time.CopyFrom(timestamp(self.backend.clock.now()))
            log.info("job %s -> %s %s", record.job_id, JobState(state).name, details)
            if state in _TERMINAL:
                record.pb.done = True
            track_yarn_application(record.pb, state)
            if record.operation is not None:
                meta = pb.JobMetadata()
                record.operation.pb.metadata.Unpack(meta)
                meta.status.CopyFrom(record.pb.status)
                self.backend.ops.set_metadata(record.operation, meta)

    def _execute(self, record: JobRecord) -> None:
        spec = spec_from_job(record.pb)
        try:
            result = self._run_stages(record, spec)
        except Exception as exc:  # an emulator bug must still end the job, visibly
            log.exception("job %s failed inside the emulator", record.job_id)
            result = RunResult("ERROR", f"Internal error in the Dataproc emulator: {exc}")
        finally:
            with self.backend.lock:
                cluster = self.backend.clusters.get(record.cluster_key) if record.cluster_key else None
                if cluster is not None:
                    cluster.active_jobs.discard(record.job_id)
                    self.clusters.mark_idle(cluster)
        self._finish(record, result)

    def _run_stages(self, record: JobRecord, spec: JobSpec) -> RunResult:
        delays = self.backend.delays
        if not self.backend.sleep(delays.job_pending) or record.cancel.is_set():
            return self._cancelled(record)
        self._set_state(record, JobState.SETUP_DONE)
        if not self.backend.sleep(delays.job_setup) or record.cancel.is_set():
            return self._cancelled(record)
        if spec.kind in UNSUPPORTED:
            return RunResult("ERROR", UNSUPPORTED[spec.kind])
        if simulated(spec):  # the load-test mode does no Spark work: it needs no local Spark slot
            return self._run_program(record, spec)
        if not self.backend.runner.acquire_slot(record.cancel, waiting=lambda: self._set_queued(record)):
            return self._cancelled(record)
        try:
            return self._run_program(record, spec)
        finally:
            self.backend.runner.release_slot()

    def _set_queued(self, record: JobRecord) -> None:
        """Waiting for a local Spark slot: SETUP_DONE with substate QUEUED, as Dataproc shows queued jobs."""
        with self.backend.lock:
            record.pb.status.substate = JobStatusSubstate.QUEUED

    def _run_program(self, record: JobRecord, spec: JobSpec) -> RunResult:
        if record.cancel.is_set():
            return self._cancelled(record)
        self._set_state(record, JobState.RUNNING)
        self.backend.stats.bump("jobs_started", record.job_id)
        text = json_format.MessageToJson(record.pb)
        restart = self.backend.faults.take_driver_restart(record.job_id, text)
        if restart is not None:
            failed = self._restart_driver(record, restart)
            if failed is not None:
                return failed
        injected = self.backend.faults.take_job_fault(record.job_id, text)
        driver_uri = str(record.pb.driver_output_resource_uri)
        if injected is not None:
            self.backend.runner.write_driver_output(driver_uri, f"Injected failure: {injected}\n")
            return RunResult("ERROR", f"Job failed: {injected}. Driver output: {driver_uri}")
        result = self.backend.runner.run(spec, record.pb.job_uuid, driver_uri, record.cancel,
                                         cluster=record.cluster_key)
        if result.state == "CANCELLED":
            return self._cancelled(record)
        return result

    def _restart_driver(self, record: JobRecord, message: str) -> RunResult | None:
        """Play a failed first driver attempt; a restartable job then runs again with a new output URI."""
        first = str(record.pb.driver_output_resource_uri)
        self.backend.runner.write_driver_output(first, f"driver attempt 1 started\nInjected failure: {message}\n")
        scheduling = record.pb.scheduling
        if not (scheduling.max_failures_per_hour or scheduling.max_failures_total):
            return RunResult("ERROR", f"Job failed: {message}. Driver output: {first}")
        self._set_state(record, JobState.ATTEMPT_FAILURE, f"Driver attempt 1 failed: {message}")
        if not self.backend.sleep(self.backend.delays.job_setup) or record.cancel.is_set():
            return self._cancelled(record)
        with self.backend.lock:  # Dataproc gives each driver attempt its own output
            record.pb.driver_output_resource_uri = first.rsplit("/", 1)[0] + "/attempt-2/driveroutput"
        self._set_state(record, JobState.RUNNING)
        return None

    def _cancelled(self, record: JobRecord) -> RunResult:
        if record.cancel_reason:
            return RunResult("ERROR", record.cancel_reason)
        return RunResult("CANCELLED", "Job cancelled by user request")

    def _finish(self, record: JobRecord, result: RunResult) -> None:
        state = {"DONE": JobState.DONE, "ERROR": JobState.ERROR, "CANCELLED": JobState.CANCELLED}[result.state]
        self._set_state(record, state, "" if state == JobState.DONE else result.details)
        record.finished.set()
        if record.operation is not None:
            if state == JobState.DONE:
                self.backend.ops.finish(record.operation, response=self.backend.copy_job(record))
            else:
                code = grpc.StatusCode.CANCELLED if state == JobState.CANCELLED else grpc.StatusCode.UNKNOWN
                self.backend.ops.finish(record.operation, error=(code, result.details))

    def _cluster_gone(self, cluster: ClusterRecord, reason: str) -> None:
        with self.backend.lock:
            doomed = [r for r in self.backend.jobs.values()
                      if r.cluster_key == (cluster.project, cluster.region, cluster.name) and not r.pb.done]
        for record in doomed:
            record.cancel_reason = f"Job failed: {reason}"
            record.cancel.set()

    def _cancel(self, record: JobRecord) -> None:
        with self.backend.lock:
            # Dataproc cancels PENDING and RUNNING jobs only ("Starts a job cancellation request" on an
            # active job): SETUP_DONE, including a job queued for a slot, refuses like a finished job.
            if record.pb.status.state in _TERMINAL or record.pb.status.state == JobState.SETUP_DONE:
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"Cannot cancel jobId '{record.job_id}' in project '{record.project}': job is in "
                               f"state {JobState(record.pb.status.state).name}")
            if record.pb.status.state != JobState.CANCEL_PENDING:
                self._set_state(record, JobState.CANCEL_PENDING)
        record.cancel.set()

    # -- read / update / cancel / delete ------------------------------------------------------------
    def get_rpc(self, request: Any) -> Any:
        require(request.job_id, "job_id")
        return self.backend.copy_job(self.backend.job(request.project_id, request.region, request.job_id))

    def list_rpc(self, request: Any) -> Any:
        flt = parse_filter(request.filter, ["status.state"])
        matcher = request.job_state_matcher  # 0 ALL, 1 ACTIVE, 2 NON_ACTIVE
        with self.backend.lock:
            records = [r for (p, reg, _), r in self.backend.jobs.items() if p == request.project_id and reg == request.region]
            out = []
            for r in sorted(records, key=lambda r: r.job_id):
                state = JobState(r.pb.status.state).name
                if request.cluster_name and r.pb.placement.cluster_name != request.cluster_name:
                    continue
                if (matcher == 1 and state not in _ACTIVE) or (matcher == 2 and state in _ACTIVE):
                    continue
                if flt.matches(state, dict(r.pb.labels), "", _ACTIVE, _INACTIVE):
                    out.append(self.backend.copy_job(r))
        chunk, token = page(out, request.page_size, request.page_token)
        return pb.ListJobsResponse(jobs=chunk, next_page_token=token)

    def update_rpc(self, request: Any) -> Any:
        record = self.backend.job(request.project_id, request.region, request.job_id)
        paths = list(request.update_mask.paths)
        if paths != ["labels"]:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"Invalid argument: only 'labels' can be updated on a job, got update_mask {paths}")
        check_labels(request.job.labels, "job labels")
        with self.backend.lock:
            record.pb.labels.clear()
            record.pb.labels.update(dict(request.job.labels))
        return self.backend.copy_job(record)

    def cancel_rpc(self, request: Any) -> Any:
        record = self.backend.job(request.project_id, request.region, request.job_id)
        self._cancel(record)
        return self.backend.copy_job(record)

    def delete_rpc(self, request: Any) -> Any:
        record = self.backend.job(request.project_id, request.region, request.job_id)
        with self.backend.lock:
            if record.pb.status.state not in _TERMINAL:
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"Job {record.job_id} is in state {JobState(record.pb.status.state).name} and cannot "
                               "be deleted; cancel it first")
            self.backend.jobs.pop((record.project, record.region, record.job_id), None)
        return empty_pb2.Empty()

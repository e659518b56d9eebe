"""Get-or-submit a Dataproc job (any type) or Serverless batch, follow it, stream its output, cancel on kill.

Identity comes from ``dagspec.provider.naming``: the job id has no try number, so a retry after a
worker crash reattaches to the running job; a retry after a failed attempt submits the next
attempt ``<id>-r<n>`` (see ``lifecycle.decide_job``). Local files in the job are uploaded,
content-hashed, before submission.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..compat import TaskDeferralError, TaskDeferralTimeout
from ..errors import ClusterFailed, ConfigurationError, JobFailed
from ..files import allowed_roots, built_from_spec, rewrite_files
from ..lifecycle import JobAction, batch_phase, decide_job, job_phase
from ..lineage import inject_into_batch, inject_into_job
from ..lineage_runtime import batch_section, inject, job_section, operator_lineage
from ..links.dataproc import DataprocBatchLink, DataprocJobLink, batch_url, job_url
from ..naming import (
    batch_attempt_id,
    batch_id,
    cluster_name,
    job_attempt_id,
    job_id,
    job_labels,
    label_key,
    label_value,
    request_id,
)
from ..storage import DriverOutput, Stager, follow_output, staging_for
from ..triggers.dataproc import DataprocBatchTrigger, DataprocJobTrigger
from .base import DataprocBaseOperator, RunIdentity

__all__ = ["DataprocSubmitJobOperator", "DataprocSubmitBatchOperator", "JOB_TYPES", "XCOM_JOB_ID", "XCOM_BATCH_ID"]

JOB_TYPES = ("pyspark_job", "spark_job", "spark_sql_job", "hive_job", "pig_job", "hadoop_job", "spark_r_job",
             "presto_job", "trino_job", "flink_job")
XCOM_JOB_ID = "job_id"
XCOM_BATCH_ID = "batch_id"


class _WorkOperator(DataprocBaseOperator):
    """The get-or-submit / follow / finish loop shared by jobs and batches."""

    kind = "job"
    xcom_key = XCOM_JOB_ID
    link: Any = DataprocJobLink
    # seconds to wait, once the job ended, for the zero-byte object that ends its driver output
    marker_timeout = 60.0

    def __init__(self, *, files_root: str | None = None, staging_bucket: str | None = None,
                 labels: dict[str, str] | None = None, openlineage_inject_parent_job_info: bool | None = None,
                 openlineage_inject_transport_info: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.files_root = files_root
        self.staging_bucket = staging_bucket
        self.labels = labels
        # None: [openlineage] spark_inject_parent_job_info / spark_inject_transport_info, read at run time
        self.openlineage_inject_parent_job_info = openlineage_inject_parent_job_info
        self.openlineage_inject_transport_info = openlineage_inject_transport_info

    # subclass hooks --------------------------------------------------------------------------------
    def _base_id(self, ident: RunIdentity) -> str:
        raise NotImplementedError

    def _attempt_id(self, base: str, attempt: int) -> str:
        raise NotImplementedError

    def _latest(self, base: str) -> tuple[Any, Any]:
        raise NotImplementedError

    def _submit(self, context: Any, ident: RunIdentity, work_id: str, attempt: int, base: str) -> None:
        raise NotImplementedError

    def _trigger(self, work_id: str, echo: dict[str, Any], finish: dict[str, Any] | None) -> Any:
        raise NotImplementedError

    def _output_uri(self, raw: Any) -> str:
        raise NotImplementedError

    def _url(self, work_id: str) -> str:
        raise NotImplementedError

    def _cancel(self, work_id: str) -> None:
        raise NotImplementedError

    def _state_of(self, raw: Any) -> str:
        raise NotImplementedError

    def _latest_one(self, work_id: str) -> tuple[str, Any]:
        """(phase of the attempt, or "missing"; its message)."""
        raise NotImplementedError

    def _detail_of(self, raw: Any) -> str:
        """What Dataproc says about the attempt's end ("" when nothing)."""
        raise NotImplementedError

    def _cluster_of(self, raw: Any) -> str | None:
        """The cluster the attempt ran on (None for a serverless batch)."""
        return None


    def _labels(self, ident: RunIdentity) -> dict[str, str]:
        user = {label_key(k): label_value(v) for k, v in (self.labels or {}).items()}
        return {**user, **job_labels(ident.dag_id, ident.run_id, ident.task_id)}

    # the loop --------------------------------------------------------------------------------------
    def execute(self, context: Any) -> str:
        return self._run(context, attached=False)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, **kwargs: Any) -> str:
        event = event if isinstance(event, dict) else {}  # dag.test() resumes an end event as its payload string
        if event.get("status") == "error":
            self.log.warning("waiting for the %s failed: %s", self.kind, event.get("message"))
        echo = event.get("echo") or kwargs
        return self._run(context, attached=bool(echo.get("attached", False)))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        """Cancel the running attempt when the deferral times out or fails, then fail as Airflow would."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except (TaskDeferralTimeout, TaskDeferralError):
            self._cancel_latest(context)
            raise

    def on_kill(self) -> None:
        """Cancel the attempt this execution follows (task killed, or timed out while not deferred)."""
        active = getattr(self, "_active_id", None)
        if active:
            self.log.warning("cancelling Dataproc %s %s", self.kind, active)
            self._cancel(active)

    def _cancel_latest(self, context: Any) -> None:
        base = self._base_id(RunIdentity.of(context))
        observed, _raw = self._latest(base)
        if observed is not None and observed.phase == "active":
            work_id = self._attempt_id(base, observed.attempt)
            self.log.warning("cancelling Dataproc %s %s", self.kind, work_id)
            self._cancel(work_id)

    def _run(self, context: Any, attached: bool) -> str:
        ident = RunIdentity.of(context)
        base = self._base_id(ident)
        try:
            while True:
                observed, raw = self._latest(base)
                decision = decide_job(observed, attached=attached)
                work_id = self._attempt_id(base, decision.attempt)
                self.log.info("%s %s: %s -> %s", self.kind, work_id, decision.reason, decision.action.value)
                if decision.action in (JobAction.SUBMIT, JobAction.RESUBMIT):
                    self._submit(context, ident, work_id, decision.attempt, base)
                    attached = True
                elif decision.action is JobAction.REATTACH:
                    attached = True
                elif decision.action is JobAction.DONE:
                    return self._finish(context, work_id, raw)
                elif decision.action is JobAction.FAIL:
                    self._fail(work_id, raw)
                self.link.persist(context, self._url(work_id))
                self._wait(work_id, attached)
        finally:
            self.close_hook()  # _active_id stays set while the attempt runs: on_kill may follow a timeout

    def _wait(self, work_id: str, attached: bool) -> None:
        """Defer until the attempt ends, or follow it here (streaming its driver output)."""
        if self.should_defer():
            self.defer(trigger=self._trigger(work_id, {"attached": attached}, self._finish_args(work_id)),
                       method_name="execute_complete", kwargs={"attached": attached})
        self._active_id = work_id if attached else None
        output: DriverOutput | None = None
        while True:
            observed, raw = self._latest_one(work_id)
            uri = self._output_uri(raw) if raw is not None else ""
            ended = observed in ("succeeded", "failed")
            output, lines = follow_output(self.hook(), output, uri, ended, self.marker_timeout)
            for line in lines:
                self.log.info("[driver] %s", line)
            if ended or raw is None:
                self._active_id = None
                return
            self.sleep()

    def _finish_args(self, work_id: str) -> dict[str, Any] | None:
        """What the trigger pushes when the attempt succeeds: the XComs ``_finish`` pushes (and returns)."""
        xcoms = {self.link.key: self._url(work_id), self.xcom_key: work_id}
        finish = self.finish_args(xcoms)
        if finish is not None and finish.pop("return_value"):
            finish["xcoms"]["return_value"] = work_id
        return finish

    def _finish(self, context: Any, work_id: str, raw: Any) -> str:
        url = self._url(work_id)
        self._lineage_facts = {"resource": self.kind, "resource_id": work_id, "project_id": self.hook().project_id,
                               "region": self.hook().region, "url": url,
                               "cluster_name": self._cluster_of(raw) if raw is not None else None}
        self.link.persist(context, url)
        context["ti"].xcom_push(key=self.xcom_key, value=work_id)
        self.log.info("%s %s succeeded", self.kind, work_id)
        return work_id

    def _lineage_section(self) -> tuple[str | None, Any]:
        raise NotImplementedError

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The Dataproc job or batch this task ran, its cluster, and the gs:// datasets its args name."""
        facts = getattr(self, "_lineage_facts", None)
        if facts is None:
            return None
        kind, section = self._lineage_section()
        return operator_lineage(**facts, sections=[section], job_type=kind)

    def _fail(self, work_id: str, raw: Any) -> None:
        tail = ""
        uri = self._output_uri(raw) if raw is not None else ""
        if uri:
            try:
                output = DriverOutput(self.hook(), uri)
                output.finish(self.marker_timeout)
                tail = output.tail_text()
            except Exception as exc:  # the failure matters more than its output
                self.log.warning("could not read the driver output: %s", exc)
        state = self._state_of(raw) if raw is not None else "UNKNOWN"
        detail = self._detail_of(raw) if raw is not None else ""
        detail = f": {detail}" if detail else ""
        raise JobFailed(f"Dataproc {self.kind} {work_id} ended in {state}{detail}", state=state, output_tail=tail,
                        link=self._url(work_id))

    def _stage(self, body: dict[str, Any], cluster: Any | None) -> dict[str, Any]:
        local: list[str] = []

        def note(uri: str) -> str:
            local.append(uri)
            return uri

        rewrite_files(body, note)
        if not local:
            return body
        staging, may_create = staging_for(self.hook(), self.staging_bucket, cluster)
        dag = self.get_dag()
        stager = Stager(self.hook(), staging, self.files_root, create_bucket=may_create,
                        roots=allowed_roots(self.files_root, getattr(dag, "fileloc", None), from_spec=built_from_spec(dag)))
        staged = stager.stage(body)
        self.log.info("staged %d local file(s) under %s (%d unchanged)", len(stager.uploaded) + len(stager.reused),
                      staging, len(stager.reused))
        return staged


class DataprocSubmitJobOperator(_WorkOperator):
    """Run one Dataproc job (``job``: a Job dict without placement/reference) on a cluster; returns its id.

    The cluster is this run's ephemeral cluster for key ``cluster``, an existing ``cluster_name``,
    or a RUNNING cluster carrying all ``cluster_labels`` (exactly one of the three).
    """

    template_fields: Sequence[str] = ("job", "cluster", "cluster_name", "cluster_labels", "files_root",
                                      "staging_bucket", "labels", "project_id", "region", "gcp_conn_id")
    operator_extra_links = (DataprocJobLink(),)
    kind = "job"
    link = DataprocJobLink

    def __init__(self, *, job: dict, cluster: str | None = None, cluster_name: str | None = None,
                 cluster_labels: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.cluster = cluster
        self.cluster_name = cluster_name
        self.cluster_labels = cluster_labels

    def _lineage_section(self) -> tuple[str | None, Any]:
        return job_section(self.job or {})

    def _base_id(self, ident: RunIdentity) -> str:
        return job_id(ident.dag_id, ident.run_id, ident.task_id, ident.map_index)

    def _attempt_id(self, base: str, attempt: int) -> str:
        return job_attempt_id(base, attempt)

    def _latest(self, base: str) -> tuple[Any, Any]:
        return self.hook().latest_job_attempt(base)

    def _latest_one(self, work_id: str) -> tuple[str, Any]:
        raw = self.hook().get_job(work_id)
        return (job_phase(raw.status.state.name) if raw is not None else "missing"), raw

    def _state_of(self, raw: Any) -> str:
        return raw.status.state.name

    def _detail_of(self, raw: Any) -> str:
        return str(raw.status.details or "")

    def _cluster_of(self, raw: Any) -> str | None:
        return str(raw.placement.cluster_name)

    def _output_uri(self, raw: Any) -> str:
        return raw.driver_output_resource_uri or ""

    def _url(self, work_id: str) -> str:
        return job_url(self.hook().project_id, self.hook().region, work_id)

    def _cancel(self, work_id: str) -> None:
        self.hook().cancel_job(work_id)

    def _trigger(self, work_id: str, echo: dict[str, Any], finish: dict[str, Any] | None) -> Any:
        return DataprocJobTrigger(id=work_id, **self.trigger_args(), echo=echo, finish=finish)

    def _resolve_cluster(self, ident: RunIdentity) -> tuple[str, Any]:
        given = [n for n, v in (("cluster", self.cluster), ("cluster_name", self.cluster_name),
                                ("cluster_labels", self.cluster_labels)) if v]
        if len(given) != 1:
            raise ConfigurationError(f"give exactly one of cluster, cluster_name, cluster_labels (got {given or 'none'})")
        hook = self.hook()
        if self.cluster_labels:
            found = [c for c in hook.list_clusters(self.cluster_labels) if c.status.state.name == "RUNNING"]
            if not found:
                raise ClusterFailed(f"no RUNNING cluster carries the labels {dict(self.cluster_labels)}")
            chosen = sorted(found, key=lambda c: c.cluster_name)[0]
            return chosen.cluster_name, chosen
        name = self.cluster_name or cluster_name(ident.dag_id, ident.run_id, str(self.cluster))
        raw = hook.get_cluster(name)
        if raw is None:
            hint = " (did its create task run?)" if self.cluster else ""
            raise ClusterFailed(f"cluster {name} does not exist{hint}")
        return name, raw

    def _submit(self, context: Any, ident: RunIdentity, work_id: str, attempt: int, base: str) -> None:
        body = dict(self.job or {})
        kinds = [k for k in JOB_TYPES if k in body]
        if len(kinds) != 1:
            raise ConfigurationError(f"a job needs exactly one of {', '.join(JOB_TYPES)} (got {kinds or 'none'})")
        if "placement" in body or "reference" in body:
            raise ConfigurationError("the job dict must not set placement or reference: the operator derives them")
        name, cluster = self._resolve_cluster(ident)
        body = self._stage(body, cluster)
        body = inject(inject_into_job, body, context, self.openlineage_inject_parent_job_info,
                      self.openlineage_inject_transport_info)
        labels = {**{label_key(k): label_value(v) for k, v in (body.pop("labels", None) or {}).items()},
                  **self._labels(ident)}
        job = {**body, "reference": {"project_id": self.hook().project_id, "job_id": work_id},
               "placement": {"cluster_name": name}, "labels": labels}
        context["ti"].xcom_push(key="cluster_name", value=name)
        self.log.info("submitting job %s to cluster %s", work_id, name)
        self.hook().submit_job(job, request_id("submit", base, attempt))


class DataprocSubmitBatchOperator(_WorkOperator):
    """Run one Dataproc Serverless batch (``batch``: a Batch dict without name); returns the batch id.

    The id derives from ``batch_key`` (default: the task id) with the run's identity; a retry after a
    crash reattaches, a retry after a failed batch creates ``<id>-r<n>``.
    """

    template_fields: Sequence[str] = ("batch", "batch_key", "files_root", "staging_bucket", "labels", "project_id",
                                      "region", "gcp_conn_id")
    operator_extra_links = (DataprocBatchLink(),)
    kind = "batch"
    xcom_key = XCOM_BATCH_ID
    link = DataprocBatchLink
    marker_timeout = 0.0  # Dataproc Serverless documents no end marker for a batch's output

    def __init__(self, *, batch: dict, batch_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch = batch
        self.batch_key = batch_key

    def _lineage_section(self) -> tuple[str | None, Any]:
        return batch_section(self.batch or {})

    def _base_id(self, ident: RunIdentity) -> str:
        return batch_id(ident.dag_id, ident.run_id, self.batch_key or ident.task_id, ident.map_index)

    def _attempt_id(self, base: str, attempt: int) -> str:
        return batch_attempt_id(base, attempt)

    def _latest(self, base: str) -> tuple[Any, Any]:
        return self.hook().latest_batch_attempt(base)

    def _latest_one(self, work_id: str) -> tuple[str, Any]:
        raw = self.hook().get_batch(work_id)
        return (batch_phase(raw.state.name) if raw is not None else "missing"), raw

    def _state_of(self, raw: Any) -> str:
        return raw.state.name

    def _detail_of(self, raw: Any) -> str:
        return str(raw.state_message or "")

    def _output_uri(self, raw: Any) -> str:
        uri = raw.runtime_info.output_uri if raw.runtime_info else ""
        return uri if uri.startswith("gs://") else ""

    def _url(self, work_id: str) -> str:
        return batch_url(self.hook().project_id, self.hook().region, work_id)

    def _cancel(self, work_id: str) -> None:
        self.hook().cancel_batch(work_id)

    def _trigger(self, work_id: str, echo: dict[str, Any], finish: dict[str, Any] | None) -> Any:
        return DataprocBatchTrigger(id=work_id, **self.trigger_args(), echo=echo, finish=finish)

    def _submit(self, context: Any, ident: RunIdentity, work_id: str, attempt: int, base: str) -> None:
        body = dict(self.batch or {})
        if "name" in body:
            raise ConfigurationError("the batch dict must not set name: the operator derives the batch id")
        body = self._stage(body, None)
        body = inject(inject_into_batch, body, context, self.openlineage_inject_parent_job_info,
                      self.openlineage_inject_transport_info)
        body["labels"] = {**{label_key(k): label_value(v) for k, v in (body.get("labels") or {}).items()},
                          **self._labels(ident)}
        self.log.info("creating batch %s", work_id)
        self.hook().create_batch(body, work_id, request_id("batch", base, attempt))

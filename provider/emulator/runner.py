"""Runs a Dataproc job on local Spark in a subprocess: stage files, mirror gs:// data, stream output, sync back.

PySpark jobs run as ``python main.py args`` with ``PYSPARK_SUBMIT_ARGS`` carrying master, confs and
jars (a driver that never starts a SparkSession costs no JVM); Spark jobs run through the bundled
``spark-submit``; Spark SQL and Hive jobs run their queries through ``sql_driver.py`` on Spark SQL.
With warm Spark on, PySpark and SQL jobs run instead on their cluster's driver started ahead (warm.py).
This module never imports pyspark: only the subprocess does.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .driver_output import DriverOutput
from .gcs import GcsStore
from .staging import GcsMirror, fetch_artifact
from .warm import Spare, WarmPool, warm_compatible

__all__ = ["UNSUPPORTED", "JobRunner", "JobSpec", "RunResult", "spec_from_job"]

log = logging.getLogger(__name__)

UNSUPPORTED = {
    kind: f"{label} jobs are not supported by the local Dataproc emulator: it runs only PySpark, Spark, "
          "Spark SQL and Hive (through Spark SQL) jobs on a local Spark"
    for kind, label in {
        "hadoop_job": "Hadoop MapReduce", "pig_job": "Pig", "spark_r_job": "SparkR", "presto_job": "Presto",
        "trino_job": "Trino", "flink_job": "Flink",
    }.items()
}
_SQL_DRIVER = Path(__file__).with_name("sql_driver.py")
_WARM_DRIVER = Path(__file__).with_name("warm_driver.py")
_IGNORED_PROPS = {"spark.master", "spark.submit.deployMode"}


@dataclass
class JobSpec:
    """What to run, independent of whether it came from a Job or a Batch."""

    kind: str
    main: str = ""
    main_class: str = ""
    args: list[str] = field(default_factory=list)
    python_files: list[str] = field(default_factory=list)
    jars: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    query_file: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    continue_on_failure: bool = False
    log_level: str = ""


@dataclass
class RunResult:
    state: str  # DONE, ERROR or CANCELLED
    details: str = ""


def _field(msg: Any, name: str, default: Any) -> Any:
    return getattr(msg, name) if name in msg.DESCRIPTOR.fields_by_name else default


def spec_from_job(job: Any) -> JobSpec:
    """A JobSpec from a ``Job`` message (its ``type_job`` one-of)."""
    kind = job.WhichOneof("type_job")
    return spec_from_message(kind, getattr(job, kind))


def spec_from_message(kind: str, t: Any) -> JobSpec:
    """A JobSpec from one job-type message (``PySparkJob``, ``SparkBatch``, …) under the name ``kind``."""
    logging_config = _field(t, "logging_config", None)
    level = dict(logging_config.driver_log_levels).get("root", 0) if logging_config is not None else 0
    query_list = _field(t, "query_list", None)
    variables = dict(_field(t, "script_variables", {})) or dict(_field(t, "query_variables", {}))
    return JobSpec(
        kind=kind,
        main=_field(t, "main_python_file_uri", "") or _field(t, "main_jar_file_uri", "") or _field(t, "main_r_file_uri", ""),
        main_class=_field(t, "main_class", ""),
        args=list(_field(t, "args", [])),
        python_files=list(_field(t, "python_file_uris", [])),
        jars=list(_field(t, "jar_file_uris", [])),
        files=list(_field(t, "file_uris", [])),
        archives=list(_field(t, "archive_uris", [])),
        properties=dict(_field(t, "properties", {})),
        queries=list(query_list.queries) if query_list is not None else [],
        query_file=_field(t, "query_file_uri", ""),
        variables=variables,
        continue_on_failure=bool(_field(t, "continue_on_failure", False)),
        log_level=_LEVELS.get(int(level), ""),
    )


_LEVELS = {1: "ALL", 2: "TRACE", 3: "DEBUG", 4: "INFO", 5: "WARN", 6: "ERROR", 7: "FATAL", 8: "OFF"}


def spark_home() -> Path:
    """The pyspark package folder, which is a Spark distribution (found without importing pyspark)."""
    found = importlib.util.find_spec("pyspark")
    if found is None or not found.submodule_search_locations:
        raise RuntimeError("pyspark is not installed: install the 'spark' extra or run with spark disabled")
    return Path(next(iter(found.submodule_search_locations)))


class JobRunner:
    """Executes JobSpecs; callers take one of ``slots`` first, so at most that many local Spark jobs run."""

    def __init__(self, gcs: GcsStore, work_root: Path, spark: bool = True, flush_interval: float = 0.3,
                 slots: int = 1, master: str = "local[2]", driver_memory: str = "512m",
                 simulated_run: float = 0.05, keep_scratch: bool = False,
                 java_options: str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC", strict_buckets: bool = False,
                 warm: int = 0) -> None:
        self.gcs = gcs
        self.work_root = work_root
        self.spark = spark
        self.flush_interval = flush_interval
        self.master = master
        self.driver_memory = driver_memory
        self.simulated_run = simulated_run
        self.keep_scratch = keep_scratch
        self.java_options = java_options  # fast JVM start for short local jobs
        self.strict_buckets = strict_buckets  # output to a missing bucket: fail (True) or create + warn
        self._slots = threading.Semaphore(slots)
        # warm Spark: one driver started ahead per RUNNING cluster (see warm.py); None = every job starts cold
        # ``warm`` spares per cluster (0: off until EmulatorHandle.set_warm_spark turns it on)
        self.warm = WarmPool(self._launch_spare, work_root, enabled=warm > 0, depth=warm or 1) if spark else None

    def cluster_running(self, key: Any) -> None:
        """A cluster became RUNNING: start its warm Spark driver (when warm Spark is on)."""
        if self.warm is not None:
            self.warm.open(key)

    def cluster_gone(self, key: Any) -> None:
        """A cluster is being deleted: stop its warm Spark driver."""
        if self.warm is not None:
            self.warm.close(key)

    def close(self) -> None:
        """The emulator stops: no warm driver outlives it."""
        if self.warm is not None:
            self.warm.close_all()

    def write_driver_output(self, uri: str, text: str) -> None:
        out = DriverOutput(self.gcs, uri, self.flush_interval)
        out.write(text.encode())
        out.close()

    def acquire_slot(self, cancel: threading.Event, waiting: Callable[[], None] | None = None) -> bool:
        """Take one of the local Spark slots (calls ``waiting`` once if it must wait); False if cancelled."""
        if not self.spark:
            return True
        if self._slots.acquire(blocking=False):
            return True
        if waiting is not None:
            waiting()
        while not self._slots.acquire(timeout=0.1):
            if cancel.is_set():
                return False
        return True

    def release_slot(self) -> None:
        if self.spark:
            self._slots.release()

    def run(self, spec: JobSpec, job_uuid: str, driver_uri: str, cancel: threading.Event,
            cluster: Any = None) -> RunResult:
        """Run ``spec`` to the end (the caller holds a slot); output goes to ``driver_uri`` chunks.

        ``cluster`` (the cluster's key) lets the job run on that cluster's warm driver when it can.
        """
        out = DriverOutput(self.gcs, driver_uri, self.flush_interval)
        try:
            simulated = _simulation(spec.properties)
            if simulated is not None:
                return _simulate(*simulated, out, cancel)
            if not self.spark:
                out.write(f"[dataproc-emulator] Spark is disabled (--no-spark): this {spec.kind} was accepted "
                          "and marked DONE without running.\n".encode())
                return RunResult("CANCELLED") if cancel.wait(self.simulated_run) else RunResult("DONE")
            spare = None
            if self.warm is not None and cluster is not None and warm_compatible(spec.kind, spec.jars,
                                                                                   spec.properties):
                spare = self.warm.take(cluster)
            return self._run_local(spec, job_uuid, driver_uri, cancel, out, spare)
        finally:
            out.close()

    def _run_local(self, spec: JobSpec, job_uuid: str, driver_uri: str, cancel: threading.Event,
                   out: DriverOutput, spare: Spare | None = None) -> RunResult:
        scratch = spare.scratch if spare is not None else self.work_root / job_uuid
        work = scratch / "work"
        work.mkdir(parents=True, exist_ok=True)
        mirror = GcsMirror(self.gcs, scratch / "gcs")
        try:
            try:
                cmd, env, py_files = self._prepare(spec, scratch, work, mirror)
            except Exception as exc:  # staging failures end the job in ERROR, as on Dataproc
                out.write(f"Failed to stage job files: {exc}\n".encode())
                return RunResult("ERROR", f"Job failed before it started: {exc}. Driver output: {driver_uri}")
            if spare is not None:
                code, tail = self._run_spare(spare, spec, cmd, py_files, mirror, out, cancel)
                spare = None
            else:
                code, tail = self._run_process(cmd, env, work, out, cancel)
            report = mirror.sync_back(create_missing_buckets=not self.strict_buckets)
            for bucket in report.created_buckets:
                out.write(f"[dataproc-emulator] WARNING: created missing output bucket gs://{bucket}; "
                          "on Dataproc this write would fail\n".encode())
            log.info("job %s: exit %s, uploaded %d, deleted %d", job_uuid, code, len(report.uploaded),
                     len(report.deleted))
            if cancel.is_set():
                return RunResult("CANCELLED")
            if code == 0 and report.missing_buckets:
                missing = ", ".join(f"gs://{b}" for b in report.missing_buckets)
                out.write(f"Cannot write output: bucket(s) {missing} do not exist\n".encode())
                return RunResult("ERROR", f"Job failed: output bucket(s) {missing} do not exist. "
                                          f"Driver output: {driver_uri}")
            if code == 0:
                return RunResult("DONE")
            last = tail.strip().splitlines()[-1] if tail.strip() else ""
            return RunResult("ERROR", f"Job failed with exit code {code}: {last[:500]}. "
                                      f"Driver output: {driver_uri}")
        finally:
            if spare is not None:  # staging failed: the spare never got its job
                spare.finish()
            if not self.keep_scratch:
                shutil.rmtree(scratch, ignore_errors=True)

    def _base_confs(self, scratch: Path) -> dict[str, str]:
        """The Spark confs every local job gets (before its own properties)."""
        return {
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.warehouse.dir": str(scratch / "warehouse"),
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={scratch / 'derby'} {self.java_options}",
            "spark.sql.shuffle.partitions": "4",
            "spark.log.level": "WARN",
        }

    def _job_confs(self, spec: JobSpec, mirror: GcsMirror) -> dict[str, str]:
        """The confs a job adds over :meth:`_base_confs`: its log level and its properties."""
        confs = {"spark.log.level": spec.log_level} if spec.log_level else {}
        confs.update({k: mirror.rewrite(v) for k, v in spec.properties.items() if k not in _IGNORED_PROPS})
        return confs

    def _base_env(self, scratch: Path, work: Path, py_files: list[str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_SUBMIT_ARGS", "PYSPARK_DRIVER_PYTHON")}
        env.update(SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
                   SPARK_LOCAL_DIRS=str(scratch / "tmp"), STORAGE_EMULATOR_HOST=self.gcs.host,
                   GOOGLE_CLOUD_PROJECT=self.gcs.project,
                   PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([str(work), *py_files, env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        return env

    def _submit_args(self, confs: dict[str, str]) -> list[str]:
        submit = ["--master", self.master, "--driver-memory", self.driver_memory]
        for key, value in confs.items():
            submit += ["--conf", f"{key}={value}"]
        return submit

    def _launch_spare(self, scratch: Path) -> subprocess.Popen:
        """Start a warm driver (warm.py) with the environment and confs a cold driver in ``scratch`` gets."""
        work = scratch / "work"
        env = self._base_env(scratch, work, [])
        env["PYSPARK_SUBMIT_ARGS"] = shlex.join([*self._submit_args(self._base_confs(scratch)), "pyspark-shell"])
        return subprocess.Popen([sys.executable, "-u", str(_WARM_DRIVER)], cwd=work, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def _prepare(self, spec: JobSpec, scratch: Path, work: Path,
                 mirror: GcsMirror) -> tuple[list[str], dict, list[str]]:
        """The command and environment of a cold driver for ``spec``, and its fetched Python files."""
        home = spark_home()
        jars = [str(fetch_artifact(self.gcs, uri, work)) for uri in spec.jars]
        for uri in spec.files:
            fetch_artifact(self.gcs, uri, work)
        for uri in spec.archives:
            fetch_artifact(self.gcs, uri, work, extract=True)
        py_files = [self._fetch_text(uri, work, mirror) for uri in spec.python_files]
        confs = {**self._base_confs(scratch), **self._job_confs(spec, mirror)}
        args = [mirror.rewrite(a) for a in spec.args]
        submit = self._submit_args(confs)
        env = self._base_env(scratch, work, py_files)
        if spec.kind == "spark_job":
            main_jar = str(fetch_artifact(self.gcs, spec.main, work)) if spec.main else ""
            if not main_jar:
                if not jars:
                    raise ValueError("a Spark job needs main_jar_file_uri or a jar in jar_file_uris")
                main_jar = jars.pop(0)
            cmd = [str(home / "bin" / "spark-submit"), *submit]
            if spec.main_class:
                cmd += ["--class", spec.main_class]
            if jars:
                cmd += ["--jars", ",".join(jars)]
            return [*cmd, main_jar, *args], env, py_files
        if jars:
            submit += ["--jars", ",".join(jars)]
        if py_files:
            submit += ["--py-files", ",".join(py_files)]
        env["PYSPARK_SUBMIT_ARGS"] = shlex.join([*submit, "pyspark-shell"])
        if spec.kind == "pyspark_job":
            if not spec.main:
                raise ValueError("a PySpark job needs main_python_file_uri")
            main = self._fetch_text(spec.main, work, mirror)
            return [sys.executable, "-u", main, *args], env, py_files
        # spark_sql_job and hive_job
        if spec.query_file:
            text = fetch_artifact(self.gcs, spec.query_file, work).read_text()
        else:
            text = ";\n".join(spec.queries)
        query = work / "_emulator_query.sql"
        query.write_text(mirror.rewrite(text))
        cmd = [sys.executable, "-u", str(_SQL_DRIVER), "--file", str(query)]
        for key, value in spec.variables.items():
            cmd += ["--var", f"{key}={mirror.rewrite(value)}"]
        if spec.continue_on_failure:
            cmd.append("--continue-on-failure")
        return cmd, env, py_files

    def _fetch_text(self, uri: str, work: Path, mirror: GcsMirror) -> str:
        """Fetch a Python file; rewrite gs:// URIs in .py sources so hard-coded paths work too."""
        path = fetch_artifact(self.gcs, uri, work)
        if path.suffix == ".py":
            path.write_text(mirror.rewrite(path.read_text()))
        return str(path)

    def _run_spare(self, spare: Spare, spec: JobSpec, cmd: list[str], py_files: list[str], mirror: GcsMirror,
                   out: DriverOutput, cancel: threading.Event) -> tuple[int, str]:
        """Run the prepared ``python -u main args`` command ``cmd`` on a warm driver instead."""
        props = self._job_confs(spec, mirror)
        if py_files:  # what spark-submit --py-files sets
            props["spark.submit.pyFiles"] = ",".join(py_files)
        spare.start_job(out, cmd[2], cmd[3:], props, py_files)
        try:
            while spare.proc.poll() is None:
                if cancel.wait(0.1):
                    _kill(spare.proc)
                    break
            spare.proc.wait()
        finally:
            spare.finish()
        return spare.proc.returncode, spare.tail.decode(errors="replace")

    def _run_process(self, cmd: list[str], env: dict, work: Path, out: DriverOutput,
                     cancel: threading.Event) -> tuple[int, str]:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        tail = bytearray()

        def pump() -> None:
            assert proc.stdout is not None
            while chunk := os.read(proc.stdout.fileno(), 65536):
                out.write(chunk)
                tail.extend(chunk)
                del tail[:-4096]

        reader = threading.Thread(target=pump, name="driver-pump", daemon=True)
        reader.start()
        while proc.poll() is None:
            if cancel.wait(0.1):
                _kill(proc)
                break
        proc.wait()
        reader.join(10)
        return proc.returncode, tail.decode(errors="replace")


SIMULATE_SECONDS = "dataproc-emulator.simulate.seconds"
SIMULATE_OUTCOME = "dataproc-emulator.simulate.outcome"


def simulated(spec: JobSpec) -> bool:
    """Whether ``spec`` asks for the load-test mode (no Spark work, see :data:`SIMULATE_SECONDS`)."""
    return SIMULATE_SECONDS in spec.properties


def _simulation(properties: dict[str, str]) -> tuple[float, str] | None:
    """The load-test mode asked for by a job's properties: (seconds, "DONE" or "ERROR"), or None to run it."""
    if SIMULATE_SECONDS not in properties:
        return None
    outcome = properties.get(SIMULATE_OUTCOME, "DONE").upper()
    return float(properties[SIMULATE_SECONDS]), "ERROR" if outcome == "ERROR" else "DONE"


def _simulate(seconds: float, outcome: str, out: DriverOutput, cancel: threading.Event) -> RunResult:
    """A job that does no Spark work: it waits ``seconds`` (cancellable), writes its driver output, ends ``outcome``."""
    out.write(f"[dataproc-emulator] simulated job: {seconds:g}s, then {outcome}\n".encode())
    if cancel.wait(seconds):
        return RunResult("CANCELLED")
    out.write(f"[dataproc-emulator] simulated job finished: {outcome}\n".encode())
    return RunResult(outcome, "" if outcome == "DONE" else "Job failed: simulated failure")


def _kill(proc: subprocess.Popen) -> None:
    """Stop the driver and its JVM: SIGTERM to the process group, SIGKILL after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue

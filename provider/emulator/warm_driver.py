"""Subprocess script (never imported by the emulator): a PySpark driver started ahead of its job, with a warm JVM.

The emulator starts it when a cluster becomes RUNNING, with the same environment and
``PYSPARK_SUBMIT_ARGS`` a cold driver gets. It launches Spark's JVM gateway, runs a small Spark
workload so classes are loaded and compiled, stops that SparkContext, then waits for one JSON line
on stdin: ``{"main": path, "argv": [...], "props": {...}, "path": [...]}``. It sets ``props`` as
JVM system properties (as ``spark-submit --conf`` does), then runs ``main`` as ``__main__`` with
``argv``: the job creates its own SparkContext in the warm JVM, so its confs apply. One spare runs
one job and exits with the job's exit code; its JVM ends with it. It also exits if the emulator dies.
"""

from __future__ import annotations

import json
import os
import runpy
import select
import sys
import tempfile
import threading
import time
import traceback

WARMUP_FAILED = 97


def _watch_parent(parent: int) -> None:
    """End this process group (the JVM too) when the emulator that started us is gone."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os.killpg(os.getpgid(0), 9)


def _job_waiting() -> bool:
    """Whether the emulator has already sent the job (then the rest of the warm-up is skipped)."""
    return bool(select.select([sys.stdin], [], [], 0)[0])


def _warm_up() -> None:
    """Start the JVM gateway, then (unless a job is already waiting) run one small SQL + CSV + RDD workload."""
    from pyspark import SparkContext
    from pyspark.java_gateway import launch_gateway

    gateway = launch_gateway()
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm
    if _job_waiting():
        return
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("dataproc-emulator-warmup").getOrCreate()
    try:
        with tempfile.TemporaryDirectory(prefix="warmup-") as tmp:
            with open(os.path.join(tmp, "in.csv"), "w", encoding="utf-8") as handle:
                handle.write("k,v\na,1\nb,2\na,3\n")
            steps = [
                lambda: spark.read.option("header", True).csv(tmp + "/in.csv").groupBy("k").agg({"v": "sum"})
                .write.mode("overwrite").csv(tmp + "/out"),
                lambda: spark.sql("SELECT 1 AS x").collect(),
                lambda: spark.sparkContext.parallelize(range(4), 2).map(lambda x: x + 1).sum(),
            ]
            for step in steps:
                if _job_waiting():
                    break
                step()
    finally:
        spark.stop()


def main() -> int:
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        _warm_up()
    except BaseException:  # the emulator sees the spare dead and runs the job cold
        traceback.print_exc()
        return WARMUP_FAILED
    line = sys.stdin.readline()
    if not line:
        return 0  # the emulator closed our stdin: no job for this spare
    job = json.loads(line)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the job sees the same empty stdin as a cold driver
    from pyspark import SparkContext

    system = SparkContext._jvm.java.lang.System
    for key, value in job["props"].items():
        system.setProperty(key, value)
    main_path = job["main"]
    sys.argv = [main_path, *job["argv"]]
    sys.path[0:1] = [os.path.dirname(os.path.abspath(main_path)), *job["path"]]
    try:
        runpy.run_path(main_path, run_name="__main__")
    except SystemExit as done:
        code = done.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except BaseException as exc:
        _print_job_traceback(exc, main_path)
        return 1
    return 0


def _print_job_traceback(exc: BaseException, main_path: str) -> None:
    """Print the traceback from the job's own frames on, as ``python main.py`` would."""
    tb = exc.__traceback__
    target = os.path.abspath(main_path)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != target:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


if __name__ == "__main__":
    sys.exit(main())

"""The production benchmark: Airflow's own dag processor (``airflow dag-processor -n 1``) over a folder,
timed until every DAG is serialized in the metadata DB.

Each scenario gets a fresh AIRFLOW_HOME with a copy of one migrated SQLite DB (``airflow db migrate``
runs once) and Airflow's defaults otherwise (``parsing_processes`` 2, ``dagbag_import_timeout`` 30 s,
``dag_file_processor_timeout`` 50 s). The ``serialized_dag`` and ``import_error`` tables are polled
while the processor runs; ``-n 1`` makes it parse every file once and exit.
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def base_env(home: Path, dags: Path, cache: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "_AIRFLOW_PARSING_CONTEXT"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cache is not None:
        env["DAGSPEC_CACHE_DIR"] = str(cache)
    return env


def migrated_db(work: Path) -> Path:
    """One migrated metadata DB, copied into each scenario's home."""
    home = work / "template-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = base_env(home, work, None)
    out = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"airflow db migrate failed:\n{out.stderr[-3000:]}")
    return home / "airflow.db"


@dataclass
class ProcessorRun:
    label: str
    seconds_to_db: float | None  # until every expected DAG was serialized (None: never)
    seconds_total: float  # until the processor exited
    dags: int
    errors: list[str] = field(default_factory=list)  # import_error file names
    timed_out: bool = False
    cpu_seconds: float = 0.0  # user+system CPU of the processor and its parse processes (robust to a loaded machine)


def _counts(db: Path) -> tuple[int, list[str]] | None:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            dags = con.execute("select count(*) from serialized_dag").fetchone()[0]
            errors = [row[0] for row in con.execute("select filename from import_error")]
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return dags, errors


def run_processor(label: str, dags: Path, db: Path, work: Path, expect: int, cache: Path | None,
                  timeout: float = 1800, extra_env: dict[str, str] | None = None,
                  prefix: list[str] | None = None) -> ProcessorRun:
    """Run ``airflow dag-processor -n 1`` over ``dags`` (``extra_env``: more configuration, such as
    the DAG importers; ``prefix``: a command to run it under, such as ``nice -n 10``)."""
    home = work / f"home-{label.replace(' ', '-')}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(db, home / "airflow.db")
    env = {**base_env(home, dags, cache), **(extra_env or {})}
    target = home / "airflow.db"
    log = (home / "dag-processor.log").open("w")
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([*(prefix or []), AIRFLOW, "dag-processor", "-n", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    reached: float | None = None
    timed_out = False
    while proc.poll() is None:
        time.sleep(0.5)
        counts = _counts(target)
        if reached is None and counts is not None and counts[0] >= expect:
            reached = time.monotonic() - start
        if time.monotonic() - start > timeout:
            proc.terminate()
            proc.wait(30)
            timed_out = True
    total = time.monotonic() - start
    proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log.close()
    final = _counts(target) or (0, [])
    if reached is None and final[0] >= expect:
        reached = total
    result = ProcessorRun(label, reached, total, final[0], sorted(final[1]), timed_out, cpu)
    shown = f"{reached:7.1f} s to all DAGs in the DB" if reached is not None else "   never had all DAGs in the DB"
    print(f"  {label:<28} {shown}, exited after {total:6.1f} s, CPU {cpu:6.1f} s: {final[0]} DAGs, "
          f"{len(final[1])} import error(s)"
          + (" TIMED OUT" if timed_out else ""), flush=True)
    return result

"""The local stack's parts without starting Airflow: the processes' environment, process-group stop, the demo's
report and exit reasons, and the refusals of `dagspec up` / the demo."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

import pytest
from dagspec.dag_factory.stack.config import StackConfig, prepare_home
from dagspec.dag_factory.stack.processes import Child
from dagspec.dag_factory.stack.report import JobOutput, RunReport, driver_lines, format_report
from dagspec.dag_factory.stack.runs import RunResult

from .kit import ROOT


def test_the_airflow_env_is_private_loopback_only_and_drops_the_callers_airflow_settings(tmp_path: Path) -> None:
    config = StackConfig(home=tmp_path / "home", dags_folder=ROOT / "dags")
    base = {"PATH": "/usr/bin", "AIRFLOW_HOME": "/elsewhere", "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "DATAPROC_EMULATOR_HOST": "10.0.0.1:1"}
    env = config.airflow_env(18080, {"DATAPROC_EMULATOR_HOST": "127.0.0.1:5", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:6"},
                             base)
    assert env["PATH"] == "/usr/bin"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "home")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor" and 2 <= int(env["AIRFLOW__CORE__PARALLELISM"]) <= 4
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(ROOT / "dags")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'home' / 'airflow.db'}"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["DATAPROC_EMULATOR_HOST"] == "127.0.0.1:5"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    # secrets are shared by every process of one stack, and kept for its next start
    assert config.airflow_env(1, {}, base)["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]


def test_prepare_home_writes_the_login_and_fresh_forgets_the_db(tmp_path: Path) -> None:
    config = StackConfig(home=tmp_path, dags_folder=ROOT / "dags")
    (tmp_path / "airflow.db").write_text("old")
    prepare_home(config, fresh=False)
    assert json.loads(config.passwords_file.read_text()) == {"admin": "admin"}
    assert (tmp_path / "airflow.db").exists() and config.logs.is_dir()
    prepare_home(config, fresh=True)
    assert not (tmp_path / "airflow.db").exists()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_child_is_stopped_with_its_whole_process_group(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    child = Child("sleepers", ["sh", "-c", "echo started; sleep 60 & sleep 60 & wait"], dict(os.environ), log).start()
    deadline = time.monotonic() + 10
    while "started" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.running() and child.pid is not None and _group_alive(child.pid)
    child.stop(timeout=5)
    assert child.exit_code() is not None
    assert not _group_alive(child.pid)  # the background sleeps are gone too
    assert "started" in child.tail()


def test_driver_lines_and_the_report_text() -> None:
    log = "job x: submit\n[driver] WARN something\n[driver] clean-sales: kept 240 rows, dropped 4\ntrigger completed"
    assert driver_lines(log) == ["WARN something", "clean-sales: kept 240 rows, dropped 4"]
    tasks = [
        {"task_id": "create_cluster_etl", "state": "success", "duration": 3.2, "try_number": 1, "start_date": "1"},
        {"task_id": "clean", "state": "success", "duration": 20.5, "try_number": 2, "start_date": "2"},
    ]
    report = RunReport(
        RunResult("sales_pipeline", "manual__1", "success", 61.0, tasks),
        stats={"clusters_created": {"ds-etl": 1}, "clusters_deleted": {"ds-etl": 1}, "jobs_started": {"clean_1": 1}},
        jobs=[JobOutput("clean", "clean_1", ["Setting default log level to \"WARN\".", "clean-sales: kept 240 rows"])],
        check={"orders": 240},
        results={"revenue_by_region": [{"region": "amer", "revenue": "1.5"}]},
    )
    text = format_report(report, wall=125.0, started_in=40.0)
    assert "sales_pipeline / manual__1: SUCCESS in 61.0s" in text
    assert re.search(r"clean +success +20\.5s +\(try 2\)", text)
    assert "ds-etl: created 1x, deleted" in text
    assert "| clean-sales: kept 240 rows" in text and "log level" not in text
    assert "region=amer, revenue=1.5" in text and "{'orders': 240}" in text
    assert "Wall time  2m05s (stack start 40.0s, run 61.0s)" in text


def test_the_demo_fails_with_the_reason_when_the_run_fails_or_a_cluster_is_left() -> None:
    from dagspec.dag_factory.stack.demo import _failures

    assert _failures("success", {"clusters_created": {"a": 1}, "clusters_deleted": {"a": 1}}) == []
    assert _failures("failed", {"clusters_created": {"a": 1}, "clusters_deleted": {}}) == [
        "the run ended failed", "cluster(s) not deleted: a"]


def test_the_demo_refuses_a_folder_without_the_loader(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dagspec.dag_factory.stack.demo import main

    assert main(["--dags", str(tmp_path), "--home", str(tmp_path / "home")]) == 2
    assert "no dagspec_loader.py" in capsys.readouterr().err


def test_dagspec_up_refuses_a_busy_port_before_starting_anything(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from dagspec.dag_factory.cli.main import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["up", "--dags", str(ROOT / "dags"), "--home", str(tmp_path), "--port", str(port)])
    assert code == 1
    assert f"port 127.0.0.1:{port} is in use" in capsys.readouterr().err
    assert not (tmp_path / "logs" / "processes" / "emulator.log").exists()

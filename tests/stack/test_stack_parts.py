"""The local stack's parts without starting Airflow: the processes' environment, process-group stop, the demo's
report and exit reasons, and the refusals of `dagspec up` / the demo."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
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



def test_a_child_is_stopped_with_its_whole_process_group(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    child = Child("sleepers", ["sh", "-c", "echo started; sleep 60 & sleep 60 & wait"], dict(os.environ), log).start()
    deadline = time.monotonic() + 10
    while "started" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.running() and child.group_alive()
    child.stop(timeout=5)
    assert child.exit_code() is not None
    assert not child.group_alive()  # the background sleeps are gone too
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


def test_the_default_topology_is_one_machine_and_celery_is_the_distributed_stack(tmp_path: Path) -> None:
    from dagspec.dag_factory.stack.servers import Postgres, Redis
    from dagspec.dag_factory.stack.topology import topology

    local = topology("local")
    assert local.names == ("api-server", "scheduler", "dag-processor", "triggerer") and local.server_kinds == ()
    celery = topology("celery")
    assert [c.kind for c in celery.components].count("scheduler") == 2
    workers = celery.of_kind("celery-worker")
    assert [w.name for w in workers] == ["celery-worker-1", "celery-worker-2"]
    assert [w.env["DAGSPEC_STACK_HOSTNAME"] for w in workers] == ["worker-1", "worker-2"]
    assert len({w.workdir for w in workers}) == 2
    assert all("--skip-serve-logs" in c.args for c in celery.components if c.kind != "api-server" and
               c.kind != "dag-processor")  # serve_logs would bind every interface
    assert celery.server_kinds == (Postgres, Redis)
    with pytest.raises(ValueError, match="unknown executor"):
        topology("kubernetes")


def test_the_local_scheduler_runs_airflow_after_loading_the_google_clients_its_tasks_inherit(tmp_path: Path) -> None:
    # LocalExecutor workers fork from the scheduler and tasks from them: the scheduler preloads the provider
    from dagspec.dag_factory.stack.topology import topology

    assert [c.module for c in topology("local").components] == [
        "airflow", "dagspec.dag_factory.stack.prewarmed", "airflow", "dagspec.dag_factory.stack.prewarmed"]
    probe = ("import runpy, sys; sys.argv = ['prewarmed', 'version']\n"
             "try:\n    runpy.run_module('dagspec.dag_factory.stack.prewarmed', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             "print('loaded', 'google.cloud.dataproc_v1' in sys.modules, 'dagspec.provider.operators.job' in sys.modules,"
             " code)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "AIRFLOW_HOME": str(tmp_path)})
    lines = out.stdout.split()
    assert out.returncode == 0, out.stderr[-2000:]
    assert lines[-4:] == ["loaded", "True", "True", "None"]  # the modules are loaded, and `airflow version` ran
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", lines[0])  # what `airflow version` prints


def test_the_celery_env_names_postgres_redis_and_the_psycopg2_result_backend(tmp_path: Path) -> None:
    from dagspec.dag_factory.stack.servers import Postgres, Redis

    config = StackConfig(home=tmp_path / "home", dags_folder=ROOT / "dags", executor="celery")
    pg, redis = Postgres(config.home, config.logs, port=15432), Redis(config.home, config.logs, port=16379)
    env = config.airflow_env(18080, {}, {}, servers_env={**pg.airflow_env(), **redis.airflow_env()})
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@127.0.0.1:15432/airflow")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert re.fullmatch(r"redis://:[^@]+@127\.0\.0\.1:16379/0", env["AIRFLOW__CELERY__BROKER_URL"])
    assert pg.password != redis.password and len(pg.password) >= 32
    local = StackConfig(home=tmp_path / "home", dags_folder=ROOT / "dags").airflow_env(18080, {}, {})
    assert local["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor" and local["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
        "sqlite:///")


def test_the_stack_stops_the_airflow_processes_together_then_the_api_server_the_emulator_and_the_servers(
        tmp_path: Path) -> None:
    from dagspec.dag_factory.stack.stack import LocalStack

    stack = LocalStack(StackConfig(home=tmp_path, dags_folder=tmp_path), "http://127.0.0.1:1", {}, {},
                       "http://127.0.0.1:1", None)  # type: ignore[arg-type]
    for name in ["postgres", "redis", "emulator", "api-server", "scheduler-1", "scheduler-2", "celery-worker-1"]:
        stack.children[name] = Child(name, ["true"], {}, tmp_path / f"{name}.log")
    killed = Child("triggerer", ["true"], {}, tmp_path / "triggerer.log")
    stack.stopped.append(killed)
    waves = [[child.name for child in wave] for wave in stack._stop_waves()]
    assert waves == [["celery-worker-1", "scheduler-2", "scheduler-1", "triggerer"], ["api-server"], ["emulator"],
                     ["redis"], ["postgres"]]


def test_a_killed_child_can_be_restarted_and_the_stack_check_ignores_it_meanwhile(tmp_path: Path) -> None:
    import signal
    import sys

    from dagspec.dag_factory.stack.stack import LocalStack

    config = StackConfig(home=tmp_path, dags_folder=tmp_path)
    stack = LocalStack(config, "http://127.0.0.1:1", {}, {}, "http://127.0.0.1:1", None)  # type: ignore[arg-type]
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    stack.children["worker"] = Child("worker", argv, dict(os.environ), tmp_path / "worker.log").start()
    killed = stack.kill("worker", signal.SIGKILL)
    assert killed.exit_code() == -signal.SIGKILL
    stack.check()  # a process killed on purpose is not a crash
    stack.restart("worker")
    assert stack.children["worker"].running()
    stack.stop()
    assert not any(c.running() for c in stack.all_children())


_WAIT_FOR_CTRL_C = """
import sys, time
from dagspec.dag_factory.stack.processes import stop_signals
with stop_signals():
    try:
        print("waiting", flush=True)
        time.sleep(120)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(0)
sys.exit(3)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_interrupt_even_when_the_parent_shell_ignored_sigint(sig: int) -> None:
    # A shell starts a background job (`dagspec up &` in a script) with SIGINT ignored and Python then never raises
    # KeyboardInterrupt; `dagspec up` and the demo must stop on Ctrl-C all the same.
    proc = subprocess.Popen([sys.executable, "-c", _WAIT_FOR_CTRL_C], stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "waiting"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, out.strip()) == (0, "interrupted")

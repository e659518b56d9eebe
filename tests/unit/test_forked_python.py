"""forked_python, the worker-path tests' way to run a probe in a process of its own: a probe behaves as
``subprocess.run([python, "-c", code, *args])`` would (argv, environment, working folder, output, exit
status, timeout), imports nothing of dagspec it did not import itself, and never sees Airflow settings other
than its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import forked_python
import pytest

PROBE = """
import json, os, sys
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "mine": os.environ.get("DAGSPEC_PROBE"),
                  "context": os.environ.get("AIRFLOW_CTX_DAG_ID"), "name": __name__,
                  "airflow": "airflow" in sys.modules, "compat": "dagspec.dag_factory.airflow.compat" in sys.modules,
                  "pid": os.getpid(), "parent": os.getppid()}))
print("to stderr", file=sys.stderr)
"""


def test_a_probe_gets_its_argv_environment_folder_and_output_and_no_dagspec_module_it_did_not_import(
        tmp_path: Path) -> None:
    env = {**os.environ, "DAGSPEC_PROBE": "one", "AIRFLOW_CTX_DAG_ID": "a_dag"}
    done = forked_python.run(PROBE, "first", "second arg", env=env, cwd=tmp_path)
    seen = json.loads(done.stdout)
    assert seen["argv"] == ["-c", "first", "second arg"] and seen["name"] == "__main__"
    assert Path(seen["cwd"]) == tmp_path and seen["mine"] == "one" and seen["context"] == "a_dag"
    assert done.stderr == "to stderr\n" and done.returncode == 0
    assert done.args == [sys.executable, "-c", PROBE, "first", "second arg"]
    assert seen["airflow"] and not seen["compat"]  # Airflow was imported first, dagspec's own modules were not
    assert seen["pid"] != os.getpid()
    again = json.loads(forked_python.run(PROBE, env={k: v for k, v in env.items() if k != "DAGSPEC_PROBE"}).stdout)
    assert again["mine"] is None and again["parent"] == seen["parent"]  # the same zygote, another process
    assert "DAGSPEC_PROBE" not in os.environ


def test_a_probe_ends_as_an_interpreter_does_after_its_threads_and_exit_handlers(tmp_path: Path) -> None:
    done = tmp_path / "written"
    code = ("import atexit, sys, threading, time\n"
            "def write():\n    time.sleep(0.5)\n    open(sys.argv[1], 'w').write('by the thread')\n"
            "threading.Thread(target=write).start()\n"  # not a daemon: the interpreter waits for it
            "atexit.register(lambda: print(open(sys.argv[1]).read()))\n")
    assert forked_python.run(code, str(done)).stdout == "by the thread\n"


def test_exit_status_errors_and_timeouts_are_reported_as_subprocess_run_does() -> None:
    assert forked_python.run("import sys; sys.exit(3)", check=False).returncode == 3
    killed = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert forked_python.run(killed, check=False, timeout=60).returncode == -9  # a signal, not a timeout
    with pytest.raises(subprocess.CalledProcessError) as failed:
        forked_python.run("raise ValueError('boom')")
    assert failed.value.returncode == 1 and "ValueError: boom" in failed.value.stderr
    assert 'File "<string>", line 1' in failed.value.stderr
    with pytest.raises(subprocess.TimeoutExpired):
        forked_python.run("import time; time.sleep(60)", timeout=1)
    assert forked_python.run("print('still serving')").stdout == "still serving\n"


@pytest.mark.slow  # starts a second zygote, which imports Airflow (seconds)
def test_a_probe_with_other_airflow_settings_is_forked_from_a_zygote_that_read_them(tmp_path: Path) -> None:
    code = "from airflow.configuration import conf; print(conf.get('core', 'dags_folder'))"
    other = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)}
    assert forked_python.run(code, env=other).stdout.strip() == str(tmp_path)
    assert forked_python.run(code).stdout.strip() == os.environ["AIRFLOW__CORE__DAGS_FOLDER"]

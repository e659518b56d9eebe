"""Run a Python probe in a process forked from one that has already imported Airflow (importable as
``forked_python``).

The worker-path and parse-unit tests run each parse in a process of its own, so that the modules it imports,
its garbage collector and its plan-cache reads are its own. Starting a Python that imports Airflow costs about
4 s of CPU on a 2-core machine, and those tests start dozens, on every Airflow line ``make test`` runs. A real
worker does not pay that per parse either: Airflow's task runner and the dag processor's parser import Airflow
first and parse the DAG file afterwards (the dag processor forks its parsers from a process that has). So
``run`` forks each probe from a *zygote*, a Python that imported ``airflow`` and the DagBag module once per test
session and nothing of dagspec; the probe imports dagspec itself, as a worker does.

A probe runs with its own environment, argv and working directory, its stdout and stderr captured, and its exit
status returned as ``subprocess.run`` would (``check`` raises ``CalledProcessError``; ``timeout`` kills it and
raises ``TimeoutExpired``). A zygote read Airflow's configuration from the environment it started with, so
probes are forked from a zygote whose ``AT_IMPORT`` variables (what importing Airflow reads: its home, config
file and ``AIRFLOW__`` settings, Python's own) equal theirs, started for them if there is none; every other
variable (the plan cache's, the emulators', a task context's) is the probe's own. Where fork is missing
(Windows), every probe is a fresh subprocess.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

# the variables a zygote and the probes it forks must agree on: what Airflow and Python read while Airflow is
# imported; minus those read only when a DAG is parsed or a task runs (the parsing and task contexts)
AT_IMPORT = ("AIRFLOW", "_AIRFLOW", "PYTHON", "TZ", "LANG", "LC_", "HOME", "PATH")
PER_PROBE = ("AIRFLOW_CTX_", "_AIRFLOW_PARSING_CONTEXT_")
ZYGOTES = 3  # at most this many at once (a test that changes Airflow's settings gets one of its own)


def _at_import(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(AT_IMPORT) and not k.startswith(PER_PROBE)))

_ZYGOTE = r"""
import atexit, importlib, json, os, sys, traceback

for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
requests, replies = sys.stdin.buffer, sys.stdout.buffer
devnull = os.open(os.devnull, os.O_RDONLY)


def child(request, os=os, sys=sys, atexit=atexit, traceback=traceback):
    os.setpgid(0, 0)
    os.dup2(devnull, 0)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_TRUNC)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["-c", *request["args"]]
    scope = sys.modules["__main__"].__dict__  # the probe's globals are __main__'s, as with python -c
    builtins = scope["__builtins__"]
    scope.clear()
    scope.update({"__name__": "__main__", "__builtins__": builtins, "__doc__": None, "__package__": None,
                  "__spec__": None})
    code = 0
    try:
        exec(compile(request["code"], "<string>", "exec"), scope)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException as error:
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)  # from the probe's own frame
        code = 1
    try:  # what an interpreter does on exit: wait for its non-daemon threads (the plan cache's writer), then atexit
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


for line in requests:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    replies.write(json.dumps({"pid": pid}).encode() + b"\n")
    replies.flush()
    _, status = os.waitpid(pid, 0)
    replies.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
    replies.flush()
"""


class _Zygote:
    def __init__(self, preload: tuple[str, ...], env: dict[str, str]) -> None:
        self.env = env
        self.lock = threading.Lock()
        self.process = subprocess.Popen([sys.executable, "-c", _ZYGOTE, json.dumps(list(preload))],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env)

    def run(self, argv: list[str], env: dict[str, str], cwd: str, timeout: float | None) -> tuple[int, str, str]:
        """``argv`` is ``[python, "-c", code, *args]``, as ``subprocess.run`` would be given it."""
        with self.lock, tempfile.TemporaryDirectory(prefix="dagspec-probe-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            out.touch()
            err.touch()
            request = {"code": argv[2], "args": argv[3:], "env": env, "cwd": cwd, "stdout": str(out), "stderr": str(err)}
            assert self.process.stdin is not None and self.process.stdout is not None
            pid, expired = None, threading.Event()

            def expire() -> None:
                expired.set()
                _kill(pid)

            timer = threading.Timer(timeout, expire) if timeout else None
            try:
                self.process.stdin.write(json.dumps(request).encode() + b"\n")
                self.process.stdin.flush()
                pid = json.loads(self.process.stdout.readline())["pid"]
                if timer:
                    timer.start()
                reply = self.process.stdout.readline()
            except BaseException:  # interrupted mid-request (Ctrl-C, pytest's timeout): this zygote is done
                if pid is not None:
                    _kill(pid)
                self.process.kill()
                self.process.wait()
                raise
            finally:
                if timer:
                    timer.cancel()
            if not reply:
                raise RuntimeError(f"the probe zygote ended (exit status {self.process.wait()})")
            status = json.loads(reply)["status"]
            if expired.is_set() and status == -signal.SIGKILL:
                raise subprocess.TimeoutExpired(argv, timeout or 0,
                                                out.read_bytes(), err.read_bytes())
            return status, out.read_text(errors="replace"), err.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the zygote ends when its requests end
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _kill(pid: int | None) -> None:
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)  # the probe and whatever it started
    except ProcessLookupError:
        try:
            os.kill(pid, signal.SIGKILL)  # killed before it made its own process group
        except ProcessLookupError:
            pass


_zygotes: dict[tuple[tuple[str, str], ...], _Zygote] = {}


def _zygote_for(env: dict[str, str]) -> _Zygote | None:
    if not hasattr(os, "fork"):
        return None
    key = _at_import(env)
    zygote = _zygotes.pop(key, None)
    if zygote is None or zygote.process.poll() is not None:
        from dagspec.dag_factory.airflow.compat import DAGBAG_MODULE

        zygote = _Zygote(("airflow", DAGBAG_MODULE), env)
        while len(_zygotes) >= ZYGOTES:
            _zygotes.pop(next(iter(_zygotes))).stop()  # the least recently used
    _zygotes[key] = zygote
    return zygote


@atexit.register
def _stop_all() -> None:
    while _zygotes:
        _zygotes.popitem()[1].stop()


def run(code: str, *args: str, env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
        timeout: float | None = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, ...)``, forked from
    a Python that has imported Airflow (see the module's docstring)."""
    env = dict(os.environ if env is None else env)
    cwd = str(cwd or os.getcwd())
    argv = [sys.executable, "-c", code, *args]
    zygote = _zygote_for(env)
    if zygote is None:
        return subprocess.run(argv, env=env, cwd=cwd, timeout=timeout, check=check, capture_output=True, text=True)
    status, out, err = zygote.run(argv, env, cwd, timeout)
    done = subprocess.CompletedProcess(argv, status, out, err)
    if check:
        done.check_returncode()
    return done


def parse_probe(code: str, *args: str, env: dict[str, str], dag_id: str | None = None) -> dict[str, Any]:
    """Run a parse probe as Airflow runs a parse and return the JSON object its last output line prints: for
    ``dag_id``, with the parsing context a worker's parse has (``_AIRFLOW_PARSING_CONTEXT_DAG_ID``); without it,
    as the dag processor's parse (no parsing context at all)."""
    env = {k: v for k, v in env.items() if not k.startswith("_AIRFLOW_PARSING_CONTEXT")}
    if dag_id:
        env["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = dag_id
    return json.loads(run(code, *args, env=env).stdout.strip().splitlines()[-1])

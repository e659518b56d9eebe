"""A newcomer's first hour, with the README as the only guide: the wheel built from this checkout installed
into a fresh Airflow 3 environment, `dagspec init`, a spec of their own validated, run under
`dagspec up --dags` and deployed with `--dry-run` to the GCS emulator without credentials.

The fresh venv gets the packages uv.lock pins (from the shared uv cache: fast and offline-friendly), then
the README's own `python -m pip install` of the wheel, with pip kept off the network. One stack start.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from dagspec.dag_factory.stack.config import PASSWORD, USERNAME, free_port
from dagspec.dag_factory.stack.rest import AirflowClient, ApiError

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Use dagspec in your project"):README.index("\n## Reuse")]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _block(lang: str, starting: str) -> str:
    return next(b for b in re.findall(rf"^```{lang}\n(.*?)^```", SECTION, re.S | re.M) if b.startswith(starting))


def _console(starting: str) -> tuple[str, list[str]]:
    """A console block's command and the lines it shows."""
    command, _, shown = _block("console", starting)[2:].partition("\n")
    return command, shown.strip("\n").splitlines()


def _sh(script: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    real = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    assert real.returncode == 0, f"$ {script}\n{real.stdout[-4000:]}"
    return real.stdout


def _ours(marker: str) -> list[str]:
    """Processes whose command line, environment or working folder names ``marker`` (the walk's temporary folder).

    The working folder finds the api-server and the LocalExecutor workers too: Airflow retitles them, which
    overwrites the command line and environment /proc shows."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            env = Path(f"/proc/{pid}/environ").read_bytes()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if marker.encode() in cmd or marker.encode() in env or cwd.startswith(marker):
            shown = cmd.replace(b"\0", b" ").decode(errors="replace")[:200]
            found.append(f"{pid}: {shown}")
    return found


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("newcomer")
    yield base
    left = _ours(str(base))
    for line in left:  # clean up whatever the walk left, then fail below
        try:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        except OSError:
            pass
    assert not left, "processes outlived the walk:\n" + "\n".join(left)


def test_a_newcomer_goes_from_the_built_wheel_to_a_run_and_a_deploy_dry_run_with_the_readme(walk: Path) -> None:
    timings: dict[str, float] = {}
    start = time.monotonic()

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - start - sum(timings.values()), 1)

    # 1. install: build the wheel, a fresh venv with the locked Airflow, then the README's pip command
    uv_env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    # from a copy of the sources: a build writes dagspec.egg-info into its tree, and `make test` may be installing
    # the other Airflow lines' environments from ROOT (editable: the same egg-info) while this test runs
    source = walk / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", ".tools", ".dagspec", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "build", "dist"))
    subprocess.run([str(UV), "build", "-q", "--out-dir", str(walk / "dist"), str(source)], check=True, env=uv_env,
                   cwd=walk, timeout=600)
    venv = walk / "venv"
    subprocess.run([str(UV), "venv", "-q", "--python", str(Path(sys.executable).resolve()), str(venv)], check=True,
                   env=uv_env, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "ensurepip"], check=True, stdout=subprocess.DEVNULL, timeout=300)
    reqs = walk / "requirements.txt"
    subprocess.run([str(UV), "export", "-q", "--frozen", "--no-hashes", "--no-dev", "--no-emit-project",
                    "--extra", "emulator", "--project", str(ROOT), "-o", str(reqs)], check=True, env=uv_env, timeout=120)
    subprocess.run([str(UV), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r", str(reqs)],
                   check=True, env=uv_env, timeout=900)
    home = walk / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "GOOGLE_", "STORAGE_EMULATOR", "DATAPROC_EMULATOR", "CLOUDSDK_", "DAGSPEC_",
                                "VIRTUAL_ENV", "PYTHON", "PYTEST", "UV_"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin", HOME=str(home), CLOUDSDK_CONFIG=str(home / "gcloud"),
               PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")  # every dependency is there: pip stays offline
    install = _block("bash", "python -m pip install")
    _sh(install, walk, env)
    assert (venv / "bin" / "dagspec").is_file()
    assert "/site-packages/dagspec/" in _sh("python -c 'import dagspec.dag_factory as d; print(d.__file__)'", walk, env)
    lap("install")

    # 2. dagspec init dags/ in a project of their own, printing what the README shows
    project = walk / "project"
    project.mkdir()
    command, shown = _console("$ dagspec init")
    assert _sh(command, project, env).strip("\n").splitlines() == shown

    # 3. a spec of their own (the README's), 4. validated as the README shows
    spec = next(b for b in re.findall(r"^```yaml\n(.*?)^```", SECTION, re.S | re.M) if "tasks:" in b)
    (project / "dags" / "team_report.yaml").write_text(spec, encoding="utf-8")
    command, shown = _console("$ dagspec validate")
    assert _sh(command, project, env).strip("\n").splitlines() == shown
    lap("init+validate")

    # 5. dagspec up --dags dags: the run succeeds, Ctrl-C stops everything
    port = free_port()
    assert "`dagspec up --dags dags`" in SECTION
    # started as a shell starts a background job (`dagspec up &` in a script): SIGINT ignored, which Ctrl-C must beat
    up = subprocess.Popen(["dagspec", "up", "--dags", "dags", "--port", str(port)], cwd=project, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(up.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    try:
        deadline = time.monotonic() + 300
        while not any("Airflow UI" in line for line in lines):
            assert up.poll() is None and time.monotonic() < deadline, "".join(lines)[-4000:]
            time.sleep(0.2)
        client = AirflowClient(f"http://127.0.0.1:{port}", USERNAME, PASSWORD)
        while "team_report" not in client.dags():
            assert up.poll() is None and time.monotonic() < deadline + 120, "".join(lines)[-4000:]
            time.sleep(0.5)
        assert client.import_errors() == []
        lap("up")
        client.unpause("team_report")
        run_id = client.trigger("team_report")
        state = ""
        while state not in ("success", "failed"):
            assert up.poll() is None and time.monotonic() < deadline + 420, ("".join(lines)[-4000:], state)
            time.sleep(0.5)
            try:
                state = client.run("team_report", run_id)["state"]
            except ApiError:
                state = ""
        tasks = {ti["task_id"]: ti["state"] for ti in client.task_instances("team_report", run_id)}
        assert state == "success", tasks
        assert tasks == {"extract": "success", "report": "success"}
        assert "report for" in client.log_text("team_report", run_id, "report", 1)
        lap("run")
    finally:
        up.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            up.wait(timeout=120)
        except subprocess.TimeoutExpired:
            lines.append(f"\n[still running 120 s after SIGINT; {_signal_masks(up.pid)}]")
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
    assert up.returncode == 0, "".join(lines)[-4000:]
    assert "dagspec up: stopped" in "".join(lines)
    deadline = time.monotonic() + 30
    while _ours(str(walk)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _ours(str(walk)) == []
    lap("stop")

    # 6. the deploy rehearsal, as the README writes it (on a free port), with no credentials anywhere
    gcs = free_port()
    block = _block("bash", "dagspec emulator").replace("4443", str(gcs))
    wait = (f"for i in $(seq 150); do curl -s -o /dev/null http://127.0.0.1:{gcs}/storage/v1/b?project=x && break; "
            "sleep 0.2; done")
    block = re.sub(r"^(dagspec emulator .*&)$", rf"\1\n{wait}", block, count=1, flags=re.M)
    out = _sh("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n" + block, project, env, timeout=300)
    assert "dry run: nothing changed" in out, out
    assert "dagspec_loader.py" in out and "team_report.yaml" in out, out
    with pytest.raises(OSError):  # the rehearsal's emulator stopped with it
        urllib.request.urlopen(f"http://127.0.0.1:{gcs}/storage/v1/b?project=x", timeout=2)
    lap("deploy")
    print(f"\nnewcomer walk: {round(time.monotonic() - start, 1)} s {timings}")
    shutil.rmtree(venv, ignore_errors=True)  # the largest part; the rest goes with pytest's tmp folders


def _signal_masks(pid: int) -> str:
    """The Sig* lines of /proc/PID/status (which signals a process blocks, ignores, catches), for a hang report."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        return f"no /proc status: {exc}"
    return " ".join(line.replace("\t", "") for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn", "SigCgt")))

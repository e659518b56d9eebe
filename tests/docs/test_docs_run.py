"""The shell examples of the README and docs/ run as shown, and print what they show.

Every ```bash and ```console block is either run here (in a copy of the project: dags/ and
templates/, with `.venv/bin/dagspec` and `dagspec` this checkout's CLI, no Google credentials) or
listed in SKIP with the reason. A console block's `$ command` lines run one by one and their output
must equal the lines shown below them, paths and timings normalised.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from dagspec.dag_factory.spec.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]

SKIP = {  # (page, how the block starts): why it is not run here
    ("README.md", "make demo"): "builds the environment and runs Airflow and Spark for minutes (tests/stack and "
                                "tests/deploy/test_composer_copy.py run its pipeline)",
    ("README.md", 'python -m pip install "$(ls dist/'): "installs into the reader's Airflow environment; "
                                                       "tests/e2e/test_newcomer.py does it in a fresh venv",
    ("docs/deploy.md", 'echo "dagspec=='): "changes a Composer environment in Google Cloud",
    ("docs/deploy.md", "gcloud composer environments describe"): "needs a Google Cloud account",
    ("docs/deploy.md", "dagspec deploy --bucket gs://europe-west1"): "a real Composer bucket; the same dry run runs "
                                                                     "against the emulator in the rehearsal block",
    ("docs/deploy.md", "gcloud composer environments run"): "needs a Google Cloud account",
    ("docs/docker.md", "docker compose"): "needs a Docker engine",
    ("docs/docker.md", "AIRFLOW_EXECUTOR=CeleryExecutor docker compose"): "needs a Docker engine",
}


def blocks() -> list[tuple[str, str, str]]:
    out = []
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        out += [(page, lang, body) for lang, body in re.findall(r"^```(bash|console)\n(.*?)^```", text, re.S | re.M)]
    return out


def _skip_reason(page: str, body: str) -> str | None:
    return next((why for (p, start), why in SKIP.items() if p == page and body.startswith(start)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project a reader runs the examples in, with `.venv/bin/dagspec` this checkout's CLI."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "dagspec").symlink_to(BIN / "dagspec")
    return root


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "STORAGE_EMULATOR", "DATAPROC_EMULATOR",
                                                                      "CLOUDSDK_", "DAGSPEC_"))}
    # no credentials at all (no key, no gcloud config, an empty HOME): the examples must not need them
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", CLOUDSDK_CONFIG=str(root / ".gcloud"), HOME=str(root))
    return env


def _normalise(text: str, root: Path) -> list[str]:
    text = text.replace(str(root) + "/", "").replace(str(root), ".")
    text = re.sub(r"\b\d+(\.\d+)? s\b", "N s", text)
    text = re.sub(r', "git:[0-9a-f]+"', "", text)  # the commit tag, only in a git checkout
    return [line.rstrip() for line in text.strip("\n").splitlines()]


# --- what a block needs before it runs ------------------------------------------------------------


def _tour_typo(root: Path) -> None:
    """README step 2: the tour's spec with line 18 misspelt, as the text says."""
    spec = re.findall(r"^```yaml\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M)[0]
    lines = spec.splitlines()
    assert lines[17].strip() == "depends_on: clean"
    lines[17] = lines[17].replace("depends_on", "dependson")
    (root / "dags" / "daily_sales.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _dag_factory_before(root: Path) -> None:
    """docs/migrating-from-dag-factory.md: its "before" files as old_dags/, into an empty dags/."""
    page = (ROOT / "docs" / "migrating-from-dag-factory.md").read_text(encoding="utf-8")
    before = re.findall(r"^```yaml\n(.*?)^```", page, re.S | re.M)[0]
    shutil.rmtree(root / "dags")
    (root / "old_dags").mkdir()
    (root / "old_dags" / "sales.yml").write_text(before, encoding="utf-8")
    (root / "old_dags" / "defaults.yml").write_text("default_args: {owner: data, retries: 1}\n", encoding="utf-8")
    (root / "lib" / "sales").mkdir(parents=True)  # the reader's own package the example calls
    (root / "lib" / "sales" / "__init__.py").write_text("", encoding="utf-8")
    (root / "lib" / "sales" / "jobs.py").write_text("def clean(strict=False):\n    return strict\n", encoding="utf-8")


def _dag_factory_after(root: Path) -> None:
    page = (ROOT / "docs" / "migrating-from-dag-factory.md").read_text(encoding="utf-8")
    after = re.findall(r"^```yaml\n(.*?)^```", page, re.S | re.M)[1]
    made, _ = load_yaml((root / "dags" / "sales_daily.yaml").read_text(encoding="utf-8"), "made")
    shown, _ = load_yaml(after, "shown")
    assert made is not None and shown is not None and made.data == shown.data
    defaults, _ = load_yaml((root / "dags" / "_defaults.yaml").read_text(encoding="utf-8"), "defaults")
    assert defaults is not None and defaults.data == {"default_args": {"owner": "data", "retries": 1}}


def _new_project(root: Path) -> None:
    """README "Use dagspec in your project": a project of the reader's own, with no dags/ yet."""
    shutil.rmtree(root / "dags")
    shutil.rmtree(root / "templates")


def _own_spec(root: Path) -> None:
    """README "Use dagspec in your project", steps 2 and 3 done: `dagspec init dags/`, then the spec it shows."""
    _new_project(root)
    subprocess.run([str(BIN / "dagspec"), "init", "dags/"], cwd=root, env=_env(root), check=True,
                   stdout=subprocess.DEVNULL)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    spec = next(b for b in re.findall(r"^```yaml\n(.*?)^```", readme, re.S | re.M) if "The team's nightly" in b)
    (root / "dags" / "team_report.yaml").write_text(spec, encoding="utf-8")


SETUP: dict[tuple[str, str], Callable[[Path], None]] = {
    ("README.md", "$ .venv/bin/dagspec validate dags/daily_sales.yaml"): _tour_typo,
    ("README.md", "$ dagspec init dags/"): _new_project,
    ("README.md", "$ dagspec validate dags/\n"): _own_spec,
    ("README.md", "dagspec emulator --gcs-port 4443 --no-spark &\nexport"): _own_spec,
    ("docs/migrating-from-dag-factory.md", ".venv/bin/dagspec import-dag-factory"): _dag_factory_before,
}
CHECK: dict[tuple[str, str], Callable[[Path], None]] = {
    ("docs/migrating-from-dag-factory.md", ".venv/bin/dagspec import-dag-factory"): _dag_factory_after,
}
ENV = {("docs/migrating-from-dag-factory.md", ".venv/bin/dagspec import-dag-factory"): {"REGION": "eu",
                                                                                      "PYTHONPATH": "lib"}}


def _lookup(table: dict[tuple[str, str], object], page: str, body: str) -> object:
    return next((v for (p, start), v in table.items() if p == page and body.startswith(start)), None)


# --- running --------------------------------------------------------------------------------------


def _with_emulator(script: str, env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes] | None]:
    """The script on a free GCS port instead of 4443; an emulator started for it when it starts none."""
    port = _free_port()
    script = script.replace("127.0.0.1:4443", f"127.0.0.1:{port}").replace("--gcs-port 4443", f"--gcs-port {port}")
    wait = (f"for i in $(seq 150); do curl -s -o /dev/null http://127.0.0.1:{port}/storage/v1/b?project=x && break; "
            "sleep 0.2; done")
    started = None
    if re.search(r"dagspec emulator .*&", script):
        script = re.sub(r"^(.*dagspec emulator .*&)(.*)$", rf"\1 \2\n{wait}", script, count=1, flags=re.M)
    else:
        started = subprocess.Popen([str(BIN / "dagspec"), "emulator", "--gcs-port", str(port), "--no-spark"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        script = wait + "\n" + script
    return "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script, started


def _run(script: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=root, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)


def _ids(block: tuple[str, str, str]) -> str:
    return f"{block[0]}:{block[2].splitlines()[0][:50]}"


def test_every_shell_block_is_run_or_skipped_for_a_stated_reason():
    assert blocks()
    for (page, start), _why in SKIP.items():
        assert any(p == page and b.startswith(start) for p, _, b in blocks()), f"stale SKIP entry {page}: {start}"


@pytest.mark.parametrize("block", blocks(), ids=_ids)
def test_the_docs_shell_examples_run_as_shown(block, project):
    page, lang, body = block
    why = _skip_reason(page, body)
    if why:
        pytest.skip(why)
    env = _env(project)
    env.update(_lookup(ENV, page, body) or {})  # type: ignore[arg-type]
    setup = _lookup(SETUP, page, body)
    if setup:
        setup(project)  # type: ignore[operator]
    if lang == "console":
        chunks = re.split(r"^\$ ", body, flags=re.M)[1:]
        for chunk in chunks:
            command, _, shown = chunk.partition("\n")
            real = _run(command, project, env)
            assert _normalise(real.stdout, project) == _normalise(shown, project), f"$ {command}"
        return
    started = None
    # gcloud lines reach Google Cloud: not run (the block says what they are for)
    script = "\n".join(line for line in body.splitlines() if not line.startswith("gcloud "))
    if "STORAGE_EMULATOR_HOST" in body:
        script, started = _with_emulator(script, env)
    try:
        real = _run(script, project, env)
    finally:
        if started is not None:
            started.terminate()
            started.wait(timeout=30)
    assert real.returncode == 0, real.stdout[-3000:]
    check = _lookup(CHECK, page, body)
    if check:
        check(project)  # type: ignore[operator]
    if "--dry-run" in body and "STORAGE_EMULATOR_HOST" in body:
        assert "dry run: nothing changed" in real.stdout


def test_the_readme_bench_line_names_the_keys_bench_prints():
    printed = re.findall(r"(\w+)=\{", (ROOT / "bench" / "run.py").read_text(encoding="utf-8"))
    shown = re.search(r"`BENCH ([^`]*)`", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert shown is not None
    assert re.findall(r"(\w+)=<", shown.group(1)) == printed


def test_dagspec_help_points_at_docs_that_exist():
    real = subprocess.run([str(BIN / "dagspec"), "--help"], capture_output=True, text=True, check=True).stdout
    named = re.findall(r"([\w/-]+\.md)\b", real)
    assert "docs/spec-reference.md" in named
    assert all((ROOT / name).is_file() for name in named)


def test_a_bucket_placeholder_in_capitals_fails_saying_bucket_names_are_lower_case(project):
    real = _run("dagspec deploy --bucket gs://YOUR-COMPOSER-BUCKET --dry-run", project, _env(project))
    assert real.returncode == 2
    assert "bucket names are lower case (`gs://your-composer-bucket`?)" in real.stdout

"""The Airflow-free test modules (tests/conftest.py AIRFLOW_FREE, skipped on most Airflow lines) pass with
Airflow, and every package those lines pin differently, impossible to import, so no line can change them."""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the lines whose `make test-line` skips the Airflow-free modules (Makefile: LINE_MARKS)
SUBSET_LINES = ("min", "3.4", "3.2", "3.1")

BLOCKER = '''\
import os, sys

_BLOCKED = frozenset(os.environ["DAGSPEC_BLOCKED_IMPORTS"].split(","))


class _Blocked:
    """Refuses the modules of packages an Airflow line pins differently (test_line_subsets.py)."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"{name}: blocked, its package differs on another Airflow line", name=name)
        return None


sys.meta_path.insert(0, _Blocked())
'''


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _differing_distributions() -> set[str]:
    """Distributions pinned on a subset line at another version than this (uv.lock's) environment has."""
    differing = set()
    for line in SUBSET_LINES:
        for text in (ROOT / "tests" / "envs" / f"airflow-{line}.txt").read_text().splitlines():
            match = re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)", text)
            if not match:
                continue
            try:
                if md.version(match[1]) != match[2]:
                    differing.add(_norm(match[1]))
            except md.PackageNotFoundError:
                differing.add(_norm(match[1]))
    return differing


def _blocked_modules() -> set[str]:
    differing = _differing_distributions()
    assert "apache-airflow-core" in differing or not differing, differing
    return {"airflow"} | {module for module, dists in md.packages_distributions().items()
                          if any(_norm(d) in differing for d in dists)}


@pytest.mark.slow
def test_the_airflow_free_modules_pass_with_airflow_and_every_package_the_lines_pin_differently_blocked(tmp_path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    blocked = _blocked_modules()
    env = {**os.environ, "DAGSPEC_BLOCKED_IMPORTS": ",".join(sorted(blocked)),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    probe = subprocess.run([sys.executable, "-c", "import airflow"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked" in probe.stderr, probe.stderr  # the blocker is active in subprocesses
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "airflow_free and not slow",
                          "tests/unit"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert " passed" in out.stdout

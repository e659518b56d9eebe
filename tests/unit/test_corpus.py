"""The spec corpora: every good spec compiles to its golden plan; every bad spec reports exactly
the diagnostics its first line declares (``# expect: CODE@LINE ...``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from dagspec.dag_factory.compile.api import compile_paths
from dagspec.dag_factory.compile.plan import to_data
from dagspec.dag_factory.spec.discover import find_spec_files, is_spec_file

SPECS = Path(__file__).resolve().parents[1] / "fixtures" / "specs"
GOOD, BAD, GOLDEN = SPECS / "good", SPECS / "bad", SPECS / "golden"
UPDATE = os.environ.get("DAGSPEC_UPDATE_GOLDEN") == "1"
ENV = {"PATH": os.environ.get("PATH", "")}  # no REPORT_TARGET: the default in the template applies


def _normalise(data: object) -> object:
    """Make a plan independent of the checkout's location and git commit."""
    text = json.dumps(data, sort_keys=True, default=str)
    text = text.replace(str(SPECS), "<specs>")
    text = re.sub(r"git:[0-9a-f]{12}", "git:<commit>", text)
    text = re.sub(r"\*\*Git commit:\*\* `[0-9a-f]+`", "**Git commit:** `<commit>`", text)
    return json.loads(text)


def _good_files() -> list[Path]:
    return sorted(p for p in find_spec_files(GOOD) if is_spec_file(p))


@pytest.mark.parametrize("spec", _good_files(), ids=lambda p: p.relative_to(GOOD).as_posix())
def test_good_spec_matches_golden_plan(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SPECS.parents[2])
    result = compile_paths([spec], root=GOOD, env=ENV)
    assert result.all_diagnostics == []
    assert result.plans, "a good spec gives at least one plan"
    for plan in result.plans:
        data = _normalise(to_data(plan))
        golden = GOLDEN / f"{plan.dag_id}.json"
        if UPDATE or not golden.exists():
            golden.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        assert data == json.loads(golden.read_text()), f"plan of {plan.dag_id} differs from {golden.name}"


def test_every_golden_plan_has_a_spec() -> None:
    ids = {plan.dag_id for plan in compile_paths(_good_files(), root=GOOD, env=ENV).plans}
    assert {p.stem for p in GOLDEN.glob("*.json")} == ids


def _expectations(path: Path) -> list[tuple[str, int]]:
    first = path.read_text().splitlines()[0]
    match = re.match(r"#\s*expect:\s*(.+)", first)
    assert match, f"{path.name} must start with '# expect: CODE@LINE ...'"
    return sorted((code, int(line)) for code, line in (item.split("@") for item in match.group(1).split()))


@pytest.mark.parametrize("spec", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_spec_reports_expected_diagnostics(spec: Path) -> None:
    result = compile_paths([spec], root=BAD, env=ENV)
    assert result.plans == []
    diags = result.all_diagnostics
    assert sorted((d.code, d.line) for d in diags if d.severity == "error") == _expectations(spec)
    for d in diags:
        assert d.file.endswith(spec.name) and d.column >= 1 and d.message
        assert d.snippet, "every diagnostic with a line shows the source line with a caret"

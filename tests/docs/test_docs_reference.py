"""docs/spec-reference.md has no holes: in sync, no dead anchor, every model field, every DSP code."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from dagspec.dag_factory.spec import models as m
from dagspec.dag_factory.spec.reference import CODES, render_reference
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "spec-reference.md"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^#+ (.*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _models(annotation: object, seen: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, seen)
        return
    if isinstance(annotation, typing.ForwardRef):
        _models(getattr(m, annotation.__forward_arg__), seen)
        return
    for arg in typing.get_args(annotation):
        _models(arg, seen)


def test_the_reference_page_is_generated_from_the_models():
    assert PAGE.read_text(encoding="utf-8") == render_reference(), \
        "run: .venv/bin/dagspec schema --markdown -o docs/spec-reference.md"


def test_no_in_page_anchor_of_the_reference_leads_nowhere():
    text = render_reference()
    anchors = {_slug(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}
    dead = sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors)
    assert dead == []


def test_every_field_of_every_model_a_spec_can_reach_is_documented_in_its_section():
    seen: set[type[BaseModel]] = set()
    _models(m.Spec, seen)
    sections = _sections(render_reference())
    task_classes = set(m._TASK_CLASSES.values())
    assert m.Every in seen and m.AssetModel in seen and m.OperatorOptions in seen
    missing = []
    for model in seen:
        if model in task_classes:  # a task: its action is in "Actions", its options in "Task options"
            action = next(k for k, c in m._TASK_CLASSES.items() if c is model)
            where = sections["Actions"] + sections["Task options"]
            names = [action] + [n for n in model.model_fields if n != action and model is not m.GroupTask]
        else:
            where = sections.get("The spec (top level)" if model is m.Spec else model.__name__, "")
            names = list(model.model_fields)
        missing += [f"{model.__name__}.{name}" for name in names if f"| `{name}` |" not in where]
    assert missing == []


def test_the_task_options_name_the_dataproc_keys_and_the_only_cluster_rule():
    options = _sections(render_reference())["Task options"]
    for key in ("cluster", "serverless", "dataproc"):
        assert f"| `{key}` |" in options
    assert "runs on the spec's only cluster" in options


def test_the_code_table_lists_exactly_the_codes_the_source_can_emit():
    emitted: set[str] = set()
    for folder in ("dag_factory", "provider"):
        for path in (ROOT / folder).rglob("*.py"):
            emitted |= set(re.findall(r'"(DSP\d{3})"', path.read_text(encoding="utf-8")))
    assert {"DSP100", "DSP101", "DSP102", "DSP900"} <= emitted
    assert sorted(emitted - set(CODES)) == [], "add them to spec/reference.py CODES"
    assert sorted(set(CODES) - emitted) == [], "codes in the table that nothing emits"
    table = _sections(render_reference())["Diagnostic codes"]
    assert all(f"| {code} |" in table for code in CODES)

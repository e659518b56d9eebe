"""The labels the provider derives (ownership, job labels) always pass Dataproc's label rules."""

from __future__ import annotations

import pytest
from dagspec.provider.dataproc_rules import label_problems
from dagspec.provider.naming import job_labels, label_key, ownership_labels

ODD = ["Sales ETL", "manual__2026-11-30T03:00:00+00:00", "9lives", "Ünïcode DAG", "x" * 200, "", "__init__"]


@pytest.mark.parametrize("text", ODD)
def test_derived_labels_pass_dataproc_rules(text: str) -> None:
    labels = {**ownership_labels(text or "d", text, text or "k", text), **job_labels(text or "d", text, text or "t")}
    assert label_problems(labels) == []
    assert label_problems({label_key(text or "k"): "v"}) == []

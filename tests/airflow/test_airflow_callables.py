"""The runtime callables the compiler references: branch choice, short-circuit truthiness, param items."""

from __future__ import annotations

import pytest
from dagspec.dag_factory.airflow.callables import check_condition, choose_branch, param_items

CASES = {"big": ["load_big", "report"], "10": ["ten"], "True": ["yes"]}


@pytest.mark.parametrize(("value", "expected"), [
    ("big", ["load_big", "report"]),
    ("  big\n", ["load_big", "report"]),  # rendered Jinja often ends with a newline
    ("10", ["ten"]),
    (10, ["ten"]),  # native rendering gives non-strings
    ("True", ["yes"]),
    ("small", ["fallback"]),
    ("", ["fallback"]),
])
def test_choose_branch(value, expected):
    assert choose_branch(value, CASES, ["fallback"]) == expected


def test_choose_branch_without_default_skips_every_branch():
    assert choose_branch("other", CASES, []) == []


@pytest.mark.parametrize("value", ["", "0", "false", "False", " no ", "none", "None", "[]", "{}", 0, None, [], False])
def test_false_values(value):
    assert check_condition(value) is False


@pytest.mark.parametrize("value", ["1", "true", "yes", "x", "[1]", "0.0.1", 1, [0], True])
def test_true_values(value):
    assert check_condition(value) is True


@pytest.mark.parametrize(("value", "expected"), [
    (["a", "b"], ["a", "b"]),
    (("a",), ["a"]),
    ('["a", 2]', ["a", 2]),
    ("solo", ["solo"]),
    (3, [3]),
    (None, []),
])
def test_param_items(value, expected):
    assert param_items("p", params={"p": value}, ti=None) == expected

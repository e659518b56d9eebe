"""Safe YAML with positions: hostile input gives a diagnostic, never a crash, a hang or code run."""

from __future__ import annotations

from dagspec.dag_factory.spec.yaml_source import MAX_BYTES, load_yaml
from hypothesis import given, settings
from hypothesis import strategies as st


def test_positions_of_keys_and_values() -> None:
    doc, diags = load_yaml("a: 1\nb:\n  c: [x, y]\n", "f.yaml")
    assert not diags and doc is not None
    assert doc.data == {"a": 1, "b": {"c": ["x", "y"]}}
    key = doc.source.find(("b", "c"), key=True)
    value = doc.source.find(("b", "c", 1))
    assert (key.line, key.column) == (3, 3)
    assert (value.line, value.column) == (3, 10)
    missing = doc.source.find(("b", "nope", 3))  # the nearest known ancestor
    assert (missing.line, missing.column) == (3, 3)


def test_keys_stay_strings_even_when_yaml_11_would_make_them_booleans() -> None:
    doc, _ = load_yaml("on: 1\nyes: 2\n3: x\n", "f.yaml")
    assert doc is not None and doc.data == {"on": 1, "yes": 2, "3": "x"}


def test_duplicate_key_names_both_lines() -> None:
    _, diags = load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [(d.code, d.line) for d in diags] == [("DSP004", 3)]
    assert "line 1" in diags[0].message


def test_python_tags_are_rejected_not_run(tmp_path) -> None:
    marker = tmp_path / "pwned"
    _, diags = load_yaml(f'a: !!python/object/apply:os.system ["touch {marker}"]\n', "f.yaml")
    assert diags[0].code == "DSP002"
    assert not marker.exists()


def test_merge_keys_are_rejected() -> None:
    _, diags = load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml")
    assert diags[0].code == "DSP002"


def test_alias_bomb_is_rejected_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    _, diags = load_yaml("\n".join(lines), "bomb.yaml")
    assert diags and diags[0].code == "DSP003"


def test_deep_flow_nesting_is_rejected_without_crashing() -> None:
    # Our depth guard (DSP003) or the YAML library's own nesting limit (a DSP001 syntax error, as
    # PyYAML 6.0.4 reports it) may answer first; either way: no document, an error with a position.
    doc, diags = load_yaml("[" * 200_000 + "]" * 200_000, "deep.yaml")
    assert doc is None
    assert diags and diags[0].severity == "error" and diags[0].code in ("DSP001", "DSP003")
    assert diags[0].file == "deep.yaml" and diags[0].line == 1 and diags[0].column >= 1


def test_deep_block_nesting_is_rejected() -> None:
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n"
    _, diags = load_yaml(text, "deep.yaml")
    assert diags[0].code == "DSP003"


def test_oversized_file_is_rejected() -> None:
    _, diags = load_yaml("a: " + "x" * (MAX_BYTES + 1), "big.yaml")
    assert diags[0].code == "DSP003"


def test_tab_indentation_gets_a_hint() -> None:
    _, diags = load_yaml("a:\n\tb: 1\n", "tabs.yaml")
    assert diags[0].code == "DSP001" and diags[0].line == 2 and "tab" in diags[0].hint


def test_empty_document_is_none() -> None:
    doc, diags = load_yaml("# only a comment\n", "empty.yaml")
    assert not diags and doc is not None and doc.data is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab:-[]{}&*!|>'\"\n\t #%@`,?") + ["  ", "!!python/name:os.system", "<<"]),
                max_size=80).map("".join))
def test_arbitrary_text_never_raises(text: str) -> None:
    doc, diags = load_yaml(text, "fuzz.yaml")
    assert (doc is None) == bool(diags)
    for d in diags:
        assert d.code.startswith("DSP") and d.file == "fuzz.yaml"

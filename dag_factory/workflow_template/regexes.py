"""Dataproc parameter regexes (each must match the whole value) <-> one JSON-schema ``pattern`` (a search).

``pattern_of(["a", "b"])`` is ``^(?:(?:a)|(?:b))$`` (one regex: ``^(?:a)$``), which accepts exactly
the values one of the regexes matches in full; ``regexes_of`` reads that form back, and turns any
other pattern into one equivalent full-match regex.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["pattern_of", "regexes_of"]


def pattern_of(regexes: list[str]) -> str:
    if len(regexes) == 1:
        return f"^(?:{regexes[0]})$"
    return "^(?:" + "|".join(f"(?:{r})" for r in regexes) + ")$"


def _structure(text: str) -> Iterator[tuple[int, str, int]]:
    """``(index, char, depth)`` for each character outside escapes and character classes; ``depth``
    is the number of groups open around it (a ``)`` counts as already closed)."""
    depth, i, in_class = 0, 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        else:
            if ch == ")":
                depth -= 1
            yield i, ch, depth
            if ch == "(":
                depth += 1
        i += 1


def _top_level_split(text: str) -> list[str]:
    """Split on ``|`` outside groups and character classes."""
    parts, start = [], 0
    for i, ch, depth in _structure(text):
        if ch == "|" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _encloses(text: str) -> bool:
    """Whether ``text`` is one ``(?:...)`` group from its first to its last character."""
    if not (text.startswith("(?:") and text.endswith(")")):
        return False
    return all(not (ch == ")" and depth == 0 and i != len(text) - 1) for i, ch, depth in _structure(text))


def regexes_of(pattern: str) -> list[str]:
    """Full-match regexes equivalent to a JSON-schema ``pattern``."""
    if pattern.startswith("^") and pattern.endswith("$") and _encloses(pattern[1:-1]):
        inner = pattern[1:-1][3:-1]
        parts = _top_level_split(inner)
        if len(parts) > 1 and all(_encloses(p) for p in parts):
            return [p[3:-1] for p in parts]
        return [inner]
    if pattern.startswith("^") and pattern.endswith("$"):
        return [pattern]
    return [f".*(?:{pattern}).*"]

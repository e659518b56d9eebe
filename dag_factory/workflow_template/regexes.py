"""Dataproc parameter regexes (each must match the whole value) <-> one JSON-schema ``pattern`` (a search).

``pattern_of(["a", "b"])`` is ``^(?:(?:a)|(?:b))$`` (one regex: ``^(?:a)$``), which accepts exactly
the values one of the regexes matches in full; ``regexes_of`` reads that form back, and turns any
other pattern into one equivalent full-match regex.
"""

from __future__ import annotations

__all__ = ["pattern_of", "regexes_of"]


def pattern_of(regexes: list[str]) -> str:
    if len(regexes) == 1:
        return f"^(?:{regexes[0]})$"
    return "^(?:" + "|".join(f"(?:{r})" for r in regexes) + ")$"


def _top_level_split(text: str) -> list[str]:
    """Split on ``|`` outside groups and character classes."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _encloses(text: str) -> bool:
    """Whether ``text`` is one ``(?:...)`` group from its first to its last character."""
    if not (text.startswith("(?:") and text.endswith(")")):
        return False
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
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
        i += 1
    return True


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

"""Refuse regular expressions whose backtracking can explode: nested or ambiguous unbounded repeats.

A param's ``pattern`` runs in Airflow's ``Param.resolve()`` (``jsonschema`` over Python's ``re``, a
backtracking engine) on whatever a user types when triggering a run: ``^(a+)+$`` against
``aaaa…a!`` takes exponential time and blocks the API server. Linear-time engines (RE2) would not
help there, since jsonschema always uses ``re``; so dagspec refuses such patterns when a spec is
validated. The check is a conservative reading of the parsed pattern (``re``'s own parser):

* an unbounded repeat inside a repeat (``+``, ``*``, ``{2,}``, ``{12}``), unless the outer repeat's
  body has a mandatory character that the inner repeats cannot match (``([a-z0-9]+\\.)*`` is fine:
  the ``.`` separates);
* a repeat of alternatives that can start with the same character (``(a|a?)+``).

Character sets are compared on the first 256 code points, which is enough for the separators
patterns use.
"""

from __future__ import annotations

from typing import Any

try:  # the parser behind re.compile (Python 3.11+); sre_parse is its deprecated alias
    import re._constants as _c  # type: ignore[import-not-found]
    import re._parser as _parser  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - older layouts
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

__all__ = ["backtracking_risk"]

_SAMPLES = frozenset(chr(i) for i in range(256))
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT}
_CATEGORIES = {
    _c.CATEGORY_DIGIT: str.isdigit,
    _c.CATEGORY_SPACE: str.isspace,
    _c.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
}
_CATEGORIES.update({
    _c.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdigit(),
    _c.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
    _c.CATEGORY_NOT_WORD: lambda ch: not (ch.isalnum() or ch == "_"),
})


def backtracking_risk(pattern: str) -> str | None:
    """Why ``pattern`` can backtrack catastrophically, or None. ``pattern`` must compile."""
    return _sequence(list(_parser.parse(pattern)))


def _sequence(items: list[Any]) -> str | None:
    for op, av in items:
        found = None
        if op in _REPEATS:
            low, high, body = av
            repeated = high == _c.MAXREPEAT or high > 1  # (.*a){12} is as bad as (.*a)+
            if repeated:
                found = _repeated(list(body))
            found = found or _sequence(list(body))
        elif op is _c.SUBPATTERN:
            found = _sequence(list(av[-1]))
        elif op is _c.BRANCH:
            found = next((r for b in av[1] if (r := _sequence(list(b)))), None)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            found = _sequence(list(av[1]))
        if found:
            return found
    return None


def _repeated(body: list[Any]) -> str | None:
    """Checks for the body of one repeat."""
    inner = _inner_repeats(body)
    if inner:
        inner_chars = frozenset().union(*(_chars(list(b)) for b in inner))
        if not any(not (chars & inner_chars) for chars in _mandatory(body)):
            return "a repeated group contains another unbounded repeat (`+`, `*` or `{n,}`) with nothing to separate them"
    for branch in _branches(body):
        starts = [_first(list(b)) for b in branch]
        for i, a in enumerate(starts):
            if any(a & b for b in starts[i + 1:]):
                return "a repeated group has alternatives that can start with the same character"
    return None


def _inner_repeats(items: list[Any]) -> list[Any]:
    out = []
    for op, av in items:
        if op in _REPEATS:
            if av[1] == _c.MAXREPEAT:
                out.append(av[2])
            out += _inner_repeats(list(av[2]))
        elif op is _c.SUBPATTERN:
            out += _inner_repeats(list(av[-1]))
        elif op is _c.BRANCH:
            for b in av[1]:
                out += _inner_repeats(list(b))
    return out


def _mandatory(items: list[Any]) -> list[frozenset[str]]:
    """Character sets of the single characters every match of ``items`` must contain."""
    out = []
    for op, av in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN):
            out.append(_chars([(op, av)]))
        elif op is _c.SUBPATTERN:
            out += _mandatory(list(av[-1]))
        elif op in _REPEATS and av[0] >= 1:
            out += _mandatory(list(av[2]))
    return out


def _branches(items: list[Any]) -> list[list[Any]]:
    out = []
    for op, av in items:
        if op is _c.BRANCH:
            out.append(av[1])
        elif op is _c.SUBPATTERN:
            out += _branches(list(av[-1]))
    return out


def _first(items: list[Any]) -> frozenset[str]:
    """Characters a match of ``items`` can start with."""
    out: frozenset[str] = frozenset()
    for op, av in items:
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue
        if op is _c.SUBPATTERN:
            out |= _first(list(av[-1]))
            return out  # close enough: an optional group is rare at a branch's start
        if op is _c.BRANCH:
            return out.union(*(_first(list(b)) for b in av[1]))
        if op in _REPEATS:
            out |= _first(list(av[2]))
            if av[0] >= 1:
                return out
            continue
        return out | _chars([(op, av)])
    return out


def _chars(items: list[Any]) -> frozenset[str]:
    """Every sample character that can appear in a match of ``items``."""
    out: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            out.add(chr(av))
        elif op is _c.NOT_LITERAL or op is _c.ANY:
            out |= _SAMPLES - ({chr(av)} if op is _c.NOT_LITERAL else set())
        elif op is _c.IN:
            out |= _class(av)
        elif op in _REPEATS:
            out |= _chars(list(av[2]))
        elif op is _c.SUBPATTERN:
            out |= _chars(list(av[-1]))
        elif op is _c.BRANCH:
            for b in av[1]:
                out |= _chars(list(b))
        elif op in (_c.GROUPREF, _c.GROUPREF_EXISTS):
            out |= _SAMPLES
    return frozenset(out)


def _class(items: list[Any]) -> frozenset[str]:
    negate = False
    chars: set[str] = set()
    for op, av in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            chars.add(chr(av))
        elif op is _c.RANGE:
            chars |= {chr(i) for i in range(av[0], av[1] + 1) if i < 256}
        elif op is _c.CATEGORY:
            test = _CATEGORIES.get(av)
            chars |= {ch for ch in _SAMPLES if test(ch)} if test else set(_SAMPLES)
        else:
            chars |= _SAMPLES
    return frozenset(_SAMPLES - chars if negate else chars)

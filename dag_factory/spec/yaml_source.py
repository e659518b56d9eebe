"""Safe YAML loading that remembers where every value was written (file, line, column).

The text is composed into nodes with PyYAML's C loader when available, then built into plain
Python values here, so that:

- every mapping key and value has a position, looked up by its path (``("tasks", "load", "bash")``);
- duplicate keys, anchors that expand into huge documents, absurd nesting, oversized files and any
  tag outside the safe core schema (``!!python/object`` …) are reported as diagnostics, never run;
- no text substitution happens over the raw YAML: variables are resolved later, on values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Diagnostic

__all__ = ["Loc", "SourceMap", "YamlDocument", "load_yaml", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES"]

_STR = "tag:yaml.org,2002:str"

try:  # the C loader is ~10x faster; the pure one is a correct fallback
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader


class _Composer(_Base):  # type: ignore[misc,valid-type]
    """The safe loader, with a shortcut for the commonest scalar: one whose first character no implicit
    resolver (int, float, bool, null, timestamp ...) starts with is a plain string. The C composer asks
    ``resolve`` for every node; the answers are the ones PyYAML's own ``resolve`` gives."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if not self.yaml_path_resolvers:
            if kind is ScalarNode:
                if implicit[0] and value:
                    resolvers = self.yaml_implicit_resolvers
                    if value[0] not in resolvers and None not in resolvers:
                        return _STR
            elif kind is MappingNode:
                return self.DEFAULT_MAPPING_TAG
            elif kind is SequenceNode:
                return self.DEFAULT_SEQUENCE_TAG
        return super().resolve(kind, value, implicit)

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000

_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Loc:
    """A place in a file; line and column are 1-based (0 when unknown)."""

    file: str
    line: int = 0
    column: int = 0


class SourceMap:
    """Where values and mapping keys were written, looked up by path when a diagnostic needs it.

    Positions are read from the composed YAML nodes on demand, so loading pays nothing for them.
    A merged spec keeps one layer per file (nearest first); a lookup answers from the layer that
    knows the longest part of the path.
    """

    def __init__(self, file: str, root: Node | None = None, lines: list[str] | None = None):
        self.file = file
        self.lines = lines or []
        self.layers: list[tuple[str, Node]] = [(file, root)] if root is not None else []

    def merge(self, other: SourceMap) -> None:
        """Put ``other``'s layers in front (an overlay wins over what it overrides)."""
        self.layers = [*other.layers, *self.layers]

    def copy(self) -> SourceMap:
        out = SourceMap(self.file, None, self.lines)
        out.layers = list(self.layers)
        return out

    _index: dict[int, dict[str, tuple[Node, Node]]]

    def _pairs(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        index = self.__dict__.setdefault("_index", {})
        pairs = index.get(id(node))
        if pairs is None:
            pairs = index[id(node)] = {k.value: (k, v) for k, v in node.value if isinstance(k, ScalarNode)}
        return pairs

    def _walk(self, root: Node, path: YamlPath, key: bool) -> tuple[int, Node]:
        node, mark, depth = root, root, 0
        last = len(path) - 1
        for part in path:
            if isinstance(node, MappingNode):
                pair = self._pairs(node).get(part if type(part) is str else str(part))
                if pair is None:
                    break
                node = pair[1]
                mark = pair[0] if key and depth == last else node
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = mark = node.value[part]
            else:
                break
            depth += 1
        return depth, mark

    def position(self, path: YamlPath, *, key: bool = False) -> tuple[str, int, int]:
        """``find`` as a (file, line, column) tuple."""
        layers = self.layers
        if len(layers) == 1:  # a spec without defaults or templates: one place to look
            file, root = layers[0]
            start = self._walk(root, path, key)[1].start_mark
            return file, start.line + 1, start.column + 1
        best: tuple[int, str, Node] | None = None
        for file, root in layers:
            depth, mark = self._walk(root, tuple(path), key)
            if best is None or depth > best[0]:
                best = (depth, file, mark)
        if best is None:
            return self.file, 1, 1
        start = best[2].start_mark
        return best[1], start.line + 1, start.column + 1

    def find(self, path: YamlPath, *, key: bool = False) -> Loc:
        """The position of ``path`` (its key with ``key=True``), or of its nearest known ancestor."""
        return Loc(*self.position(path, key=key))


@dataclass
class YamlDocument:
    """A loaded YAML document: the plain data, its source map, and the text it came from."""

    data: Any
    source: SourceMap
    text: str


class _Abort(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _flow_depth_ok(text: str) -> bool:
    """Cheap guard against deeply nested flow collections, which would exhaust the C stack."""
    if text.count("[") + text.count("{") < MAX_DEPTH:
        return True
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Composer):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return False
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return True  # the composer reports the syntax error with its position
    return True


class _Builder:
    """Builds plain values from composed nodes, recording positions and rejecting unsafe input."""

    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.scalars = SafeConstructor()

    def loc(self, node: Node) -> Loc:
        mark = node.start_mark
        return Loc(self.file, mark.line + 1, mark.column + 1)

    def fail(self, node: Node, code: str, message: str, hint: str = "") -> _Abort:
        loc = self.loc(node)
        return _Abort(Diagnostic(code, message, loc.file, loc.line, loc.column, hint))

    def build(self, node: Node, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                "DSP003",
                f"the document expands to more than {MAX_NODES} values",
                "anchors and aliases (&a / *a) that repeat each other blow up; write the values out",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, "DSP003", f"values nested deeper than {MAX_DEPTH} levels", "flatten the spec")
        tag = node.tag
        if tag not in _SAFE_TAGS:
            raise self.fail(
                node,
                "DSP002",
                f"tag `{node.tag}` is not allowed in a spec",
                "specs use plain YAML values only; remove the tag (python tags never run)",
            )
        if isinstance(node, ScalarNode):
            if tag == _STR:
                return node.value
            try:
                return self.scalars.construct_object(node)
            except (ConstructorError, ValueError) as exc:
                if node.tag == _TIMESTAMP:  # `2024-13-01` looks like a date but is none: keep the text, so the
                    return node.value  # model reports it where a date is due and the file's other errors too
                raise self.fail(node, "DSP001", f"bad value: {exc}") from None
        if isinstance(node, SequenceNode):
            return [self.build(child, depth + 1) for child in node.value]
        assert isinstance(node, MappingNode)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "DSP002", "merge keys (`<<`) are not supported", "write the keys out")
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "DSP001", "mapping keys must be plain scalars")
            if key_node.tag not in _SAFE_TAGS:
                raise self.fail(key_node, "DSP002", f"tag `{key_node.tag}` is not allowed in a spec")
            # keys are names: kept as written, so `on:`, `yes:` or `3:` stay strings (YAML 1.1
            # would make them booleans and numbers)
            key = key_node.value
            if key in out:
                first = next(k for k, _ in node.value if isinstance(k, ScalarNode) and k.value == key)
                raise self.fail(
                    key_node,
                    "DSP004",
                    f"duplicate key `{key}` (first at line {first.start_mark.line + 1})",
                    "each key may appear once in a mapping; remove or rename one",
                )
            if (value_node.tag == _STR and type(value_node) is ScalarNode and self.count < MAX_NODES
                    and depth < MAX_DEPTH):
                self.count += 1  # the commonest value, a plain string: what ``build`` would do, without the call
                out[key] = value_node.value
            else:
                out[key] = self.build(value_node, depth + 1)
        return out


def _reader_diagnostic(file: str, exc: yaml.reader.ReaderError, text: str) -> Diagnostic:
    """A character YAML does not allow (a NUL byte, a control character), at its line and column."""
    position = min(max(int(exc.position), 0), len(text))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return Diagnostic("DSP001", f"YAML does not allow the character #x{ord(char):04x} ({exc.reason})", file, line,
                      column, "remove the control character (a NUL byte often means the file is binary)")


def _syntax_diagnostic(file: str, exc: yaml.YAMLError, lines: list[str]) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    hint = "check indentation and quoting near this place"
    line = mark.line + 1 if mark else 0
    if 0 < line <= len(lines) and "\t" in lines[line - 1]:
        hint = "YAML does not allow tabs for indentation; use spaces"
    elif context == "while scanning an alias" and 0 < line <= len(lines):
        key, _, value = lines[line - 1].partition(":")
        example = f'{key.strip()}: "{value.strip()}"' if value.strip().startswith("*") else '"* * * * *"'
        hint = (f"a value starting with `*` is a YAML alias; quote it, e.g. `{example}` "
                "(cron expressions with `*` need quotes)")
        start = getattr(exc, "context_mark", None)
        if start is not None and mark is not None and start.line == mark.line:  # the caret under the `*`, not after it
            mark = start
    column = mark.column + 1 if mark else 0
    return Diagnostic("DSP001", message, file, line, column, hint)


def load_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Parse one YAML document safely. Returns the document, or None with the diagnostics."""
    lines = text.splitlines()
    if len(text) > MAX_BYTES:
        return None, [
            Diagnostic("DSP003", f"file is larger than {MAX_BYTES // 1024} KiB", file, 1, 1, "split the spec")
        ]
    if not _flow_depth_ok(text):
        return None, [
            Diagnostic("DSP003", f"values nested deeper than {MAX_DEPTH} levels", file, 1, 1, "flatten the spec")
        ]
    try:
        loader = _Composer(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        return None, [_reader_diagnostic(file, exc, text)]
    except yaml.YAMLError as exc:
        return None, [_syntax_diagnostic(file, exc, lines)]
    except RecursionError:
        return None, [Diagnostic("DSP003", "values nested too deeply", file, 1, 1, "flatten the spec")]
    if node is None:
        return YamlDocument(None, SourceMap(file, None, lines), text), []
    try:
        data = _Builder(file).build(node, 0)
    except _Abort as abort:
        return None, [abort.diagnostic]
    return YamlDocument(data, SourceMap(file, node, lines), text), []


def iter_paths(data: Any, path: YamlPath = ()) -> Iterator[tuple[YamlPath, Any]]:
    """Every (path, value) below ``data``, depth first."""
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from iter_paths(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_paths(v, path + (i,))

"""Positions for converted data: a ``SourceMap`` whose nodes carry the template's line and column.

The importer turns a template into spec data; diagnostics about that data (from the spec models
or the compiler) must still point into the template file. ``source_for`` builds a YAML node tree
for the spec data in which every node borrows the position of the template node it came from
(``origins``: spec path -> template path), or its parent's position.
"""

from __future__ import annotations

from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..spec.yaml_source import SourceMap, YamlPath
from .names import MAP_FIELDS, snake

__all__ = ["source_for", "original_path", "template_nodes"]

_MAP, _SEQ, _STR = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"


def original_path(norm: YamlPath, data: Any) -> YamlPath:
    """The path as written in the template (camelCase or snake_case keys) for a normalized path."""
    out: list[str | int] = []
    node, in_map = data, False
    for part in norm:
        if isinstance(node, dict):
            key = part if in_map else next((k for k in node if snake(str(k)) == part), part)
            out.append(key)
            in_map = not in_map and str(part) in MAP_FIELDS
            node = node.get(key)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node, in_map = node[part], False
        else:
            out.append(part)
            node = None
    return tuple(out)


def template_nodes(root: Node | None, path: YamlPath) -> tuple[Node | None, Node | None]:
    """(key node, value node) at ``path`` below ``root``; (None, None) when it is not there."""
    node, key_node = root, None
    for part in path:
        if isinstance(node, MappingNode):
            pair = next(((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == str(part)), None)
            if pair is None:
                return None, None
            key_node, node = pair
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            key_node, node = None, node.value[part]
        else:
            return None, None
    return key_node, node


def source_for(data: dict[str, Any], origins: dict[YamlPath, YamlPath], template: SourceMap, raw: Any) -> SourceMap:
    """A ``SourceMap`` for spec ``data`` converted from the template read into ``template`` (raw data ``raw``)."""
    root = template.layers[0][1] if template.layers else None
    if root is None:
        return SourceMap(template.file, None, template.lines)

    def marks(path: YamlPath, parent: tuple[Any, Any]) -> tuple[Any, Any]:
        origin = origins.get(path)
        if origin is None:
            return parent
        key_node, value_node = template_nodes(root, original_path(origin, raw))
        if value_node is None:
            return parent
        return (key_node or value_node).start_mark, value_node.start_mark

    def build(value: Any, path: YamlPath, parent: tuple[Any, Any]) -> tuple[Any, Node]:
        key_mark, mark = marks(path, parent)
        if isinstance(value, dict):
            pairs = []
            for key, child in value.items():
                child_key_mark, child_node = build(child, path + (key,), (key_mark, mark))
                pairs.append((ScalarNode(_STR, str(key), child_key_mark, child_key_mark), child_node))
            return key_mark, MappingNode(_MAP, pairs, mark, mark)
        if isinstance(value, list):
            items = [build(child, path + (i,), (key_mark, mark))[1] for i, child in enumerate(value)]
            return key_mark, SequenceNode(_SEQ, items, mark, mark)
        return key_mark, ScalarNode(_STR, "" if value is None else str(value), mark, mark)

    _, node = build(data, (), (root.start_mark, root.start_mark))
    return SourceMap(template.file, node, template.lines)

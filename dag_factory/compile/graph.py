"""The task graph of a spec: flatten nested groups, resolve references, find cycles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import did_you_mean
from ..spec.models import GroupTask
from ..spec.values import TASK_ID_RE
from ..spec.yaml_source import YamlPath
from .context import CompileContext

__all__ = ["Node", "Graph", "flatten", "find_cycle", "MAX_ID_LENGTH"]

MAX_ID_LENGTH = 250  # Airflow's limit for a task id, group path included


@dataclass
class Node:
    """A task or a group, by full id (``group.sub.task``)."""

    full_id: str
    local_id: str
    group: str | None
    model: Any
    path: YamlPath
    is_group: bool = False
    children: list[str] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)  # full ids of tasks or groups, as written


@dataclass
class Graph:
    """Tasks and groups by full id. Group queries (``roots``, ``leaves``) are remembered: ask them
    only once the graph is complete (nodes added, ``upstream`` resolved), as the compiler does;
    asking per task would otherwise cost O(group size) each time and O(tasks²) in all."""

    nodes: dict[str, Node] = field(default_factory=dict)  # tasks and groups, in spec order
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def tasks(self) -> list[Node]:
        return [n for n in self.nodes.values() if not n.is_group]

    def lookup(self, ref: str, group: str | None) -> str | None:
        """A reference as written inside ``group``: a sibling first, then a full id."""
        scope = group
        while True:
            candidate = f"{scope}.{ref}" if scope else ref
            if candidate in self.nodes:
                return candidate
            if scope is None:
                return None
            scope = scope.rpartition(".")[0] or None

    def _inside(self, group_id: str) -> frozenset[str]:
        """Every id below a group: its tasks and its nested groups."""
        key = ("inside", group_id)
        if key not in self._memo:
            out: set[str] = set()
            for child in self.nodes[group_id].children:
                out.add(child)
                if self.nodes[child].is_group:
                    out |= self._inside(child)
            self._memo[key] = frozenset(out)
        return self._memo[key]

    def leaves(self, group_id: str) -> list[str]:
        """The group's last tasks: children no sibling depends on (a child group gives its leaves)."""
        key = ("leaves", group_id)
        if key not in self._memo:
            inside = self._inside(group_id)
            needed = {u for i in inside for u in self.nodes[i].upstream}
            out: list[str] = []
            for child in self.nodes[group_id].children:
                if child in needed or (self.nodes[child].is_group and needed & self._inside(child)):
                    continue
                out += self.leaves(child) if self.nodes[child].is_group else [child]
            self._memo[key] = tuple(out)
        return list(self._memo[key])

    def roots(self, group_id: str) -> list[str]:
        """The group's first tasks: children depending on nothing inside the group."""
        return list(self._roots(group_id))

    def is_root(self, task_id: str, group_id: str) -> bool:
        """``task_id in roots(group_id)``, in constant time."""
        key = ("root_set", group_id)
        if key not in self._memo:
            self._memo[key] = frozenset(self._roots(group_id))
        return task_id in self._memo[key]

    def _roots(self, group_id: str) -> tuple[str, ...]:
        key = ("roots", group_id)
        if key not in self._memo:
            inside = self._inside(group_id)
            out: list[str] = []
            for child in self.nodes[group_id].children:
                if not inside.isdisjoint(self.nodes[child].upstream):
                    continue
                out += self._roots(child) if self.nodes[child].is_group else [child]
            self._memo[key] = tuple(out)
        return self._memo[key]

    def members(self, group_id: str) -> list[str]:
        out: list[str] = []
        for child in self.nodes[group_id].children:
            node = self.nodes[child]
            out += self.members(child) if node.is_group else [child]
        return out


def flatten(ctx: CompileContext, tasks: dict[str, Any], graph: Graph, group: str | None = None,
            path: YamlPath = ("tasks",)) -> list[str]:
    """Add every task and group below ``tasks`` to ``graph``; returns the direct children's ids."""
    children: list[str] = []
    for local_id, model in tasks.items():
        here = path + (local_id,)
        if not TASK_ID_RE.match(str(local_id)):
            ctx.error("DSP022", f"task id `{_short(local_id)}` may only use letters, digits, `_` and `-`", here,
                      "rename the task", key=True)
            continue
        full = f"{group}.{local_id}" if group else str(local_id)
        if len(full) > MAX_ID_LENGTH:
            what = "task id" if group is None else "id with its group path"
            ctx.error("DSP022", f"{what} `{_short(full)}` is {len(full)} characters long; Airflow allows "
                      f"{MAX_ID_LENGTH}", here, "use a shorter name" + ("" if group is None else
                                                                        " here or for the enclosing groups"), key=True)
            continue
        if full in graph.nodes:
            ctx.error("DSP022", f"duplicate task id `{full}`", here, "task and group ids must be unique", key=True)
            continue
        node = Node(full, str(local_id), group, model, here, is_group=isinstance(model, GroupTask))
        graph.nodes[full] = node
        children.append(full)
        if node.is_group:
            node.children = flatten(ctx, model.tasks, graph, full, here + ("tasks",))
    return children


def _short(text: object, keep: int = 60) -> str:
    text = str(text)
    return text if len(text) <= keep else text[:keep] + "…"


def resolve_refs(ctx: CompileContext, graph: Graph, refs: Iterable[str], node: Node, field_name: str) -> list[str]:
    """Full ids for the references in ``node.<field_name>``, with a diagnostic for each unknown one."""
    out: list[str] = []
    raw = list(refs)
    for i, ref in enumerate(raw):
        target = graph.lookup(ref, node.group)
        if target is None:
            where = node.path + (field_name, i)
            names = [n.local_id for n in graph.nodes.values()] + list(graph.nodes)
            ctx.error("DSP020", f"task `{node.full_id}` refers to unknown task `{ref}` in `{field_name}`", where,
                      did_you_mean(ref, names) or "use a task id from this spec (inside groups: `group.task`)")
        elif target == node.full_id:
            ctx.error("DSP021", f"task `{node.full_id}` depends on itself", node.path + (field_name, i))
        else:
            out.append(target)
    return out


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``task -> upstream tasks`` as a list of task ids (first == last), or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    for start in edges:
        if color[start] != white:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = [start]
        color[start] = grey
        while stack:
            node, i = stack[-1]
            ups = edges.get(node, [])
            if i < len(ups):
                stack[-1] = (node, i + 1)
                nxt = ups[i]
                if color.get(nxt, black) == grey:
                    cycle = trail[trail.index(nxt):] + [nxt]
                    return cycle[::-1]
                if color.get(nxt) == white:
                    color[nxt] = grey
                    stack.append((nxt, 0))
                    trail.append(nxt)
            else:
                color[node] = black
                stack.pop()
                trail.pop()
    return None

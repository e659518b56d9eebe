"""One validated spec to one ``DagPlan``: tasks, groups, edges, mapping, clusters, and checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import did_you_mean, has_errors
from ..spec import models
from ..spec.load import LoadedSpec
from ..spec.secrets import redact
from ..spec.values import DAG_ID_RE
from . import dag as dag_part
from .context import CompileContext
from .dataproc import ClusterUse, check_cluster, cluster_tasks, create_task_id, delete_task_id, job_args
from .files import check_task_files
from .graph import Graph, Node, find_cycle, flatten, resolve_refs
from .plan import DagPlan, GroupPlan, ImportRef, TaskOutput, TaskPlan, replace
from .resolve import Policy, Resolver
from .saga import add_guards
from .tasks import CALLABLES, EXPAND_NAMES, OPERATORS, action_args, asset, common_args

__all__ = ["compile_spec"]

_RESERVED_ARGS = {"task_id", "dag", "task_group", "default_args", "params"}


def compile_spec(loaded: LoadedSpec, resolver: Resolver, policy: Policy, *, check_imports: bool = True,
                 commit: str | None = None, folders: tuple[Path, ...] = ()) -> tuple[DagPlan | None, list]:
    """Compile one spec; returns the plan (None when there are errors) and every diagnostic.
    ``folders``: the dag_folder and template folders (where a policy lets template search paths point)."""
    ctx = CompileContext(loaded, resolver, policy, check_imports, folders=folders)
    spec = loaded.spec
    if not DAG_ID_RE.match(loaded.dag_id) or len(loaded.dag_id) > 250:
        ctx.error("DSP070", f"`{loaded.dag_id}` is not a valid DAG id", ("dag_id",),
                  "use letters, digits, `_`, `-` and `.` (the file name is the default id)")
    if not spec.tasks:
        ctx.error("DSP012", "the spec has no tasks", ("tasks",), "add a `tasks:` mapping, e.g. `tasks: {hello: {bash: echo hi}}`")
    graph = Graph()
    flatten(ctx, spec.tasks, graph)
    use = ClusterUse()
    tasks: dict[str, TaskPlan] = {}
    extra: list[TaskPlan] = []
    for node in graph.nodes.values():
        node.upstream = resolve_refs(ctx, graph, node.model.depends_on, node, "depends_on")
    for node in graph.tasks():
        plan = _task(ctx, graph, node, use, extra)
        if plan is not None:
            tasks[node.full_id] = plan
    _expand_group_edges(graph, tasks)
    _branch_edges(ctx, graph, tasks)
    for plan in extra:
        tasks[plan.task_id] = plan
    _clusters(ctx, use, tasks)
    add_guards(ctx, graph, tasks)
    cycle = find_cycle({t.task_id: list(t.upstream) for t in tasks.values()})
    if cycle:
        ctx.error("DSP021", f"dependency cycle: {' -> '.join(cycle)}", graph.nodes[cycle[0]].path
                  if cycle[0] in graph.nodes else ("tasks",), "remove one of these `depends_on` links", key=True)
    groups = tuple(_group(ctx, graph, n) for n in graph.nodes.values() if n.is_group)
    kwargs = dag_part.dag_kwargs(ctx)
    sched = dag_part.schedule(ctx, spec.schedule)
    if commit is None:
        commit = dag_part.git_commit(loaded.path)
    kwargs["tags"] = [*kwargs["tags"], f"spec:{loaded.spec_hash[:12]}", *([f"git:{commit[:12]}"] if commit else [])]
    doc = dag_part.doc_md(ctx, commit)
    params = dag_part.params(ctx)
    if has_errors(ctx.diagnostics):
        return None, ctx.diagnostics
    source = ctx.loc(())
    return DagPlan(loaded.dag_id, source, loaded.spec_hash, sched, params, kwargs, groups,
                   tuple(tasks.values()), doc), ctx.diagnostics


def _task(ctx: CompileContext, graph: Graph, node: Node, use: ClusterUse, extra: list[TaskPlan]) -> TaskPlan | None:
    model = node.model
    kind = models.task_kind(model) or "operator"
    if kind in models.JOB_KINDS:
        operator, args = job_args(ctx, kind, model, node.full_id, node.path, use)
    else:
        operator, args = action_args(ctx, kind, model, node.path)
    if kind != "operator":  # `operator:` paths are checked (and imported) by action_args
        ctx.allowed(operator, "operator", node.path + (kind,), what=f"`{kind}:` task's operator", key=True)
    args = {**common_args(ctx, model, node.path), **args}
    if model.doc:  # docs show ${env.NAME}, never the value
        args["doc_md"] = redact(model.doc, ctx.loaded.secrets) if ctx.loaded.secrets else model.doc
    if model.display_name:
        args["task_display_name"] = model.display_name
    if model.inlets:
        args["inlets"] = [*args.get("inlets", []), *(asset(a) for a in model.inlets)]
    if model.outlets:
        args["outlets"] = [asset(a) for a in model.outlets]
    if model.map_index_template:
        args["map_index_template"] = model.map_index_template
    _extra_args(ctx, node, operator, model.args, args, check=kind == "operator" or bool(model.args))
    check_task_files(ctx, operator, model.args, args, node.path)
    upstream = list(node.upstream)
    if model.compensates and model.depends_on:
        ctx.error("DSP011", f"compensation `{node.full_id}` cannot also have `depends_on`", node.path + ("depends_on",),
                  "a compensation runs right after the task it undoes fails; remove `depends_on`", key=True)
    compensates = resolve_refs(ctx, graph, model.compensates, node, "compensates")
    teardown_of = resolve_refs(ctx, graph, model.teardown_of, node, "teardown_of")
    if model.setup and model.teardown_of:
        ctx.error("DSP011", f"task `{node.full_id}` cannot be a setup and a teardown", node.path + ("setup",),
                  "a setup task prepares, a teardown cleans up: keep one of `setup: true` and `teardown_of`", key=True)
    for target in compensates + teardown_of:
        if target not in upstream:
            upstream.append(target)
    expand, expand_kwargs = _mapping(ctx, graph, node, model, kind, upstream, extra)
    if kind == "bash" and not args.get("bash_command") and not (expand and "bash_command" in expand):
        ctx.error("DSP012", "a bash task needs a command", node.path + ("bash",), "write `bash: echo hi`")
    if expand:
        for name in expand:
            args.pop(name, None)
    return TaskPlan(
        task_id=node.full_id, operator=operator, args=args, upstream=tuple(upstream), group=node.group,
        expand=expand, expand_kwargs=expand_kwargs, setup=model.setup, teardown=bool(teardown_of),
        teardown_of=tuple(teardown_of), compensates=tuple(compensates), kind=kind, source=ctx.loc(node.path),
    )


def _extra_args(ctx: CompileContext, node: Node, operator: str, extra: dict[str, Any], args: dict[str, Any], check: bool) -> None:
    accepted = ctx.resolver.accepted_args(operator) if (check and ctx.check_imports and not has_errors(
        d for d in ctx.diagnostics if d.code == "DSP040")) else None
    for key, value in extra.items():
        where = node.path + ("args", key)
        if key in _RESERVED_ARGS:
            ctx.error("DSP041", f"`{key}` is set by dagspec", where, "remove it from `args`", key=True)
        elif accepted is not None and key not in accepted:
            short = operator.rpartition(".")[2]
            ctx.error("DSP041", f"{short} takes no argument `{key}`", where,
                      did_you_mean(key, accepted) or f"see {operator} for its arguments", key=True)
        else:
            args[key] = value


def _map_value(ctx: CompileContext, graph: Graph, node: Node, value: Any, where: tuple, upstream: list[str],
               extra: list[TaskPlan], wrap: bool = False) -> Any:
    if isinstance(value, models.FromTask):
        target = graph.lookup(value.task, node.group)
        if target is None or graph.nodes[target].is_group:
            ctx.error("DSP020", f"mapping over unknown task `{value.task}`", where,
                      did_you_mean(value.task, list(graph.nodes)) or "name a task of this spec")
            return None
        if target not in upstream:
            upstream.append(target)
        return TaskOutput(target, value.key)
    if isinstance(value, models.FromParam):
        if value.param not in ctx.loaded.spec.params:
            ctx.error("DSP020", f"mapping over unknown param `{value.param}`", where,
                      did_you_mean(value.param, ctx.loaded.spec.params) or "declare it under `params:`")
            return None
        helper = f"{node.full_id}__{value.param}_items"
        if helper in graph.nodes:
            ctx.error("DSP022", f"task id `{helper}` is reserved for the task dagspec adds to read param "
                      f"`{value.param}` for `{node.full_id}`", graph.nodes[helper].path, "rename that task", key=True)
        extra.append(TaskPlan(helper, OPERATORS["python"], {
            "python_callable": ImportRef(CALLABLES["param_items"]),
            "op_kwargs": {"name": value.param, **({"wrap": True} if wrap else {})}},
            group=node.group, kind="param_items", source=ctx.loc(where)))
        if helper not in upstream:
            upstream.append(helper)
        return TaskOutput(helper)
    return list(value)


def _mapping(ctx: CompileContext, graph: Graph, node: Node, model: Any, kind: str, upstream: list[str],
             extra: list[TaskPlan]) -> tuple[dict[str, Any] | None, Any]:
    expand = None
    if model.expand:
        names = EXPAND_NAMES.get(kind, {})
        expand = {}
        for k, v in model.expand.items():
            where = node.path + ("expand", k)
            if kind == "python" and k == "arg":  # one positional argument per item
                if isinstance(v, models.FromTask):
                    ctx.error("DSP011", "`arg` maps over a list or a param", where,
                              "for a task's output use `op_args` (the task returns a list of argument lists)")
                    continue
                expand["op_args"] = ([[item] for item in v] if isinstance(v, list)
                                     else _map_value(ctx, graph, node, v, where, upstream, extra, wrap=True))
                continue
            expand[names.get(k, k)] = _map_value(ctx, graph, node, v, where, upstream, extra)
    expand_kwargs = None
    if model.expand_kwargs is not None:
        if expand:
            ctx.error("DSP011", "use `expand` or `expand_kwargs`, not both", node.path + ("expand_kwargs",))
        expand_kwargs = _map_value(ctx, graph, node, model.expand_kwargs, node.path + ("expand_kwargs",), upstream, extra)
    return expand, expand_kwargs


def _expand_group_edges(graph: Graph, tasks: dict[str, TaskPlan]) -> None:
    """Edges to or from groups become edges to their leaves / from their roots, as Airflow does."""
    group_up: dict[str, list[str]] = {n.full_id: n.upstream for n in graph.nodes.values() if n.is_group}
    if not group_up:
        return
    for task_id, plan in list(tasks.items()):
        ups: list[str] = []
        for u in plan.upstream:
            ups += graph.leaves(u) if u in group_up else [u]
        # a task at the root of a group inherits the group's (and enclosing groups') upstream
        group = plan.group
        while group:
            if graph.is_root(task_id, group):
                for u in group_up[group]:
                    ups += graph.leaves(u) if u in group_up else [u]
            group = group.rpartition(".")[0] or None
        upstream = tuple(dict.fromkeys(ups))
        if upstream != plan.upstream:
            tasks[task_id] = replace(plan, upstream=upstream)


def _branch_edges(ctx: CompileContext, graph: Graph, tasks: dict[str, TaskPlan]) -> None:
    """Branch targets must be direct downstream tasks of the branch: add the edges, check the ids."""
    for node in graph.tasks():
        action = node.model.__dict__.get("branch")  # only a branch task has the field (no failing getattr per task)
        if action is None or action.callable or node.full_id not in tasks:
            continue
        resolved_cases: dict[str, list[str]] = {}
        for case, targets in [*action.cases.items(), ("__default__", action.default)]:
            ids = []
            for i, ref in enumerate(targets):
                target = graph.lookup(ref, node.group)
                at = ("default",) if case == "__default__" else ("cases", case)
                where = node.path + ("branch", *at, i)
                if target is None:
                    ctx.error("DSP020", f"branch `{node.full_id}` names unknown task `{ref}`", where,
                              did_you_mean(ref, list(graph.nodes)) or "name a task of this spec")
                    continue
                heads = graph.roots(target) if graph.nodes[target].is_group else [target]
                ids += heads
                for head in heads:
                    if head in tasks and node.full_id not in tasks[head].upstream:
                        tasks[head] = replace(tasks[head], upstream=(*tasks[head].upstream, node.full_id))
            resolved_cases[case] = ids
        plan = tasks[node.full_id]
        op_kwargs = dict(plan.args["op_kwargs"])
        op_kwargs["default"] = resolved_cases.pop("__default__")
        op_kwargs["cases"] = resolved_cases
        tasks[node.full_id] = replace(plan, args={**plan.args, "op_kwargs": op_kwargs})


def _clusters(ctx: CompileContext, use: ClusterUse, tasks: dict[str, TaskPlan]) -> None:
    """Wrap the tasks that use each ephemeral cluster between its create (setup) and delete (teardown)."""
    for name, cluster in ctx.loaded.spec.clusters.items():
        users = use.users.get(name, [])
        if not users:
            ctx.warn("DSP061", f"cluster `{name}` is not used by any task", ("clusters", name),
                     "remove it, or set `cluster: " + name + "` on a Dataproc task", key=True)
            if isinstance(cluster, models.EphemeralCluster):  # unused, still checked against Dataproc's messages
                check_cluster(ctx, name, cluster)
            continue
        if isinstance(cluster, models.SelectedCluster):
            continue
        create_id, delete_id = create_task_id(name), delete_task_id(name)
        for tid in (create_id, delete_id):
            if tid in tasks:
                ctx.error("DSP022", f"task id `{tid}` is reserved for cluster `{name}`", ("clusters", name),
                          "rename your task", key=True)
                return
        user_set = set(users)
        downstream = _descendants(tasks, user_set)
        before = [u for t in users for u in tasks[t].upstream if u not in user_set and u not in downstream]
        create_args, delete_args = cluster_tasks(ctx, name, cluster)
        for op in (OPERATORS["cluster_create"], OPERATORS["cluster_delete"]):  # the spec asked for this cluster
            if not ctx.allowed(op, "operator", ("clusters", name), what=f"cluster `{name}`'s operator", key=True):
                break
        loc = ctx.loc(("clusters", name))
        tasks[create_id] = TaskPlan(create_id, OPERATORS["cluster_create"], create_args,
                                    tuple(dict.fromkeys(before)), setup=True, kind="cluster_create", source=loc)
        for t in users:
            tasks[t] = replace(tasks[t], upstream=(*tasks[t].upstream, create_id))
        tasks[delete_id] = TaskPlan(delete_id, OPERATORS["cluster_delete"], delete_args, tuple([create_id, *users]),
                                    teardown=True, teardown_of=(create_id,), kind="cluster_delete", source=loc)


def _descendants(tasks: dict[str, TaskPlan], roots: set[str]) -> set[str]:
    down: dict[str, list[str]] = {}
    for t in tasks.values():
        for u in t.upstream:
            down.setdefault(u, []).append(t.task_id)
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        for child in down.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def _group(ctx: CompileContext, graph: Graph, node: Node) -> GroupPlan:
    model = node.model
    expand = expand_kwargs = None
    if model.expand:
        expand = {k: _map_value(ctx, graph, node, v, node.path + ("expand", k), [], []) for k, v in model.expand.items()}
    if model.expand_kwargs is not None:
        expand_kwargs = _map_value(ctx, graph, node, model.expand_kwargs, node.path + ("expand_kwargs",), [], [])
    default_args = common_args(ctx, model.default_args, node.path + ("default_args",)) if model.default_args else None
    return GroupPlan(node.full_id, node.group, model.tooltip, expand, expand_kwargs, ctx.loc(node.path),
                     default_args or None)

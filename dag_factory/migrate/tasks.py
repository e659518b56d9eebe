"""dag-factory tasks and task groups → spec tasks: built-in actions where they exist, groups as groups."""

from __future__ import annotations

import itertools
import re
from typing import Any

from ..spec.yaml_source import YamlPath
from .options import is_plain, options, plain
from .report import Collector, Status
from .values import Typed

__all__ = ["convert_tasks", "asset"]

_STANDARD = ("airflow.operators.", "airflow.providers.standard.operators.")
_BUILTIN = {"BashOperator": "bash", "PythonOperator": "python", "EmptyOperator": "empty",
            "DummyOperator": "empty", "BranchPythonOperator": "branch", "ShortCircuitOperator": "short_circuit"}
_TASK_DECORATORS = {"airflow.sdk.task", "airflow.decorators.task", "airflow.sdk.definitions.decorators.task",
                    "airflow.providers.standard.decorators.python.python_task"}
_DECORATOR_KWARGS = {"multiple_outputs", "templates_dict", "show_return_value_in_logs", "task_display_name"}
_XCOM = re.compile(r"^\+(?P<task>\w*)(\[['\"](?P<key>.*)['\"]\])?$")
_OUTPUT = re.compile(r"^\s*(?:(?P<a>[\w.]+)\.output|XcomArg\((?P<b>[\w.]+)\))\s*$")
_NOT_ARGS = {"python_callable_name", "python_callable_file", "variables_as_arguments", "execution_date_fn",
             "execution_date_fn_name", "execution_date_fn_file", "response_check_name", "response_check_file",
             "response_check_lambda", "success_check_name", "success_check_file", "success_check_lambda",
             "failure_check_name", "failure_check_file", "failure_check_lambda"}


def _items(value: Any, key: str) -> list[tuple[str, dict[str, Any], int | str]]:
    """(name, config, raw path part) from dag-factory's dict form or list form (with ``key`` in each)."""
    if isinstance(value, dict):
        return [(str(k), v if isinstance(v, dict) else {}, k) for k, v in value.items()]
    if isinstance(value, list):
        return [(str(v[key]), {k: x for k, x in v.items() if k != key}, i)
                for i, v in enumerate(value) if isinstance(v, dict) and key in v]
    return []


class _Tasks:
    def __init__(self, col: Collector, config: dict[str, Any]):
        self.col = col
        self.tasks = _items(config.get("tasks"), "task_id")
        self.groups = _items(config.get("task_groups"), "group_name")
        gconf = {name: conf for name, conf, _ in self.groups}
        self.group_full: dict[str, str] = {}

        def full(name: str, seen: tuple[str, ...] = ()) -> str:
            if name not in self.group_full:
                parent = gconf.get(name, {}).get("parent_group_name")
                ok = parent in gconf and parent not in seen
                self.group_full[name] = f"{full(str(parent), seen + (name,))}.{name}" if ok else name
            return self.group_full[name]

        for name in gconf:
            full(name)
        self.group_opts: dict[str, dict[str, Any]] = {}
        self.full: dict[str, str] = {}  # dag-factory's reference name -> full task/group id
        for name, conf, _ in self.tasks:
            group = conf.get("task_group_name")
            self.full[name] = f"{self.group_full[group]}.{name}" if group in self.group_full else name
        self.full.update(self.group_full)

    def ref(self, name: str, here: str | None) -> str:
        """A reference to dag-factory name ``name`` written from inside group ``here``."""
        target = self.full.get(name, name)
        parent = target.rpartition(".")[0] or None
        return target.rpartition(".")[2] if parent == here else target

    def deps(self, conf: dict[str, Any], here: str | None) -> list[str]:
        return [self.ref(str(d), here) for d in conf.get("dependencies") or []]

    def build(self) -> dict[str, Any]:
        root: dict[str, Any] = {}
        containers: dict[str | None, dict[str, Any]] = {None: root}

        def container(group_full: str | None) -> dict[str, Any]:
            if group_full not in containers:
                parent, _, local = group_full.rpartition(".")  # type: ignore[union-attr]
                outer = root if not parent else container(parent).setdefault("tasks", {})
                containers[group_full] = outer.setdefault(local, {})
            return containers[group_full]

        for name, conf, part in self.groups:
            parent = self.group_full[name].rpartition(".")[0] or None
            entry = container(self.group_full[name])
            entry.update(self.group(name, conf, ("task_groups", part), parent))
            entry.setdefault("tasks", {})
        for name, conf, part in self.tasks:
            group = conf.get("task_group_name")
            gfull = self.group_full.get(group) if group else None
            if group and gfull is None:
                self.col.add("not_converted", ("tasks", part, "task_group_name"), f"unknown task group `{group}`")
            target = root if gfull is None else container(gfull).setdefault("tasks", {})
            target[name] = self.task(name, conf, ("tasks", part), gfull)
        return root

    def group(self, name: str, conf: dict[str, Any], path: YamlPath, parent: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if conf.get("tooltip"):
            out["tooltip"] = conf["tooltip"]
        deps = self.deps(conf, parent)
        if deps:
            out["depends_on"] = deps
        if isinstance(conf.get("default_args"), dict):
            opts, rest = options(self.col, conf["default_args"], path + ("default_args",))
            for key in rest:
                self.col.add("not_converted", path + ("default_args", key), f"group default_args `{key}` is not "
                             "an option dagspec groups take", "set it on the group's tasks")
            if opts:  # written on each member task: the spec's group `default_args` is not applied today
                self.group_opts[self.group_full[name]] = opts
        for key in conf:
            if key in ("tooltip", "dependencies", "default_args", "parent_group_name"):
                continue
            if key == "prefix_group_id" and conf[key] is not False:
                continue
            status: Status = "approximate" if key in ("ui_color", "ui_fgcolor") else "not_converted"
            self.col.add(status, path + (key,), f"task group `{key}` is not kept: dagspec groups always prefix "
                         "their task ids and use Airflow's default colours")
        return out

    def task(self, name: str, conf: dict[str, Any], path: YamlPath, group: str | None) -> dict[str, Any]:
        body = {k: v for k, v in conf.items() if k not in ("dependencies", "task_group_name")}
        out, rest = options(self.col, body, path)
        deps = self.deps(conf, group)
        for key, spec_key in (("doc_md", "doc"), ("task_display_name", "display_name"),
                              ("map_index_template", "map_index_template")):
            if key in rest:
                out[spec_key] = rest.pop(key)
        for key in ("inlets", "outlets"):
            if key in rest:
                assets = self.assets(rest.pop(key), path + (key,))
                if assets is not None:
                    out[key] = assets
        action: dict[str, Any] | None
        if "decorator" in rest:
            action = self.decorated(rest, path, group, deps)
        elif "operator" in rest:
            action = self.operator(rest, path, group)
        else:
            self.col.add("not_converted", path, "a task needs `operator` or `decorator`")
            action = None
        if action is None:
            action = {"empty": True, "doc": "NOT CONVERTED from dag-factory: see the commented-out block below"}
        if deps:
            out["depends_on"] = list(dict.fromkeys([*out.get("depends_on", []), *deps]))
        inherited: dict[str, Any] = {}
        parts = (group or "").split(".")
        for i in range(1, len(parts) + 1):  # the nearest group's default_args win, the task's own options first
            inherited.update(self.group_opts.get(".".join(parts[:i]), {}))
        return {**action, **{k: v for k, v in inherited.items() if k not in out}, **out}

    def assets(self, value: Any, path: YamlPath) -> list[Any] | None:
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, Typed) and item.type.endswith((".Asset", ".Dataset")):
                out.append(asset(item))
            else:
                self.col.add("not_converted", path, "assets from a `file:` + `datasets:` list, or an asset "
                             "object dagspec cannot read", "list the asset URIs")
                return None
        return out

    def source(self, value: Any, path: YamlPath, group: str | None) -> Any:
        """An expand value: a literal list, or ``task.output`` / ``XcomArg(task)``."""
        if isinstance(value, list) and is_plain(value):
            return value
        match = _OUTPUT.match(value) if isinstance(value, str) else None
        if match:
            return {"task": self.ref(match.group("a") or match.group("b"), group)}
        self.col.add("not_converted", path, "an expand value dagspec cannot map over",
                     "map over a literal list or `task_id.output`")
        return None

    def operator(self, conf: dict[str, Any], path: YamlPath, group: str | None) -> dict[str, Any] | None:
        operator = str(conf.pop("operator"))
        partial = conf.pop("partial", None) or {}
        expand = conf.pop("expand", None)
        conf.update(partial)
        for key in _NOT_ARGS & set(conf):
            self.col.add("not_converted", path, f"`{key}` runs or imports code from a file or Airflow "
                         "Variables at parse time", "use a dotted path (`python_callable: module.function`)")
            return None
        mapped: dict[str, Any] = {}
        for key, value in (expand or {}).items():
            src = self.source(value, path, group)
            if src is None:
                return None
            mapped[key] = src
        module, _, cls = operator.rpartition(".")
        kind = _BUILTIN.get(cls) if operator.startswith(_STANDARD) else None
        if kind in ("branch", "short_circuit") and ("op_args" in conf or not isinstance(
                conf.get("python_callable"), str)):
            kind = None
        if "python_callable" in conf and kind not in ("python", "branch", "short_circuit"):
            self.col.add("not_converted", path, f"`python_callable` of `{cls}`: dagspec "
                         "passes operator arguments as data and imports callables only for python/branch tasks")
            return None
        ok, args = plain(self.col, conf, path, "operator arguments")
        if not ok:
            return None
        out: dict[str, Any]
        if kind == "bash":
            action = {k: args.pop(v) for k, v in (("command", "bash_command"), ("env", "env"),
                      ("append_env", "append_env"), ("cwd", "cwd"), ("skip_on_exit_code", "skip_on_exit_code"))
                      if v in args}
            out = {"bash": action if set(action) != {"command"} else action["command"]}
            mapped = {("command" if k == "bash_command" else k): v for k, v in mapped.items()}
        elif kind == "python":
            if not isinstance(args.get("python_callable"), str):
                self.col.add("not_converted", path, "a PythonOperator without `python_callable: module.function`")
                return None
            action = {"callable": args.pop("python_callable")}
            if "op_args" in args:
                action["args"] = args.pop("op_args")
            if "op_kwargs" in args:
                action["kwargs"] = args.pop("op_kwargs")
            out = {"python": action if len(action) > 1 else action["callable"]}
            mapped = {{"op_args": "args", "op_kwargs": "kwargs"}.get(k, k): v for k, v in mapped.items()}
        elif kind == "empty":
            out = {"empty": True}
        elif kind in ("branch", "short_circuit"):
            action = {"callable": args.pop("python_callable")}
            if "op_kwargs" in args:
                action["kwargs"] = args.pop("op_kwargs")
            if kind == "short_circuit" and "ignore_downstream_trigger_rules" in args:
                action["ignore_downstream_trigger_rules"] = args.pop("ignore_downstream_trigger_rules")
            out = {kind: action}
        else:
            out = {"operator": operator}
        if args:
            out["args"] = args
        if mapped:
            out["expand"] = mapped
        return out

    def decorated(self, conf: dict[str, Any], path: YamlPath, group: str | None,
                  deps: list[str]) -> dict[str, Any] | None:
        decorator = str(conf.pop("decorator"))
        if decorator not in _TASK_DECORATORS or not isinstance(conf.get("python_callable"), str):
            self.col.add("not_converted", path, f"decorator `{decorator}`: dagspec converts `@task` tasks with "
                         "`python_callable: module.function`", "use a python task or an operator by path")
            return None
        action: dict[str, Any] = {"callable": conf.pop("python_callable")}
        expand = conf.pop("expand", None) or {}
        partial = conf.pop("partial", None) or {}
        kwargs = {}
        for key in list(conf):
            if key in _DECORATOR_KWARGS:
                continue
            kwargs[key] = self.xcom(conf.pop(key), path + (key,), group, deps)
        for key, value in partial.items():
            kwargs[key] = self.xcom(value, path + ("partial", key), group, deps)
        out: dict[str, Any] = {"python": action}
        if expand:
            values = []
            for key, value in expand.items():
                if not isinstance(value, list) or not is_plain(value):
                    self.col.add("not_converted", path, "a TaskFlow task mapped over another "
                                 "task's output: dagspec maps a python task's `kwargs` only over literal lists",
                                 "map a python task with `expand: {kwargs: {task: producer}}` where the producer "
                                 "returns a list of keyword mappings")
                    return None
                values.append([(key, v) for v in value])
            out["expand"] = {"kwargs": [{**kwargs, **dict(combo)} for combo in itertools.product(*values)]}
        elif kwargs:
            action["kwargs"] = kwargs
        ok, extra = plain(self.col, {k: conf[k] for k in conf}, path, "decorator arguments")
        if not ok:
            return None
        if extra:
            out["args"] = extra
        self.col.add("approximate", path + ("decorator",), "a TaskFlow `@task` becomes a `python:` task: the same "
                     "callable and arguments, run by PythonOperator instead of the decorated operator")
        return out

    def xcom(self, value: Any, path: YamlPath, group: str | None, deps: list[str]) -> Any:
        match = _XCOM.match(value) if isinstance(value, str) else None
        if not match:
            return value
        task = self.full.get(match.group("task"), match.group("task"))
        deps.append(self.ref(match.group("task"), group))
        pull = f"ti.xcom_pull(task_ids='{task}')"
        if match.group("key"):
            pull += f"['{match.group('key')}']"
        self.col.add("approximate", path, f"`{value}` (an XCom reference) becomes the Jinja `{{{{ {pull} }}}}` and "
                     "a dependency: the callable receives the rendered value (text, or the object with "
                     "`render_template_as_native_obj: true`)")
        return "{{ " + pull + " }}"


def asset(item: Typed) -> Any:
    """An ``Asset``/``Dataset`` object as the spec writes it: its URI, or ``{uri, name}``."""
    uri = item.kwargs.get("uri", item.args[1] if len(item.args) > 1 else None)
    name = item.kwargs.get("name", item.args[0] if item.args else None)
    if uri is None and name is not None and "://" in str(name):
        return str(name)
    out = {k: v for k, v in (("uri", uri), ("name", name)) if v is not None}
    return out if len(out) != 1 or "uri" not in out else out["uri"]


def convert_tasks(col: Collector, config: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``tasks`` mapping for one DAG's effective dag-factory configuration."""
    return _Tasks(col, config).build()

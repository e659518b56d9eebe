"""Describe DAGs as JSON for the import-dag-factory equivalence harness; runs in either environment.

``describe_dags.py dagfactory CORPUS OUT.json`` builds every corpus file with dag-factory (in .venv-dagfactory);
``describe_dags.py dagspec FOLDER OUT.json`` builds the converted specs with dagspec's loader (in .venv). Both
print the same description: schedule (serialized timetable), catchup, max_active_runs, tags, dates,
params, macros, template settings, callbacks, and per
task its class (mapped or not), upstream ids, trigger rule, retries and owner.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _class(task: Any) -> str:
    cls = getattr(task, "operator_class", None) or type(task)
    if isinstance(cls, dict):  # pragma: no cover - only on deserialized operators
        return str(cls.get("_task_module", "")) + "." + str(cls.get("task_type", ""))
    return f"{cls.__module__}.{cls.__qualname__}"


def _callbacks(obj: Any, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Each callback as its function path, or its notifier class with its arguments."""
    out = {}
    for name in names:
        value = getattr(obj, name, None)
        items = value if isinstance(value, (list, tuple)) else [value] if value else []
        out[name] = [f"{getattr(i, '__module__', '')}.{getattr(i, '__qualname__', type(i).__qualname__)}"
                     + ("" if callable(i) and hasattr(i, "__qualname__") else f"{sorted(vars(i).items())!r}")
                     for i in items]
    return {k: v for k, v in out.items() if v}


_TASK_CALLBACKS = ("on_execute_callback", "on_success_callback", "on_failure_callback", "on_retry_callback",
                   "on_skipped_callback")


def describe(dag: Any) -> dict[str, Any]:
    from airflow.serialization.encoders import encode_timetable

    tasks = {}
    for task in dag.tasks:
        tasks[task.task_id] = {
            "class": _class(task),
            "mapped": type(task).__name__.endswith("MappedOperator"),
            "upstream": sorted(task.upstream_task_ids),
            "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
            "retries": task.retries,
            "owner": task.owner,
            "callbacks": _callbacks(task, _TASK_CALLBACKS),
        }
    return {
        "timetable": json.loads(json.dumps(encode_timetable(dag.timetable), default=str, sort_keys=True)),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
        "description": dag.description,
        "start_date": str(dag.start_date),
        "end_date": str(dag.end_date),
        "max_active_tasks": dag.max_active_tasks,
        "dagrun_timeout": str(dag.dagrun_timeout),
        "render_template_as_native_obj": dag.render_template_as_native_obj,
        "template_searchpath": dag.template_searchpath,
        "user_defined_macros": dag.user_defined_macros,
        "params": dag.params.dump(),
        "callbacks": _callbacks(dag, ("on_success_callback", "on_failure_callback")),
        "tasks": tasks,
    }


def _dags(namespace: dict[str, Any]) -> dict[str, Any]:
    from airflow.sdk import DAG

    return {v.dag_id: v for v in namespace.values() if isinstance(v, DAG)}


def main(mode: str, folder: str, out: str) -> None:
    namespace: dict[str, Any] = {}
    root = Path(folder).resolve()
    if mode == "dagfactory":
        from dagfactory import load_yaml_dags

        for path in sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml")):
            if path.name not in ("defaults.yml", "defaults.yaml"):
                load_yaml_dags(globals_dict=namespace, config_filepath=str(path), defaults_config_path=str(root))
    else:
        from dagspec.dag_factory.airflow.loader import load_dag_folder

        load_dag_folder(namespace, root)
    data = {dag_id: describe(dag) for dag_id, dag in sorted(_dags(namespace).items())}
    Path(out).write_text(json.dumps(data, indent=1), encoding="utf-8")  # stdout carries Airflow's logs


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])

"""The local files a dag folder's specs use, each with why it must be deployed (read from the plans and specs).

``.airflowignore`` decides what Airflow parses, not what a deploy uploads: job files (``main``,
``py_files``, ``files``, ``archives``, ``jars``, ``query_file``), upload sources, ``doc_file``,
workflow templates, ``_defaults.yaml``, templates and cluster profiles are needed on Composer
whether or not Airflow may parse them. Paths are real paths (symlinks resolved).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..compile.api import expand_workflow_template
from ..compile.files import UPLOAD_OPERATOR
from ..compile.plan import DagPlan
from ..spec.files import FILE_FIELDS, is_local, split_fragment
from ..spec.load import SpecLoader

__all__ = ["plan_files", "spec_files"]

_FIELD_NAMES = {
    "main_python_file_uri": "job main", "main_jar_file_uri": "job main jar", "main_r_file_uri": "job main",
    "query_file_uri": "query_file", "python_file_uris": "job py_files", "jar_file_uris": "job jars",
    "file_uris": "job files", "archive_uris": "job archives",
}


def _body_files(body: Any) -> Iterable[tuple[str, str]]:
    """(field, uri) of every local file named in a job or batch body."""
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if key in FILE_FIELDS:
            for uri in [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []:
                if isinstance(uri, str) and is_local(uri) and "{{" not in uri:
                    yield key, uri
        elif isinstance(value, dict):
            yield from _body_files(value)


def _real(name: str, base: str) -> Path:
    return Path(os.path.realpath(os.path.join(base, os.path.expanduser(name))))


def plan_files(plans: Iterable[DagPlan]) -> dict[Path, str]:
    """Local files the compiled plans name (job files, upload sources) -> why they are needed."""
    out: dict[Path, str] = {}
    for plan in plans:
        for task in plan.tasks:
            args = task.args
            base = args.get("files_root") or os.path.dirname(plan.source.file) or "."
            if not isinstance(base, str):
                continue
            where = f"{plan.dag_id}.{task.task_id}"
            for body in (args.get("job"), args.get("batch")):
                for key, uri in _body_files(body):
                    out.setdefault(_real(split_fragment(uri)[0], base), f"{_FIELD_NAMES[key]} of {where}")
            if task.operator == UPLOAD_OPERATOR:
                source = args.get("source")
                for pattern in [source] if isinstance(source, str) else source if isinstance(source, list) else []:
                    if not isinstance(pattern, str) or "{{" in pattern:
                        continue
                    for match in glob.glob(os.path.join(base, os.path.expanduser(pattern))):
                        if not os.path.isdir(match):
                            out.setdefault(Path(os.path.realpath(match)), f"upload source of {where}")
    return out


def spec_files(specs: Iterable[Path], root: Path, template_dirs: tuple[Path, ...],
               env: Mapping[str, str]) -> dict[Path, str]:
    """Files the specs read while loading (defaults, templates, profiles, workflow templates, doc_file) -> why."""
    loader = SpecLoader(root, template_dirs, dict(env), expand=expand_workflow_template)
    out: dict[Path, str] = {}
    for spec in specs:
        loaded, _ = loader.load(spec)
        for item in loaded:
            for used in item.input_files:
                name = Path(used).name
                what = ("defaults" if name.startswith("_defaults.") else
                        "cluster profile" if Path(used).parent.name == "clusters" else "template")
                out.setdefault(Path(os.path.realpath(used)), f"{what} of {item.dag_id}")
            if item.spec.doc_file:
                out.setdefault(_real(item.spec.doc_file, str(item.path.parent)), f"doc_file of {item.dag_id}")
    return out

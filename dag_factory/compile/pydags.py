"""DAG ids that Python files of a dag_folder define, found by a static scan (no user code is imported).

A spec must never take a DAG id that a Python DAG file already uses: Airflow keys DAGs by id, and in
the dag processor each file is parsed in its own process, so two files claiming one id would
overwrite each other's serialized DAG. The loader and ``dagspec validate`` read the folder's ``.py``
files and look for the usual ways of naming a DAG: ``DAG("id")``, ``DAG(dag_id="id")``,
``dag_id="id"`` (e.g. on its own line inside ``with DAG(``), ``@dag(dag_id="id")`` and a bare
``@dag``/``@dag(...)`` decorating ``def id():``. Ids computed at run time (f-strings, loops) are not
seen; the loader adds the ids of DAGs already in the ``DagBag`` it runs in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["python_dag_ids", "dag_ids_in_text", "MAX_SCAN_BYTES"]

MAX_SCAN_BYTES = 1 << 20  # a DAG file's head is enough; never read a huge file whole
_QUOTED = r"""(?:[rRuU]?)(["'])([A-Za-z0-9_.\-]+)\1"""
_CALL = re.compile(r"\bDAG\(\s*(?:dag_id\s*=\s*)?" + _QUOTED)
_KEYWORD = re.compile(r"(?<![\w.])dag_id\s*=\s*" + _QUOTED)
_DECORATED = re.compile(r"^[ \t]*@(?:\w+\.)*dag\b(\((?:[^()]|\([^()]*\))*\))?\s*\n"  # @dag / @dag(...)
                        r"(?:[ \t]*@[^\n]*\n)*[ \t]*(?:async\s+)?def\s+(\w+)", re.MULTILINE)  # more decorators, def


def dag_ids_in_text(text: str) -> set[str]:
    """DAG ids a Python source text visibly defines."""
    if "dag" not in text.lower():
        return set()
    ids = {m.group(2) for m in _CALL.finditer(text)} | {m.group(2) for m in _KEYWORD.finditer(text)}
    for m in _DECORATED.finditer(text):
        if not (m.group(1) and "dag_id" in m.group(1)):
            ids.add(m.group(2))
    return ids


def python_dag_ids(files: Iterable[Path], skip: Iterable[Path] = ()) -> dict[str, str]:
    """dag_id -> the first ``.py`` file (in the order given) that defines it; ``skip``: loader files."""
    skipped = {Path(p).resolve() for p in skip}
    out: dict[str, str] = {}
    for path in files:
        if path.suffix != ".py" or path.resolve() in skipped:
            continue
        try:
            with open(path, "rb") as fh:
                text = fh.read(MAX_SCAN_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        for dag_id in sorted(dag_ids_in_text(text)):
            out.setdefault(dag_id, str(path))
    return out

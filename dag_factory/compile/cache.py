"""A local cache of compiled plans, so that re-parsing an unchanged spec costs a file stat and an
unpickle instead of YAML, validation and compile.

Airflow parses the dag_folder over and over, and a worker re-parses before every task. An entry
is kept per spec file and is valid while every input is unchanged: the spec, its ``_defaults.yaml``
and template files (size and mtime), the folders where such files could appear (mtime), the
values of the ``${env.NAME}`` variables it uses, the governance policy and dagspec's version.
Anything else misses and compiles afresh. This module imports only the standard library and the
plan classes, so a cache hit never loads the spec models.

The cache lives in ``$DAGSPEC_CACHE_DIR``, default ``<tmp>/dagspec-cache-<uid>``; it is local to
each machine and safe to delete at any time. ``DAGSPEC_CACHE=off`` disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .plan import DagPlan, Record

__all__ = ["PlanCache", "CacheEntry", "ENV_REF", "policy_key", "parse_patterns", "indexed_plans"]

_VERSION = "dagspec-plan-cache-1"
ENV_REF = re.compile(r"\$\{env\.([A-Za-z0-9_]+)")


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class CacheEntry(Record):
    """What a spec file compiled to, and the facts that must still hold for it to be reused."""

    files: tuple[tuple[str, tuple[int, int] | None], ...]
    dirs: tuple[tuple[str, tuple[int, int] | None], ...]
    env: tuple[tuple[str, str | None], ...]
    policy: str
    plans: tuple[DagPlan, ...]
    diagnostics: tuple[Any, ...]

    def fresh(self, env: Mapping[str, str], policy: str, stat: Any = _stat) -> bool:
        if policy != self.policy:
            return False
        if any(env.get(name) != value for name, value in self.env):
            return False
        return all(stat(p) == s for p, s in self.files) and all(stat(d) == s for d, s in self.dirs)


class PlanCache:
    """Per-machine store of ``CacheEntry`` objects, one file per spec."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._stats: dict[str, tuple[int, int] | None] = {}  # one parse sees one state of the folder
        self._ready = False
        self._queue: Any = None
        self._writer: Any = None

    def _write_pending(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:  # end of the batch
                return
            target, entry = item
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")  # atomic: write aside, then rename
            try:
                with open(tmp, "wb") as fh:
                    pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, target)
            except Exception:  # a read-only or full disk, an unpicklable value: only costs speed
                pass

    def end_batch(self) -> None:
        """No more entries in this parse: the writer finishes what it has, then stops."""
        if self._writer is not None:
            self._queue.put(None)

    def flush(self) -> None:
        """Wait until every entry handed to ``put`` is on disk."""
        if self._writer is not None:
            self.end_batch()
            self._writer.join()
            self._writer = None

    def begin(self) -> None:
        """Start a parse: finish the previous one's writes and forget the file states it saw."""
        self.flush()
        self._stats.clear()

    def _stat(self, path: str) -> tuple[int, int] | None:
        if path not in self._stats:
            self._stats[path] = _stat(path)
        return self._stats[path]

    @classmethod
    def default(cls, env: Mapping[str, str]) -> PlanCache | None:
        if env.get("DAGSPEC_CACHE", "").lower() in ("off", "0", "false", "no"):
            return None
        tmp = env.get("TMPDIR") or ("/tmp" if os.path.isdir("/tmp") else os.getcwd())
        folder = env.get("DAGSPEC_CACHE_DIR") or os.path.join(tmp, f"dagspec-cache-{os.getuid()}")
        return cls(Path(folder))

    def _index_file(self, root: str) -> Path:
        return self.folder / ("index-" + hashlib.sha1(f"{_VERSION}:{root}".encode()).hexdigest() + ".json")

    def read_index(self, root: str) -> dict[str, str]:
        """dag_id -> spec file, as the last full parse of ``root`` found them (empty if unknown)."""
        try:
            with open(self._index_file(root), encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_index(self, root: str, index: Mapping[str, str]) -> None:
        import tempfile

        if index == self.read_index(root):
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(dict(index), fh)
            os.replace(tmp, self._index_file(root))
        except OSError:
            pass

    def _file(self, spec: str) -> Path:
        return self.folder / (hashlib.sha1(f"{_VERSION}:{spec}".encode()).hexdigest() + ".pickle")

    def get(self, spec: str, env: Mapping[str, str], policy: str) -> CacheEntry | None:
        try:
            with open(self._file(spec), "rb") as fh:
                entry = pickle.load(fh)
        except Exception:  # a missing, partial or foreign file is a miss, never an error
            return None
        if not isinstance(entry, CacheEntry) or not entry.fresh(env, policy, self._stat):
            return None
        return entry

    def put(self, spec: str, inputs: Sequence[str], dirs: Sequence[str], texts: Sequence[str],
            env: Mapping[str, str], policy: str, plans: Sequence[DagPlan], diagnostics: Sequence[Any]) -> None:
        names = sorted({n for text in texts for n in ENV_REF.findall(text)})
        if not self._ready:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)  # before the stats: it may sit in a watched folder
            except OSError:
                return
            self._ready = True
            self._stats.clear()
        entry = CacheEntry(
            files=tuple((p, self._stat(p)) for p in dict.fromkeys([spec, *inputs])),
            dirs=tuple((d, self._stat(d)) for d in dict.fromkeys(dirs)),
            env=tuple((n, env.get(n)) for n in names),
            policy=policy,
            plans=tuple(plans),
            diagnostics=tuple(diagnostics),
        )
        # Creating files is slow on some file systems and the parse need not wait for it: a writer
        # thread (not a daemon, so the process finishes the writes before it exits) takes them.
        if self._writer is None:
            import queue
            import threading

            self._queue = queue.SimpleQueue()
            self._writer = threading.Thread(target=self._write_pending, name="dagspec-plan-cache", daemon=False)
            self._writer.start()
        self._queue.put((self._file(spec), entry))


def parse_patterns(raw: str | None) -> tuple[str, ...] | None:
    """Comma-separated fnmatch patterns; None (anything goes) when empty."""
    if not raw or not raw.strip():
        return None
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def policy_key(allowed_operators: Sequence[str] | None, allowed_callables: Sequence[str] | None,
               check_imports: bool = True, *, allowed_buckets: Sequence[str] | None = None) -> str:
    """What a cached plan was checked against: the governance patterns and the import checks."""
    ops = ",".join(allowed_operators) if allowed_operators is not None else "*"
    fns = ",".join(allowed_callables) if allowed_callables is not None else "*"
    buckets = ",".join(allowed_buckets) if allowed_buckets is not None else "*"
    return f"operators={ops};callables={fns};buckets={buckets};imports={check_imports}"


def indexed_plans(root: str | Path, dag_id: str, policy: str, env: Mapping[str, str] | None = None) -> list[DagPlan] | None:
    """The plans of ``dag_id`` straight from the cache, without listing the folder or loading the
    compiler: the worker's fast path. None when the cache cannot answer (unknown id, an input
    changed, cache off); ``policy`` is a ``policy_key``."""
    env = os.environ if env is None else env
    store = PlanCache.default(env)
    if store is None:
        return None
    root_text = os.path.realpath(root)
    spec = store.read_index(root_text).get(dag_id)
    if not spec or not os.path.exists(spec):
        return None
    entry = store.get(spec, env, policy)
    if entry is None:
        return None
    found = [p for p in entry.plans if p.dag_id == dag_id]
    return found or None

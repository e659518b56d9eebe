"""A local cache of compiled plans, so that re-parsing an unchanged spec costs a file stat and an
authenticated unpickle instead of YAML, validation and compile.

Airflow parses the dag_folder over and over, and a worker re-parses before every task. An entry
is kept per spec file and is valid while every input is unchanged: the spec, its ``_defaults.yaml``
and template files and its ``doc_file`` (size and mtime), the folders where such files could
appear (mtime), the ``${env.NAME}`` variables it names (a keyed hash of each value), the
governance policy and dagspec's version. Anything else misses and compiles afresh. This module
imports only the standard library and the plan classes, so a cache hit never loads the spec models.

The cache lives in ``$DAGSPEC_CACHE_DIR``, default ``<tmp>/dagspec-cache-<uid>``; it is local to
each machine and safe to delete at any time. ``DAGSPEC_CACHE=off`` disables it.

Trust. The folder is private: created 0700, and used only while it is a real directory owned by
this user with no group or other permission bits (a folder of ours that nobody else could write
to, as older versions made it, is tightened to 0700); anything else turns the cache off with one
warning. Files are created 0600. Each entry is ``MAGIC + HMAC-SHA256(key, payload) + payload``,
with a random per-cache key in the folder's ``key`` file (0600); an entry whose MAC does not verify
is never unpickled. No value read from the environment is stored: specs that read one are not
cached (``compile.api``), and the freshness check keeps an HMAC of each value, not the value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import pickle
import queue
import re
import stat as stat_mod
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .plan import DagPlan, Record
from .policy import parse_patterns, policy_key  # re-exported: callers read them here

__all__ = ["PlanCache", "CacheEntry", "policy_key", "parse_patterns", "indexed_plans", "index_key"]

log = logging.getLogger(__name__)

_VERSION = "dagspec-plan-cache-2"
_MAGIC = b"dagspec-plan-cache-2\n"
_KEY_FILE = "key"
_KEY_SIZE = 32
_ENV_REF = r"\$\{env\.([A-Za-z0-9_]+)"  # compiled on first use (``ENV_REF``): a worker's cache hit never needs it
_WARNED: set[str] = set()


def __getattr__(name: str) -> Any:
    if name == "ENV_REF":
        return re.compile(_ENV_REF)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _private(st: os.stat_result, kind: Callable[[int], bool]) -> bool:
    """Owned by this user, of the right kind, and neither group nor others may do anything with it."""
    return kind(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


class CacheEntry(Record):
    """What a spec file compiled to, and the facts that must still hold for it to be reused."""

    files: tuple[tuple[str, tuple[int, int] | None], ...]
    dirs: tuple[tuple[str, tuple[int, int] | None], ...]
    env: tuple[tuple[str, str | None], ...]  # (NAME, keyed hash of its value or None when unset)
    policy: str
    plans: tuple[DagPlan, ...]
    diagnostics: tuple[Any, ...]

    def fresh(self, env: Mapping[str, str], policy: str, stat: Any = _stat,
              digest: Callable[[str, str | None], str | None] | None = None) -> bool:
        if policy != self.policy:
            return False
        if digest is not None and any(digest(name, env.get(name)) != value for name, value in self.env):
            return False
        return all(stat(p) == s for p, s in self.files) and all(stat(d) == s for d, s in self.dirs)


class PlanCache:
    """Per-machine store of ``CacheEntry`` objects, one file per spec, in a private folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._stats: dict[str, tuple[int, int] | None] = {}  # one parse sees one state of the folder
        self._ready = False
        self._usable: bool | None = None  # the folder's verdict, once known
        self._key: bytes | None = None
        self._queue: Any = None
        self._writer: Any = None

    # --- the private folder and its key ---------------------------------------------------------------

    def _refuse(self, why: str) -> bool:
        self._usable = False
        if str(self.folder) not in _WARNED:
            _WARNED.add(str(self.folder))
            log.warning("dagspec: plan cache off: %s %s (remove it, or set DAGSPEC_CACHE_DIR to a private "
                        "folder); specs are compiled on every parse", self.folder, why)
        return False

    def _checked(self, create: bool) -> bool:
        """True when the folder exists (created 0700 when ``create``) and is ours alone."""
        if self._usable is not None:
            return self._usable
        try:
            st = os.lstat(self.folder)
        except FileNotFoundError:
            if not create:
                return False  # nothing cached yet: a miss, and no verdict
            try:
                self.folder.parent.mkdir(parents=True, exist_ok=True)
                os.mkdir(self.folder, 0o700)
            except FileExistsError:
                pass  # another process made it first: check what is there
            except OSError as exc:
                return self._refuse(f"cannot be created ({exc.strerror})")
            return self._checked(create=False)
        except OSError as exc:
            return self._refuse(f"cannot be read ({exc.strerror})")
        if (stat_mod.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077
                and not st.st_mode & 0o022):
            try:  # ours, and nobody else could ever write into it (an older dagspec's 0755): tighten it
                os.chmod(self.folder, 0o700)
                st = os.lstat(self.folder)
            except OSError:
                pass
        if not stat_mod.S_ISDIR(st.st_mode):
            return self._refuse("is not a directory")
        if st.st_uid != os.getuid():
            return self._refuse(f"belongs to another user (uid {st.st_uid})")
        if st.st_mode & 0o077:
            return self._refuse(f"is open to other users (mode {stat_mod.S_IMODE(st.st_mode):o}, want 700)")
        self._usable = True
        return True

    def _read_key(self) -> bytes | None:
        try:
            fd = os.open(self.folder / _KEY_FILE, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            if not _private(os.fstat(fd), stat_mod.S_ISREG):
                return None
            key = os.read(fd, _KEY_SIZE + 1)
        finally:
            os.close(fd)
        return key if len(key) == _KEY_SIZE else None

    def _secret(self, create: bool) -> bytes | None:
        """The cache's HMAC key (made when ``create`` and missing), or None: then nothing is trusted."""
        if self._key is not None:
            return self._key
        if not self._checked(create):
            return None
        key = self._read_key()
        if key is None and create and not (self.folder / _KEY_FILE).exists():
            tmp = self.folder / f"{_KEY_FILE}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
            try:  # write aside, then link: a reader never sees a partial key; the first writer wins
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(os.urandom(_KEY_SIZE))
                try:
                    os.link(tmp, self.folder / _KEY_FILE)
                except FileExistsError:
                    pass
            except OSError:
                return None
            finally:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            key = self._read_key()
        self._key = key
        return key

    def _mac(self, key: bytes, payload: bytes) -> bytes:
        return hmac.new(key, payload, hashlib.sha256).digest()

    def _env_digest(self, key: bytes) -> Callable[[str, str | None], str | None]:
        def digest(name: str, value: str | None) -> str | None:
            if value is None:
                return None
            return hmac.new(key, f"env:{name}\0{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return digest

    def _open_private(self, path: Path) -> int:
        """A new file of ours, 0600, that no link planted in advance can redirect."""
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)

    # --- writes -------------------------------------------------------------------------------------

    def _write_pending(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:  # end of the batch
                return
            target, entry = item
            tmp = target.with_name(f"{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
            try:  # atomic: write aside, then rename
                payload = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
                assert self._key is not None
                with os.fdopen(self._open_private(tmp), "wb") as fh:
                    fh.write(_MAGIC + self._mac(self._key, payload) + payload)
                os.replace(tmp, target)
            except Exception:  # a read-only or full disk, an unpicklable value: only costs speed
                try:
                    os.unlink(tmp)
                except OSError:
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
        text = self._index_text(root)
        if text is None:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def lookup_index(self, root: str, dag_id: str) -> str | None:
        """The spec file of ``dag_id`` in ``root``'s index, without decoding the whole index (the worker's
        fast path: a folder of 10,000 specs has a 700 kB index). The index holds one entry per line
        (``write_index``), and a JSON text has no raw line break inside a string, so an entry of this
        dag_id starts exactly at a line break followed by its key; an index of another shape is decoded whole."""
        text = self._index_text(root)
        if text is None:
            return None
        if not text.startswith("{\n"):  # not written one entry per line (an older dagspec): decode it all
            try:
                data = json.loads(text)
            except ValueError:
                return None
            found = data.get(dag_id) if isinstance(data, dict) else None
            return found if isinstance(found, str) else None
        needle = "\n" + json.dumps(dag_id) + ": "
        at = text.find(needle)
        if at < 0:
            return None
        try:
            value, _ = json.JSONDecoder().raw_decode(text, at + len(needle))
        except ValueError:
            return None
        return value if isinstance(value, str) else None

    def _index_text(self, root: str) -> str | None:
        if not self._checked(create=False):
            return None
        try:
            with open(self._index_file(root), encoding="utf-8") as fh:
                return fh.read()
        except (OSError, ValueError):
            return None

    def write_index(self, root: str, index: Mapping[str, str]) -> None:
        """Replace ``root``'s index (atomically): a JSON object written one entry per line, for ``lookup_index``."""
        if not self._checked(create=True) or index == self.read_index(root):
            return
        flat = json.dumps(dict(index), separators=(",\n", ": "))  # the C encoder: `{"id": "file",\n"id2": ...}`
        text = "{\n" + flat[1:-1] + "\n}\n" if index else "{\n}\n"
        tmp = self.folder / f"index.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            with os.fdopen(self._open_private(tmp), "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self._index_file(root))
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _file(self, spec: str) -> Path:
        return self.folder / (hashlib.sha1(f"{_VERSION}:{spec}".encode()).hexdigest() + ".pickle")

    def get(self, spec: str, env: Mapping[str, str], policy: str) -> CacheEntry | None:
        key = self._secret(create=False)
        if key is None:
            return None
        try:
            with open(self._file(spec), "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        mac, payload = data[len(_MAGIC):len(_MAGIC) + 32], data[len(_MAGIC) + 32:]
        if not data.startswith(_MAGIC) or not hmac.compare_digest(mac, self._mac(key, payload)):
            return None  # not written by this cache: never unpickled
        try:
            entry = pickle.loads(payload)
        except Exception:  # an entry of an older dagspec: a miss, never an error
            return None
        if not isinstance(entry, CacheEntry) or not entry.fresh(env, policy, self._stat, self._env_digest(key)):
            return None
        return entry

    def put(self, spec: str, inputs: Sequence[str], dirs: Sequence[str], texts: Sequence[str],
            env: Mapping[str, str], policy: str, plans: Sequence[DagPlan], diagnostics: Sequence[Any]) -> None:
        names = sorted({n for text in texts for n in re.findall(_ENV_REF, text)})
        if not self._ready:
            # before the stats: it may sit in a watched folder
            if self._secret(create=True) is None:
                return
            self._ready = True
            self._stats.clear()
        assert self._key is not None
        digest = self._env_digest(self._key)
        entry = CacheEntry(
            files=tuple((p, self._stat(p)) for p in dict.fromkeys([spec, *inputs])),
            dirs=tuple((d, self._stat(d)) for d in dict.fromkeys(dirs)),
            env=tuple((n, digest(n, env.get(n))) for n in names),
            policy=policy,
            plans=tuple(plans),
            diagnostics=tuple(diagnostics),
        )
        # Creating files is slow on some file systems and the parse need not wait for it: a writer
        # thread (not a daemon, so the process finishes the writes before it exits) takes them.
        if self._writer is None:
            self._queue = queue.SimpleQueue()
            self._writer = threading.Thread(target=self._write_pending, name="dagspec-plan-cache", daemon=False)
            self._writer.start()
        self._queue.put((self._file(spec), entry))


def index_key(root: str | Path, unit: tuple[int, int] | None = None) -> str:
    """Whose dag_id index: the dag folder's, or one parse unit's of it (units parse in parallel,
    each writes only its own share)."""
    key = os.path.realpath(root)
    return key if unit is None or unit[1] <= 1 else f"{key}#unit-{unit[0]}-of-{unit[1]}"


def indexed_plans(root: str | Path, dag_id: str, policy: str, env: Mapping[str, str] | None = None,
                  unit: tuple[int, int] | None = None) -> list[DagPlan] | None:
    """The plans of ``dag_id`` straight from the cache, without listing the folder or loading the
    compiler: the worker's fast path. None when the cache cannot answer (unknown id, an input
    changed, cache off); ``policy`` is a ``policy_key``."""
    env = os.environ if env is None else env
    store = PlanCache.default(env)
    if store is None:
        return None
    spec = store.lookup_index(index_key(root, unit), dag_id)
    if not spec:  # a spec gone since is a miss in ``get``: its freshness check stats it
        return None
    entry = store.get(spec, env, policy)
    if entry is None:
        return None
    found = [p for p in entry.plans if p.dag_id == dag_id]
    return found or None

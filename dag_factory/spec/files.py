"""Local files a spec names: resolved next to the spec, confined to the dag and template folders, read safely.

A spec author is not trusted to read the machine: every local path a spec names (``doc_file``,
``extends``, ``workflow_template``, job ``main``/``files``/``archives``/``jars``, ``query_file``,
upload sources, ``files_root``) resolves here, symlinks resolved, and is accepted only inside one of
the allowed folders (the dag folder and the template folders), only as a regular file (a FIFO, a
device or ``/proc`` entry never blocks or floods the reader), and only up to a size cap. Problems
are ``FileRefused`` with a DSP code; their messages name the path, never the file's content.
URIs with a scheme (``gs://``, ``hdfs:``, ``file://`` …) are not local files and are left alone.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "FILE_FIELDS", "TEXT_MAX", "YAML_MAX", "JOB_MAX", "OUTSIDE", "NOT_REGULAR", "TOO_LARGE", "NOT_TEXT",
    "FileRefused", "is_local", "split_fragment", "inside", "resolve", "check_regular", "confined_file",
    "read_bytes", "read_text", "text_position", "ROOT_HINT", "template_folders",
]

OUTSIDE = "DSP071"  # resolves outside the dag folder and the template folders
NOT_REGULAR = "DSP072"  # missing, or not a regular file (folder, FIFO, device)
TOO_LARGE = "DSP073"  # over the size cap
NOT_TEXT = "DSP074"  # a text file (doc_file) that is not UTF-8

TEXT_MAX = 1 << 20  # files read into the DAG or the plan: doc_file, and SQL query files
YAML_MAX = 2 << 20  # specs, defaults, templates, cluster profiles, workflow templates
JOB_MAX = 1 << 30  # job files staged to Cloud Storage (jars and archives can be large; never read at parse time)

# fields of a Dataproc job or batch body that hold one file URI, or a list of them
FILE_FIELDS = ("main_python_file_uri", "main_jar_file_uri", "main_r_file_uri", "query_file_uri",
               "python_file_uris", "jar_file_uris", "file_uris", "archive_uris")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ROOT_HINT = "put the file below the dag folder (or a template folder) and name it relative to the spec"


class FileRefused(Exception):
    """A spec-named file that may not be used: ``code``, a message naming the path, and a hint."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def is_local(uri: str) -> bool:
    """True for a path on this machine (``jobs/x.py``, ``/abs/x.py``, ``~/x``); False for ``gs://``, ``hdfs:`` …"""
    return bool(uri) and not _SCHEME.match(uri)


def split_fragment(uri: str) -> tuple[str, str]:
    """``env.zip#env`` -> (``env.zip``, ``#env``): Dataproc's archive alias is not part of the path."""
    path, sep, fragment = uri.partition("#")
    return path, sep + fragment


@functools.lru_cache(maxsize=256)
def _real_root(root: str) -> str:
    return os.path.realpath(root)  # roots are the dag and template folders: resolved once per process


def inside(path: str | Path, root: str | Path) -> bool:
    """Whether real path ``path`` is ``root`` (resolved) or below it."""
    real_root = _real_root(str(root))
    text = str(path)
    return text == real_root or text.startswith(real_root.rstrip(os.sep) + os.sep)


def resolve(name: str, base: str | Path, roots: Sequence[str | Path]) -> Path:
    """The real path of ``name`` (relative to ``base``, ``~`` expanded, symlinks resolved); ``FileRefused``
    (``OUTSIDE``) unless it lies inside one of ``roots``."""
    path = os.path.expanduser(name)
    real = os.path.realpath(os.path.join(base, path))
    if not any(inside(real, r) for r in roots):
        raise FileRefused(OUTSIDE, f"`{name}` is outside the dag folder and the template folders", ROOT_HINT)
    return Path(real)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _check(st: os.stat_result, name: str, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(NOT_REGULAR, f"`{name}` is not a regular file (a {_kind(st.st_mode)})",
                          "name a file, not a folder, FIFO or device")
    if st.st_size > limit:
        raise FileRefused(TOO_LARGE, f"`{name}` is larger than {_size(limit)} ({_size(st.st_size)})",
                          "keep files named by specs small; put large data in Cloud Storage and name its gs:// URI")


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def check_regular(path: str | Path, name: str, limit: int) -> os.stat_result:
    """``os.stat`` of ``path`` when it is an existing regular file of at most ``limit`` bytes; else ``FileRefused``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileRefused(NOT_REGULAR, f"`{name}` not found",
                          "the path is relative to the spec's folder; check the spelling") from None
    except OSError as exc:
        raise FileRefused(NOT_REGULAR, f"`{name}` cannot be read: {exc.strerror}") from None
    _check(st, name, limit)
    return st


def confined_file(name: str, base: str | Path, roots: Sequence[str | Path], limit: int) -> Path:
    """``resolve`` then ``check_regular``: the real path of an allowed, existing, regular, small enough file."""
    path = resolve(name, base, roots)
    check_regular(path, name, limit)
    return path


def read_bytes(path: str | Path, name: str, limit: int) -> bytes:
    """The content of a regular file of at most ``limit`` bytes. Opened non-blocking and checked with
    ``fstat`` before reading, so a FIFO or a device never blocks and ``/dev/zero`` never fills memory."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileRefused(NOT_REGULAR, f"`{name}` not found",
                          "the path is relative to the spec's folder; check the spelling") from None
    except OSError as exc:
        raise FileRefused(NOT_REGULAR, f"`{name}` cannot be read: {exc.strerror}") from None
    try:
        _check(os.fstat(fd), name, limit)
        chunks, total = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read
                raise FileRefused(TOO_LARGE, f"`{name}` is larger than {_size(limit)}")
        return b"".join(chunks)
    except BlockingIOError:
        raise FileRefused(NOT_REGULAR, f"`{name}` cannot be read without blocking") from None
    finally:
        os.close(fd)


def text_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of byte ``offset`` in ``data`` (the column counts characters)."""
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def read_text(path: str | Path, name: str, limit: int) -> str:
    """``read_bytes`` decoded as UTF-8; ``FileRefused`` (``NOT_TEXT``) names the line and column of a bad byte."""
    data = read_bytes(path, name, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = text_position(data, exc.start)
        raise FileRefused(NOT_TEXT, f"`{name}` is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}, "
                          f"column {column})", "save the file as UTF-8") from None


def template_folders(root: str | Path, env: Mapping[str, str]) -> tuple[Path, ...]:
    """Where templates are found: ``$DAGSPEC_TEMPLATES_PATH``, then ``<root>/templates``, then
    ``<root>/../templates`` (the repository layout, with dags/ and templates/ side by side)."""
    root = Path(root)
    dirs = [Path(p) for p in env.get("DAGSPEC_TEMPLATES_PATH", "").split(os.pathsep) if p]
    dirs += [root / "templates", root.parent / "templates"]
    return tuple(d.resolve() for d in dirs if d.is_dir())

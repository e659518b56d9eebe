"""Finding spec files in a folder the way Airflow lists a dag_folder, honouring ``.airflowignore``.

The dag_folder loader uses Airflow's own listing; this pure version serves the CLI, which must
not import Airflow. Both syntaxes Airflow knows are supported: ``glob`` (gitignore-like, the
default in Airflow 3) and ``regexp`` (``AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX=regexp``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

__all__ = ["find_spec_files", "walk_dag_folder", "find_root", "is_spec_file", "LOADER_FILE", "SPEC_SUFFIXES"]

LOADER_FILE = "dagspec_loader.py"
SPEC_SUFFIXES = (".yaml", ".yml")  # spec files, defaults and templates
_IGNORE = ".airflowignore"


def _patterns(folder: Path) -> list[str]:
    ignore = folder / _IGNORE
    if not ignore.is_file():
        return []
    out = []
    for line in ignore.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def _ignored(rel: str, patterns: list[tuple[Path, str]], root: Path, path: Path, syntax: str) -> bool:
    for base, pattern in patterns:
        relative = path.relative_to(base).as_posix()
        if syntax == "regexp":
            if re.search(pattern, relative):
                return True
            continue
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        anchored = pat.startswith("/")
        pat = pat.lstrip("/")
        candidates = [relative] if anchored or "/" in pat else [relative, *relative.split("/")]
        matched = any(fnmatchcase(c, pat) or fnmatchcase(c, pat + "/*") for c in candidates)
        if matched:
            return not negate
    return False


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True


def walk_dag_folder(root: Path, env: Mapping[str, str] | None = None, *, keep_dotfiles: frozenset[str] = frozenset(),
                    skip_dirs: frozenset[str] = frozenset(), skip_suffixes: tuple[str, ...] = (),
                    follow_outside: bool = True, on_skip: Callable[[Path, str], None] | None = None) -> Iterator[Path]:
    """Every file below ``root`` that ``.airflowignore`` files do not exclude, sorted by folder.

    Dotfiles and dot-folders are skipped (but the names in ``keep_dotfiles``), as are folders named
    in ``skip_dirs`` and files ending in ``skip_suffixes``. A folder is listed once, however many
    symlinks lead to it (so a symlink loop such as ``loop -> .`` ends); with ``follow_outside=False``
    symlinks that lead out of ``root`` are skipped too. ``on_skip(path, why)`` hears of each skip.
    """
    env = os.environ if env is None else env
    syntax = env.get("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", "glob").lower()
    root = root.resolve()
    top = str(root)
    seen = {top}
    stack: list[tuple[Path, list[tuple[Path, str]]]] = [(root, [])]
    while stack:
        folder, inherited = stack.pop()
        patterns = inherited + [(folder, p) for p in _patterns(folder)]
        try:
            entries = sorted(os.scandir(folder), key=lambda e: (_is_link(e), e.name))  # real folders first
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                link = entry.is_symlink()
            except OSError:  # e.g. a symlink that loops on itself
                is_dir, link = False, True
            real = os.path.realpath(path) if link else ""
            outside = link and not (real == top or real.startswith(top.rstrip(os.sep) + os.sep))
            if entry.name in keep_dotfiles and not is_dir:
                if not (outside and not follow_outside):
                    yield path
                continue
            if entry.name.startswith(".") or _ignored(entry.name, patterns, root, path, syntax):
                continue
            if outside and not follow_outside:
                if on_skip:
                    on_skip(path, f"a symlink to {real}, outside {root}")
                continue
            if is_dir:
                if entry.name in skip_dirs:
                    continue
                key = real or str(path)
                if key in seen:
                    if on_skip:
                        on_skip(path, f"a symlink to {real}, a folder already listed (a symlink loop?)")
                    continue
                seen.add(key)
                stack.append((path, patterns))
            elif link and not os.path.exists(path):
                if on_skip:
                    on_skip(path, "a broken symlink")
            elif not skip_suffixes or not entry.name.endswith(skip_suffixes):
                yield path


def find_spec_files(root: Path, env: Mapping[str, str] | None = None) -> Iterator[Path]:
    """Every ``*.yaml``/``*.yml`` below ``root`` that ``.airflowignore`` files do not exclude."""
    return (p for p in walk_dag_folder(root, env) if p.name.endswith(SPEC_SUFFIXES))


def is_spec_file(path: Path) -> bool:
    """Spec files are ``*.yaml``/``*.yml`` not starting with ``_`` or ``.``, besides ``dagspec.yaml``."""
    name = path.name
    return name.endswith(SPEC_SUFFIXES) and not name.startswith(("_", ".")) and name != "dagspec.yaml"


def find_root(path: Path) -> Path:
    """The dag_folder a spec belongs to: the nearest folder up holding the loader file (or parse-unit
    loader files, ``spec.units``), else the folder given (or the file's folder)."""
    start = path.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in [folder, *folder.parents]:
        if (candidate / LOADER_FILE).is_file() or next(candidate.glob("dagspec_unit_*_of_*.py"), None) is not None:
            return candidate
    return folder

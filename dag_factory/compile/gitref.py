"""The git commit checked out where a spec lives, read from the repository's files (no subprocess).

A checkout keeps its metadata in a ``.git`` folder; a linked worktree or a submodule has a ``.git``
*file* (``gitdir: <path>``) pointing at its own folder, whose ``commondir`` names the folder that
holds the shared refs. Both are read the same way: HEAD from the checkout's own git folder, the
branch's ref from there or from the common folder (loose file, then ``packed-refs``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["git_commit", "git_inputs", "forget"]

# What one compile saw, by folder (a dag folder's specs share a few folders): ``forget`` starts afresh.
_COMMITS: dict[Path, str] = {}  # folder -> commit
_CHECKOUTS: dict[Path, tuple[Path, Path] | None] = {}  # folder -> its checkout's git folders
_INPUTS: dict[Path, tuple[str, ...]] = {}  # folder -> the files its commit is read from


def forget() -> None:
    """Look at the repositories afresh (a new compile: HEAD may have moved since the last one)."""
    _COMMITS.clear()
    _CHECKOUTS.clear()
    _INPUTS.clear()


def _git_dirs(folder: Path) -> tuple[Path, Path] | None:
    """(git folder, common folder) of a checkout rooted at ``folder``, or None when it is none."""
    dot = folder / ".git"
    if dot.is_dir():
        return (dot, dot) if (dot / "HEAD").is_file() else None
    if not dot.is_file():
        return None
    try:
        text = dot.read_text().strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    own = Path(text[len("gitdir:"):].strip())
    own = own if own.is_absolute() else (folder / own)
    common = own
    try:
        common = own / (own / "commondir").read_text().strip()
    except OSError:
        pass
    return (own, common) if (own / "HEAD").is_file() else None


def _checkout(path: Path) -> tuple[Path, Path] | None:
    start = path.parent
    if start not in _CHECKOUTS:
        found = None
        for folder in [start, *start.parents]:
            found = _git_dirs(folder)
            if found is not None:
                break
        _CHECKOUTS[start] = found
    return _CHECKOUTS[start]


def _read_commit(own: Path, common: Path) -> str:
    try:
        ref = (own / "HEAD").read_text().strip()
        if not ref.startswith("ref: "):
            return ref
        name = ref[5:]
        for base in (own, common):
            loose = base / name
            if loose.is_file():
                return loose.read_text().strip()
        packed = common / "packed-refs"
        for line in packed.read_text().splitlines() if packed.is_file() else []:
            if line.endswith(" " + name):
                return line.split()[0]
    except OSError:
        pass
    return ""


def git_commit(path: Path) -> str:
    """The commit checked out in the git work tree holding ``path``, or "" outside one."""
    folder = path.parent
    if folder not in _COMMITS:
        found = _checkout(path)
        _COMMITS[folder] = _read_commit(*found) if found else ""
    return _COMMITS[folder]


def git_inputs(path: Path) -> tuple[str, ...]:
    """The files ``git_commit`` reads for ``path`` (HEAD, the branch's ref, packed-refs): inputs of
    the plan, since its tags and docs name the commit."""
    folder = path.parent
    if folder not in _INPUTS:
        _INPUTS[folder] = _git_inputs(path)
    return _INPUTS[folder]


def _git_inputs(path: Path) -> tuple[str, ...]:
    found = _checkout(path)
    if found is None:
        return ()
    own, common = found
    files = [str(own / "HEAD"), str(common / "packed-refs")]
    try:
        ref = (own / "HEAD").read_text().strip()
    except OSError:
        return tuple(files)
    if ref.startswith("ref: "):
        files.append(str(common / ref[5:]))
        if own != common:
            files.append(str(own / ref[5:]))
    return tuple(files)

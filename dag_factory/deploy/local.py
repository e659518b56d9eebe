"""The local side of a deploy: validate the specs, then list the dag folder's files and the files the specs use.

Validation is the code path of ``dagspec validate``. The files deployed are every file below the
dag folder that ``.airflowignore`` does not exclude (the loader, specs, ``_defaults.yaml``, data),
every file the compiled plans and specs use whether ``.airflowignore`` excludes it or not (job
files, SQL, upload sources, ``doc_file``, workflow templates; see ``refs``), and the templates and
cluster profiles the specs use, keyed ``templates/<path>`` so that the loader finds them in
``<prefix>/templates`` on Composer. Each file carries why it goes. Symlinks leading out of the dag
folder are not followed (a warning names them).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..compile.api import compile_paths, template_dirs
from ..errors import Diagnostic, has_errors
from ..spec.discover import LOADER_FILE, find_spec_files, is_spec_file
from ..spec.discover import walk_dag_folder as _walk
from ..spec.units import check_units, read_units
from .plan import MANIFEST_NAME, LocalFile
from .refs import plan_files, spec_files

__all__ = ["LocalSide", "collect_local", "walk_dag_folder", "file_checksums", "deploy_env", "DEPLOY_CODE",
           "SYMLINK_CODE"]

DEPLOY_CODE = "DSP094"  # a problem that only matters once the dag folder is in a bucket
SYMLINK_CODE = "DSP076"  # a symlink deploy does not follow (out of the dag folder, or a loop)
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
_KEPT_DOTFILES = {".airflowignore"}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LocalSide:
    """The validated local files of a deploy, or the diagnostics that stop it."""

    files: tuple[LocalFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    spec_count: int
    dag_count: int

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def deploy_env(templates: Path | None, env: Mapping[str, str]) -> dict[str, str]:
    """The environment specs are validated with: the worker finds templates only in ``<prefix>/templates``,
    which deploy fills from ``templates`` (so that folder is the only template path besides the dag folder's)."""
    out = {k: v for k, v in env.items() if k != "DAGSPEC_TEMPLATES_PATH"}
    if templates is not None and templates.is_dir():
        out["DAGSPEC_TEMPLATES_PATH"] = str(templates.resolve())
    return out


def walk_dag_folder(root: Path, env: Mapping[str, str],
                    on_skip: Callable[[Path, str], None] | None = None) -> Iterator[Path]:
    """Every file below ``root`` that a dag folder needs: not excluded by ``.airflowignore``, no dotfiles
    (but ``.airflowignore`` itself), no ``__pycache__``, no symlink leading out of ``root``."""
    return _walk(root, env, keep_dotfiles=frozenset(_KEPT_DOTFILES), skip_dirs=frozenset(_SKIP_DIRS),
                 skip_suffixes=_SKIP_SUFFIXES, follow_outside=False, on_skip=on_skip)


def file_checksums(path: Path) -> tuple[int, str, str]:
    """Size, MD5 and CRC32C of a file, both base64 as GCS reports them."""
    import google_crc32c  # C implementation shipped with google-cloud-storage

    md5 = hashlib.md5(usedforsecurity=False)
    crc = google_crc32c.Checksum()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            md5.update(chunk)
            crc.update(chunk)
            size += len(chunk)
    return size, base64.b64encode(md5.digest()).decode(), base64.b64encode(crc.digest()).decode()


def _local_file(key: str, path: Path, why: str = "") -> LocalFile:
    size, md5, crc = file_checksums(path)
    return LocalFile(key, path, size, md5, crc, why)


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def collect_local(dags: Path, templates: Path | None, *, check_imports: bool = True,
                  env: Mapping[str, str] | None = None, airflow_line: tuple[int, int] | None = None) -> LocalSide:
    """Validate every spec below ``dags`` and, when none has an error, list the files to deploy, each with why."""
    env = deploy_env(templates, os.environ if env is None else env)
    root = dags.resolve()
    dirs = template_dirs(root, env)
    diagnostics: list[Diagnostic] = []

    def skipped(path: Path, why: str) -> None:
        diagnostics.append(Diagnostic(SYMLINK_CODE, f"not deployed: {path.relative_to(root).as_posix()} is {why}",
                                      str(path), severity="warning",
                                      hint="copy the file into the dag folder if Composer needs it"))

    listed = list(walk_dag_folder(root, env, on_skip=skipped))
    specs = [p for p in find_spec_files(root, env) if is_spec_file(p) and not any(_under(p, d) for d in dirs)]
    result = compile_paths(specs, root=root, check_imports=check_imports, env=env, airflow_line=airflow_line)
    diagnostics += result.all_diagnostics
    spec_count = len(specs)
    layout = read_units(root)
    if layout.units == 0:
        diagnostics.append(Diagnostic(DEPLOY_CODE, f"no {LOADER_FILE} in {dags}: nothing would load the specs on Composer",
                                      str(dags), hint=f"run `dagspec init {dags}` to write the loader"))
    else:  # the unit files are deployed like any file of the folder; warn when the folder outgrew them
        diagnostics += check_units(root, spec_count)
    loaders = set(layout.files)
    if has_errors(diagnostics):
        return LocalSide((), tuple(diagnostics), spec_count, len(result.plans))
    files: dict[str, tuple[Path, str]] = {}
    spec_set = set(specs)
    for path in listed:
        key = path.relative_to(root).as_posix()
        if key != MANIFEST_NAME:
            files[key] = (path, "the loader" if key in loaders else "spec" if path in spec_set
                          else "in the dag folder")
    used = {**plan_files(result.plans), **spec_files(specs, root, dirs, env)}
    tdir = templates.resolve() if templates is not None and templates.is_dir() else None
    for path, why in sorted(used.items()):
        if _under(path, root):
            key = path.relative_to(root).as_posix()
            if key != MANIFEST_NAME:  # whether or not .airflowignore hides it from Airflow
                files[key] = (path, why)
            continue
        if tdir is None or not _under(path, tdir) or why.startswith(("job ", "query_file", "upload ", "doc_file")):
            diagnostics.append(Diagnostic(DEPLOY_CODE, f"the {why} is {path}, outside the dag folder: "
                                          "it would not exist on Composer", str(path),
                                          hint="move it into the dag folder (templates and cluster profiles may also "
                                               "live in the templates folder, --templates)"))
            continue
        key = "templates/" + path.relative_to(tdir).as_posix()
        if key in files and files[key][0] != path:
            diagnostics.append(Diagnostic(DEPLOY_CODE, f"{key} exists both in {dags} and in {templates}; "
                                          "both would go to the same place in the bucket", str(path),
                                          hint="keep one of the two files"))
            continue
        files[key] = (path, why)
    if has_errors(diagnostics):
        return LocalSide((), tuple(diagnostics), spec_count, len(result.plans))
    local = tuple(_local_file(key, path, why) for key, (path, why) in sorted(files.items()))
    return LocalSide(local, tuple(diagnostics), spec_count, len(result.plans))

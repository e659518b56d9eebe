"""Compile-time checks of the local files and buckets a task names: confined, existing, regular, allowed.

Job files (``main``, ``py_files``, ``jars``, ``files``, ``archives``, ``query_file``) and the sources
of ``GcsUploadOperator`` resolve next to the spec and must be regular files inside the dag folder or
a template folder (see ``spec.files``); under a policy with ``allowed_buckets``, every bucket dagspec
would write to (staging, cluster config/temp buckets, upload destinations) must match it. Each
problem is a diagnostic at the line that names the file or bucket.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import Any

from ..spec.files import FILE_FIELDS, JOB_MAX, TEXT_MAX, FileRefused, confined_file, is_local, resolve, split_fragment
from ..spec.yaml_source import YamlPath
from .context import CompileContext

__all__ = ["check_job_files", "check_upload", "check_bucket", "check_task_files", "UPLOAD_OPERATOR", "BUCKET_CODE"]

UPLOAD_OPERATOR = "dagspec.provider.operators.gcs.GcsUploadOperator"
_WORK_OPERATORS = ("dagspec.provider.operators.job.DataprocSubmitJobOperator",
                   "dagspec.provider.operators.job.DataprocSubmitBatchOperator")
BUCKET_CODE = "DSP075"
# spec fields of a Dataproc job that name files, and the size cap of each
_JOB_FIELDS = (("main", JOB_MAX), ("main_jar", JOB_MAX), ("query_file", TEXT_MAX), ("py_files", JOB_MAX),
               ("jars", JOB_MAX), ("files", JOB_MAX), ("archives", JOB_MAX))
_GLOB = frozenset("*?[")


def _templated(value: str) -> bool:
    return "{{" in value or "{%" in value  # rendered by Airflow at run time: checked by the operator then


def _error(ctx: CompileContext, refused: FileRefused, where: YamlPath, what: str) -> None:
    ctx.error(refused.code, f"{what}: {refused.message}", where, refused.hint)


def check_job_files(ctx: CompileContext, job: Any, here: YamlPath) -> None:
    """Every local file a Dataproc job names is an allowed regular file below the spec's folders."""
    base = ctx.loaded.path.parent
    for name, limit in _JOB_FIELDS:
        value = getattr(job, name, None)
        values: Iterable[tuple[YamlPath, str]] = (
            [(here + (name,), value)] if isinstance(value, str)
            else [(here + (name, i), v) for i, v in enumerate(value or []) if isinstance(v, str)])
        for where, uri in values:
            if not is_local(uri) or _templated(uri):
                continue
            try:
                confined_file(split_fragment(uri)[0], base, ctx.roots, limit)
            except FileRefused as refused:
                _error(ctx, refused, where, name)


def check_task_files(ctx: CompileContext, operator: str, user_args: dict[str, Any], args: dict[str, Any], path: YamlPath) -> None:
    """The files of a task whose operator stages or uploads local files, after ``args:`` were merged in:
    an upload (see ``check_upload``), or a Dataproc job/batch operator whose ``files_root`` or job body
    came from ``args:`` (a job kind such as ``pyspark:`` is checked by ``check_job_files``)."""
    if operator == UPLOAD_OPERATOR:
        check_upload(ctx, args, path)
        return
    if operator not in _WORK_OPERATORS or not ({"files_root", "job", "batch"} & set(user_args)):
        return
    root = _files_root(ctx, args, path)
    if root is None:
        return
    for key in ("job", "batch"):
        where = path + (("args", key) if key in user_args else ())
        for sub, uri in _body_files(args.get(key), ()):
            try:
                confined_file(split_fragment(uri)[0], root, ctx.roots, JOB_MAX)
            except FileRefused as refused:
                _error(ctx, refused, where + sub if key in user_args else path, str(sub[-1]) if sub else key)


def _files_root(ctx: CompileContext, args: dict[str, Any], path: YamlPath) -> str | None:
    """The folder local files are relative to: ``files_root`` resolved inside the allowed folders (the
    spec's folder when unset, written back into ``args``); None when it is refused (an error is reported)
    or templated (checked at run time)."""
    root = args.get("files_root")
    if root is None:
        args["files_root"] = str(ctx.loaded.path.parent)
        return args["files_root"]
    if not isinstance(root, str) or _templated(root):
        return None
    try:
        return str(resolve(root, ctx.loaded.path.parent, ctx.roots))
    except FileRefused as refused:
        _error(ctx, refused, path + ("args", "files_root"), "files_root")
        return None


def _body_files(body: Any, at: YamlPath) -> Iterable[tuple[YamlPath, str]]:
    """(path, uri) of every local file named in a job or batch body."""
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if key in FILE_FIELDS:
            items = [(at + (key,), value)] if isinstance(value, str) else (
                [(at + (key, i), v) for i, v in enumerate(value)] if isinstance(value, list | tuple) else [])
            yield from ((p, v) for p, v in items if isinstance(v, str) and is_local(v) and not _templated(v))
        elif isinstance(value, dict):
            yield from _body_files(value, at + (key,))


def check_upload(ctx: CompileContext, args: dict[str, Any], path: YamlPath) -> None:
    """``GcsUploadOperator``: ``files_root`` (default: the spec's folder) and every source stay inside the
    allowed folders; sources exist; the destination bucket is allowed."""
    destination = args.get("destination")
    if isinstance(destination, str):
        check_bucket(ctx, destination, path + ("args", "destination"), "upload destination")
    root = _files_root(ctx, args, path)
    if root is None:
        return
    source = args.get("source")
    items = ([((), source)] if isinstance(source, str)
             else [((i,), s) for i, s in enumerate(source) if isinstance(s, str)] if isinstance(source, list) else [])
    for sub, pattern in items:
        where = path + ("args", "source", *sub)
        if _templated(pattern):
            continue
        try:
            if _GLOB & set(pattern):
                _check_glob(pattern, root, ctx.roots)
            else:
                confined_file(pattern, root, ctx.roots, JOB_MAX)
        except FileRefused as refused:
            _error(ctx, refused, where, "source")


def _check_glob(pattern: str, root: str, roots: tuple[str, ...]) -> None:
    literal = pattern[:min(pattern.index(c) for c in _GLOB if c in pattern)]
    try:  # the folder the pattern starts from
        resolve(os.path.dirname(literal) or ".", root, roots)
    except FileRefused as refused:
        raise FileRefused(refused.code, f"`{pattern}` is outside the dag folder and the template folders",
                          refused.hint) from None
    full = os.path.join(root, os.path.expanduser(pattern))
    matches = [m for m in glob.glob(full) if not os.path.isdir(m)]
    if not matches:
        raise FileRefused("DSP072", f"`{pattern}` matches no file", "the pattern is relative to `files_root`")
    for match in matches:
        confined_file(match, root, roots, JOB_MAX)


def check_bucket(ctx: CompileContext, uri: Any, where: YamlPath, what: str) -> None:
    """Under ``allowed_buckets``, ``uri`` (``gs://bucket/...`` or a bare bucket name) must name an allowed bucket."""
    if ctx.policy.allowed_buckets is None or not isinstance(uri, str) or not uri or _templated(uri):
        return
    bucket = uri.removeprefix("gs://").split("/", 1)[0]
    if ctx.policy.allows_bucket(bucket):
        return
    loc = ctx.loaded.source.find(where)
    if any(d.code == BUCKET_CODE and d.line == loc.line and d.file == loc.file for d in ctx.diagnostics):
        return  # a spec-wide staging bucket is reported once, not once per job
    ctx.error(BUCKET_CODE, f"{what} bucket `{bucket}` is not allowed here", where,
              f"your administrator allows only: {', '.join(ctx.policy.allowed_buckets)}")

"""Under a governance policy: the ``airflow:`` pass-through keys that would import code or read files.

Airflow's DAG takes a few arguments that reach past plain data: ``jinja_environment_kwargs`` goes
straight into ``jinja2.Environment`` (``extensions`` are imported by dotted path; ``loader``,
``undefined``, ``finalize`` and ``bytecode_cache`` replace how templates are found and rendered) and
``template_searchpath`` adds folders from which ``{% include %}`` reads files. With a policy set:

* a Jinja extension is a callable checked against ``allowed_callables`` (Airflow's default,
  ``jinja2.ext.do``, is dropped when ``extensions`` is given, so it must be allowed too);
* only ``jinja_environment_kwargs`` keys that tune the syntax or whitespace are accepted;
* callback keys (``on_success_callback``, ``on_failure_callback``, ``sla_miss_callback``,
  ``deadline``) are refused here: the spec's own top-level callbacks are the checked route;
* every ``template_searchpath`` entry must resolve (symlinks followed, relative entries against the
  spec's folder) inside the dag_folder or a template folder; the plan carries the resolved path.

``user_defined_macros``/``user_defined_filters`` take values, not import paths: YAML gives them plain
data, which nothing imports. Without a policy these keys pass through as before. Task ``args`` need no such check: they are
plain data handed to an operator class that the policy already allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .context import CompileContext

__all__ = ["check_airflow_key", "SAFE_JINJA_KEYS", "CALLBACK_KEYS"]

CALLBACK_KEYS = frozenset({"on_success_callback", "on_failure_callback", "sla_miss_callback", "deadline"})

SAFE_JINJA_KEYS = frozenset({
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "autoescape",
    "optimized", "cache_size", "auto_reload",
})


def check_airflow_key(ctx: CompileContext, key: str, value: Any) -> tuple[bool, Any]:
    """``(keep, value)`` for ``airflow.<key>``: whether it may pass under the policy, and the value to
    pass (search paths resolved). Without a policy every key passes unchanged."""
    if not ctx.policy.active:
        return True, value
    if key == "jinja_environment_kwargs":
        return _jinja(ctx, value), value
    if key == "template_searchpath":
        return _searchpath(ctx, value)
    if key in CALLBACK_KEYS:
        ctx.error("DSP045", f"`airflow.{key}` is not allowed under the governance policy", ("airflow", key),
                  "write callbacks at the top level of the spec (`on_success_callback:`, `on_failure_callback:`), "
                  "where they are checked against allowed_callables", key=True)
        return False, value
    return True, value


def _jinja(ctx: CompileContext, value: Any) -> bool:
    here = ("airflow", "jinja_environment_kwargs")
    if not isinstance(value, dict):
        ctx.error("DSP011", "`jinja_environment_kwargs` is a mapping of Jinja environment options", here)
        return False
    ok = True
    for name, option in value.items():
        if name == "extensions":
            items = option if isinstance(option, list) else [option]
            for i, ext in enumerate(items):
                where = here + ("extensions", i) if isinstance(option, list) else here + ("extensions",)
                if not isinstance(ext, str):
                    ctx.error("DSP011", "a Jinja extension is a dotted import path", where)
                    ok = False
                else:
                    before = len(ctx.diagnostics)
                    ctx.check_import(ext, "callable", where, what="Jinja extension")
                    ok = ok and len(ctx.diagnostics) == before
        elif name not in SAFE_JINJA_KEYS:
            ctx.error("DSP045", f"`jinja_environment_kwargs.{name}` is not allowed under the governance policy",
                      here + (name,), "it changes how templates are loaded or rendered; allowed here: "
                      + ", ".join(sorted(SAFE_JINJA_KEYS)) + " and `extensions` (checked against allowed_callables)",
                      key=True)
            ok = False
    return ok


def _searchpath(ctx: CompileContext, value: Any) -> tuple[bool, Any]:
    here = ("airflow", "template_searchpath")
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        ctx.error("DSP011", "`template_searchpath` is a folder or a list of folders", here)
        return False, value
    folders = ctx.folders
    resolved = []
    ok = True
    for i, entry in enumerate(items):
        where = here if isinstance(value, str) else here + (i,)
        target = Path(os.path.realpath(ctx.loaded.path.parent / os.path.expanduser(entry)))
        if not any(target == f or target.is_relative_to(f) for f in folders):
            ctx.error("DSP045", f"template search path `{entry}` is outside the dag folder and the template folders",
                      where, "under the governance policy templates are read only from "
                      + (", ".join(str(f) for f in folders) or "the dag folder")
                      + "; put the files there and name that folder (relative to the spec)")
            ok = False
        resolved.append(str(target))
    return ok, resolved

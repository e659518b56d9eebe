"""The compile entry points the loader and the CLI share: spec files in, plans and diagnostics out.

Importing this module is cheap: the spec models and the compiler load only when a spec must
actually be compiled, not when every plan comes from the cache (a worker's usual case).
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Diagnostic, has_errors, with_snippets
from ..spec.discover import is_spec_file
from ..spec.files import template_folders
from ..spec.limits import Budget
from ..spec.secrets import redact_diagnostics
from .cache import PlanCache, index_key
from .gcpause import gc_paused
from .gitref import forget as forget_git
from .plan import DagPlan
from .resolve import Policy, Resolver

if TYPE_CHECKING:  # the spec models load only when a spec is compiled (see above)
    from ..spec.load import Layer, SpecLoader
    from ..spec.yaml_source import YamlDocument

__all__ = ["CompileResult", "compile_paths", "template_dirs", "candidates_for", "Policy", "gc_paused",
           "expand_workflow_template"]

_RESOLVER = Resolver()
CRASH_CODE = "DSP900"  # dagspec itself failed on a file (the loader uses it also for DAGs Airflow rejects)


def expand_workflow_template(loader: SpecLoader, doc: YamlDocument, path: Path, diagnostics: list[Diagnostic],
                             inputs: list[str]) -> tuple[YamlDocument | None, list[Layer]]:
    """The spec loader's ``expand``: dagspec's Dataproc workflow-template support (``workflow_template.hook``)."""
    # imported here: only a spec that is or names a workflow template pays for the converter (parse-path
    # cost), and workflow_template.export reads compile.plan (a cycle at module level)
    from ..workflow_template.hook import expand_template

    return expand_template(loader, doc, path, diagnostics, inputs)


@dataclass(frozen=True)
class CompileResult:
    plans: list[DagPlan] = field(default_factory=list)
    diagnostics: dict[str, list[Diagnostic]] = field(default_factory=dict)  # by spec file path
    secrets: tuple[tuple[str, str], ...] = ()  # (NAME, value) read from the environment: redact before showing

    @property
    def all_diagnostics(self) -> list[Diagnostic]:
        return [d for diags in self.diagnostics.values() for d in diags]


def template_dirs(root: Path, env: Mapping[str, str]) -> tuple[Path, ...]:
    """Where templates are found: ``$DAGSPEC_TEMPLATES_PATH``, then ``<root>/templates``, then
    ``<root>/../templates`` (the repository layout, with dags/ and templates/ side by side)."""
    return template_folders(root, env)


def _in_templates(path: Path, dirs: Sequence[Path]) -> bool:
    text = os.path.abspath(path)
    return any(text.startswith(str(d) + os.sep) for d in dirs)


_DAG_ID_LINE = re.compile(r"""(?:^|[\s{,])['"]?dag_id['"]?\s*:\s*['"]?([A-Za-z0-9_.-]+)""", re.MULTILINE)


def candidates_for(dag_id: str, paths: Sequence[Path]) -> list[Path]:
    """The spec files that can define ``dag_id``, found without parsing YAML: the file named after
    it, or files that write ``dag_id: <id>`` (specs and template instances)."""
    named = [p for p in paths if p.stem == dag_id]
    if named:
        return named
    out = []
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if dag_id in text and dag_id in _DAG_ID_LINE.findall(text):
            out.append(p)
    return out


def compile_paths(paths: Sequence[Path | str], *, root: Path | str, policy: Policy | None = None,
                  only_dag_id: str | None = None, env: Mapping[str, str] | None = None,
                  check_imports: bool = True, cache: PlanCache | None | bool = False,
                  taken: Mapping[str, str] | None = None, budget: Budget | None = None,
                  index: bool = True, unit: tuple[int, int] | None = None,
                  merge_index: bool = False, airflow_line: tuple[int, int] | None = None) -> CompileResult:
    """Compile spec files below ``root`` (the dag_folder). Non-spec files are skipped.

    ``budget`` limits what one spec file may ask for (default: from ``AIRFLOW__DAGSPEC__MAX_...``
    in ``env``); an oversized file becomes its own error.

    ``cache=True`` reuses plans of unchanged specs from the machine's plan cache (see
    ``compile.cache``); the loader in Airflow uses it, the CLI does not. ``taken``: DAG ids that
    other (Python) DAG files define, id -> file; a spec claiming one is an error (DSP046) and
    gives no plan: a spec never replaces a DAG defined elsewhere. ``index=False`` leaves the cache's
    dag_id index of ``root`` alone (a caller compiling one spec of the folder, as Airflow 3.4's importer does).
    ``unit``: the parse unit (index, count) ``paths`` belong to, which keeps its own dag_id index in the
    cache (``spec.units``); ``merge_index``: ``paths`` are one more chunk of the folder, add their ids to the index.
    ``airflow_line``: also check each spec against that Airflow line (``compile.lines``; never cached).
    """
    with gc_paused():
        return _compile_paths(paths, root, policy, only_dag_id, env, check_imports,
                              False if airflow_line else cache, taken or {}, budget, index, unit, merge_index, airflow_line)


def _compile_paths(paths: Sequence[Path | str], root: Path | str, policy: Policy | None, only_dag_id: str | None,
                   env: Mapping[str, str] | None, check_imports: bool, cache: PlanCache | None | bool,
                   taken: Mapping[str, str], budget: Budget | None, write_index: bool,
                   unit: tuple[int, int] | None, merge_index: bool,
                   airflow_line: tuple[int, int] | None = None) -> CompileResult:
    env = dict(os.environ) if env is None else env
    budget = budget or Budget.from_env(env)
    store = PlanCache.default(env) if cache is True else (cache or None)
    if store is not None:
        store.begin()
    forget_git()  # one compile sees one state of the repositories, read once per folder
    root = Path(root).resolve()
    if str(root) not in sys.path:  # as Airflow does: modules beside the specs are importable
        sys.path.append(str(root))
    dirs = template_dirs(root, env)
    policy = policy or Policy.from_env(env)
    files = [Path(p) for p in paths]
    files = [p for p in files if is_spec_file(p) and not _in_templates(p, dirs)]
    if only_dag_id:
        files = candidates_for(only_dag_id, files)
    policy_key = policy.key(check_imports)
    index: dict[str, str] = {}
    loader = None
    plans: list[DagPlan] = []
    diagnostics: dict[str, list[Diagnostic]] = {}
    secrets: list[tuple[str, str]] = []
    seen_ids: dict[str, str] = {}
    for path in sorted(files):
        key = os.path.abspath(path)
        entry = store.get(key, env, policy_key) if store else None
        file_secrets: list[tuple[str, str]] = []
        if entry is not None and budget.check_plans(list(entry.plans), key):
            entry = None  # cached under a larger budget: compile again, for the diagnostics at their lines
        if entry is not None:
            file_plans, diags = list(entry.plans), list(entry.diagnostics)
            shown = entry.diagnostics[0].file if entry.diagnostics else key
        else:
            if loader is None:
                # lazy: a cache hit never loads the spec models (the worker's fast path)
                from ..spec.load import SpecLoader

                loader = SpecLoader(root, dirs, env, allowed_env=policy.env_patterns, budget=budget,
                                    expand=expand_workflow_template)
            shown = loader.display(Path(key))
            try:
                file_plans, diags, file_secrets = _compile_file(loader, Path(key), policy, check_imports, store, env,
                                                                policy_key, airflow_line)
            except Exception as exc:  # a dagspec bug on one file must not hide the other files' diagnostics
                file_plans, diags = [], [_crash(shown, exc)]
            secrets += file_secrets
        for plan in file_plans:
            if only_dag_id and plan.dag_id != only_dag_id:
                continue
            if plan.dag_id in seen_ids:
                diags += with_snippets([Diagnostic(
                    "DSP023", f"DAG id `{plan.dag_id}` is already defined in {seen_ids[plan.dag_id]}",
                    plan.source.file, plan.source.line, plan.source.column,
                    "give this spec its own `dag_id:` (the default is the file name)")])
                continue
            if plan.dag_id in taken:
                diags += with_snippets([_taken(plan, taken[plan.dag_id], root)])
                continue
            seen_ids[plan.dag_id] = plan.source.file
            if not any(value for _, value in file_secrets):  # the index, like the cache, holds no env value
                index[plan.dag_id] = key
            plans.append(plan)
        if diags:
            diagnostics[shown] = diags
    if store is not None:
        store.end_batch()
        if not only_dag_id and write_index:
            key = index_key(root, unit)
            store.write_index(key, {**store.read_index(key), **index} if merge_index else index)
    if secrets:  # no message may show a value read from the environment

        diagnostics = {k: redact_diagnostics(v, secrets) for k, v in diagnostics.items()}
    return CompileResult(plans, diagnostics, tuple(dict.fromkeys(secrets)))


def _taken(plan: DagPlan, other: str, root: Path) -> Diagnostic:
    shown = Path(other)
    if shown.is_absolute() and shown.is_relative_to(root):
        shown = shown.relative_to(root)
    return Diagnostic("DSP046", f"DAG id `{plan.dag_id}` is already defined by {shown}; a spec cannot take over "
                      "a DAG defined elsewhere", plan.source.file, plan.source.line, plan.source.column,
                      f"give this spec its own `dag_id:` (the default is the file name), or remove the DAG from {shown}")


def _crash(file: str, exc: Exception) -> Diagnostic:
    """A DSP900 for a file dagspec itself failed on, with where in dagspec it failed."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return Diagnostic(CRASH_CODE, f"dagspec failed on this file: {type(exc).__name__}: {exc}{where}", file,
                      hint="this is a dagspec bug: please report it with the file; the other files were checked")


def _compile_file(loader, path: Path, policy: Policy, check_imports: bool, store: PlanCache | None,
                  env: Mapping[str, str], policy_key: str, airflow_line: tuple[int, int] | None = None
                  ) -> tuple[list[DagPlan], list[Diagnostic], list[tuple[str, str]]]:
    """Load and compile one spec file (all its instances); cache the result when it is clean and
    holds no value read from the environment (the cache stores no secrets)."""
    # lazy: a cache hit never loads the compiler (the worker's fast path)
    from ..spec.files import YAML_MAX, FileRefused, read_bytes
    from .airflow_yaml import airflow_yaml_diagnostic, is_airflow_yaml
    from .compiler import compile_spec
    from .dag import doc_file_path, git_inputs

    try:  # never blocks on a FIFO, never reads past the cap
        data = read_bytes(path, path.name, YAML_MAX)
    except FileRefused:
        data = b""  # the loader reports the unreadable file
    if is_airflow_yaml(data):  # Airflow 3.4's own YAML DAG format: say so instead of misreporting its keys
        return [], with_snippets([airflow_yaml_diagnostic(path, data)]), []
    specs, diags = loader.load(path)
    diags = list(diags)
    load_failed = has_errors(diags)  # e.g. a missing cluster profile: compile on for more problems, keep no plan
    plans = []
    for loaded in specs:
        plan, plan_diags = compile_spec(loaded, _RESOLVER, policy, check_imports=check_imports,
                                        folders=(loader.root, *loader.template_dirs))
        if airflow_line is not None:  # the Airflow line that will parse it (validate/deploy --airflow-version)
            from .lines import line_diagnostics

            on_line = line_diagnostics(loaded.spec, loaded.source, airflow_line)
            plan, plan_diags = (None if has_errors(on_line) else plan), [*plan_diags, *on_line]
        diags += [d for d in plan_diags if d not in diags]
        if plan is not None and not loaded.partial and not load_failed:
            plans.append(plan)
    secrets = [pair for s in specs for pair in s.secrets]
    diags = sorted(with_snippets(redact_diagnostics(diags, secrets)), key=lambda d: (d.file, d.line, d.column))
    if store is not None and specs and not has_errors(diags) and not any(value for _, value in secrets):
        first = specs[0]
        docs = {str(p) for s in specs if (p := doc_file_path(s)) is not None}
        inputs = sorted({f for s in specs for f in s.input_files} | docs | set(git_inputs(path)))
        store.put(str(path), inputs, first.watch_dirs, first.inputs, env, policy_key, plans, diags)
    return plans, diags, secrets

"""Spec files to validated ``Spec`` models: read, layer defaults and templates, resolve, validate.

One ``SpecLoader`` serves a whole dag_folder, so the ``_defaults.yaml`` files and templates that
many specs share are read once. Every problem becomes a ``Diagnostic`` with the file, line and
column where it was written; the loader never raises on bad input.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import Diagnostic, did_you_mean
from .compose import EnvTable, merge_layers, resolve_variables
from .discover import SPEC_SUFFIXES, is_spec_file
from .files import YAML_MAX, FileRefused, read_bytes, resolve, text_position
from .limits import Budget
from .models import Spec
from .secrets import Secrets, redact_diagnostics
from .validation import pruned, validation_diagnostics
from .yaml_source import SourceMap, YamlDocument, YamlPath, load_yaml

__all__ = ["LoadedSpec", "SpecLoader", "DEFAULTS_FILE", "is_spec_file"]

DEFAULTS_FILE = "_defaults.yaml"


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec for one DAG, with where it came from."""

    dag_id: str
    file: str
    spec: Spec
    source: SourceMap
    text: str
    spec_hash: str
    inputs: tuple[str, ...] = ()  # every file that went into it: defaults, templates, the spec
    partial: bool = False  # invalid parts were replaced to find more problems; never build it
    path: Path = Path()  # the spec file, absolute
    input_files: tuple[str, ...] = ()  # absolute paths of the defaults and templates it used
    watch_dirs: tuple[str, ...] = ()  # folders where a new defaults file or template would change it
    secrets: Secrets = ()  # (NAME, value) of each ${env.NAME} it read: never shown, never cached
    roots: tuple[str, ...] = ()  # the folders files named by the spec must be in: the dag folder, template folders




Layer = tuple[dict[str, Any], SourceMap]
# (loader, document, spec path, diagnostics, inputs) -> (the document to load as the spec, extra layers under it)
DocumentExpander = Callable[["SpecLoader", YamlDocument, Path, list[Diagnostic], list[str]],
                            tuple["YamlDocument | None", list[Layer]]]


@dataclass
class SpecLoader:
    """Loads specs below ``root`` (the dag_folder), finding templates on ``template_dirs``.
    ``allowed_env``: the environment variable names specs may read (fnmatch; None: any).
    ``expand``: turns a document with ``jobs`` or ``workflow_template`` (a Dataproc workflow template)
    into the spec to load; the caller wires it (``compile.api``), so this layer knows no template format."""

    root: Path
    template_dirs: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    allowed_env: tuple[str, ...] | None = None
    budget: Budget = field(default_factory=Budget)
    expand: DocumentExpander | None = None
    _docs: dict[Path, tuple[YamlDocument | None, list[Diagnostic]]] = field(default_factory=dict)
    _used: list[str] = field(default_factory=list)  # the input files of the spec being loaded
    _cwd: str | None = None

    # --- files ----------------------------------------------------------------------------------

    def read(self, path: Path) -> tuple[YamlDocument | None, list[Diagnostic]]:
        """Load a YAML file once per loader; non-mapping documents are an error. Only regular files inside
        the dag folder or a template folder are read (never a FIFO or a device, never past ``YAML_MAX``)."""
        path = path if path.is_absolute() else Path(os.path.abspath(path))
        if path not in self._docs:
            shown = self.display(path)
            try:
                resolve(str(path), path.parent, self.roots)
                data = read_bytes(path, shown, YAML_MAX)
            except FileRefused as refused:
                self._docs[path] = None, [Diagnostic(refused.code, refused.message, shown, hint=refused.hint)]
                return self._docs[path]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line, column = text_position(data, exc.start)
                self._docs[path] = None, [Diagnostic("DSP001", f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                                                     shown, line, column, "save the file as UTF-8")]
                return self._docs[path]
            doc, diags = load_yaml(text, shown)
            if doc is not None and doc.data is None:
                doc.data = {}
            if doc is not None and not isinstance(doc.data, dict):
                diags = [Diagnostic("DSP011", "a spec must be a YAML mapping (key: value lines)", shown, 1, 1,
                                    "start with `tasks:`, or see `dagspec schema` for the keys")]
                doc = None
            self._docs[path] = doc, diags
        return self._docs[path]

    def read_input(self, path: Path) -> tuple[YamlDocument | None, list[Diagnostic]]:
        """``read`` a file that goes into the spec being loaded (defaults, template, profile, workflow template)
        and record it among the spec's ``input_files``."""
        self._used.append(str(path))
        return self.read(path)

    @property
    def roots(self) -> tuple[str, ...]:
        """The folders spec-named files must be in: the dag folder and the template folders."""
        return (str(self.root), *(str(d) for d in self.template_dirs))

    def refused(self, name: str, found: Path, loc: Any) -> Diagnostic | None:
        """A diagnostic at ``loc`` when ``found`` (the file ``name`` led to) is outside the allowed folders."""
        try:
            resolve(str(found), found.parent, self.roots)
        except FileRefused as refused:
            return Diagnostic(refused.code, refused.message.replace(f"`{found}`", f"`{name}`"), loc.file, loc.line,
                              loc.column, refused.hint)
        return None

    def display(self, path: Path) -> str:
        """The path as diagnostics show it: relative to the current directory when below it."""
        if self._cwd is None:  # one compile, one working directory: asked once, not per spec
            self._cwd = os.getcwd() + os.sep
        cwd = self._cwd
        text = str(path)
        return text[len(cwd):] if text.startswith(cwd) else text

    def defaults_for(self, spec_path: Path) -> list[Path]:
        """``_defaults.yaml`` files from the root down to the spec's folder (farthest first)."""
        root = self.root
        folder = spec_path.parent
        chain: list[Path] = []
        while True:
            candidate = folder / DEFAULTS_FILE
            if candidate.is_file():
                chain.append(candidate)
            if folder == root or folder.parent == folder or root not in folder.parents:
                break
            folder = folder.parent
        return chain[::-1]

    def find_template(self, name: str, spec_path: Path, subdir: str = "") -> Path | None:
        """A template by name (``etl-base``) on the template dirs, or by path relative to the spec."""
        candidates: list[Path] = []
        if name.endswith(SPEC_SUFFIXES) or "/" in name:
            candidates.append(spec_path.parent / name)
        for folder in self.template_dirs:
            base = folder / subdir if subdir else folder
            candidates += [base / f"{name}.yaml", base / f"{name}.yml", base / name]
        return next((c for c in candidates if c.is_file()), None)

    def template_names(self, subdir: str = "") -> list[str]:
        """The names ``find_template`` knows in ``subdir`` of the template dirs (for did-you-mean)."""
        folders = [folder / subdir if subdir else folder for folder in self.template_dirs]
        return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.iterdir()
                       if p.suffix in (".yaml", ".yml") and p.is_file()})

    # --- one spec --------------------------------------------------------------------------------

    def __post_init__(self) -> None:
        self.root = Path(os.path.abspath(self.root))

    def load(self, path: Path) -> tuple[list[LoadedSpec], list[Diagnostic]]:
        """All DAG specs one file defines (one, or one per instance), and every problem found."""
        path = Path(os.path.abspath(path))
        doc, diags = self.read(path)
        if doc is None:
            return [], list(diags)
        diagnostics: list[Diagnostic] = []
        layers: list[tuple[dict[str, Any], SourceMap]] = []
        inputs: list[str] = []
        self._used = []
        self._secrets: list[tuple[str, str]] = []
        included: list[tuple[dict[str, Any], SourceMap]] = []
        if self.expand is not None and ("jobs" in doc.data or "workflow_template" in doc.data):
            doc, included = self.expand(self, doc, path, diagnostics, inputs)
            if doc is None:
                return [], diagnostics
        for default_path in self.defaults_for(path):
            d_doc, d_diags = self.read_input(default_path)
            diagnostics += d_diags
            if d_doc is not None:
                layer = {k: v for k, v in d_doc.data.items() if k not in ("dag_id", "instances", "tasks")}
                layers.append((layer, d_doc.source))
                inputs.append(d_doc.text)
        layers += self._template_layers(doc, path, diagnostics, inputs, seen=(path,))
        layers += included
        layers.append((doc.data, doc.source))
        inputs.append(doc.text)
        if any(d.severity == "error" for d in diagnostics):
            return [], diagnostics
        merged, source = merge_layers(layers)
        merged.pop("extends", None)
        self._cluster_profiles(merged, source, path, diagnostics)
        spec_hash = hashlib.sha256("\0".join(inputs).encode()).hexdigest()
        instances = merged.pop("instances", None)
        over = self.budget.check_tasks(merged.get("tasks"), source)  # before any task costs anything
        if not over and isinstance(instances, list):
            over = self.budget.check_instances(instances, merged.get("tasks"), source)
        if over:
            return [], diagnostics + over
        results: list[LoadedSpec] = []
        if instances is None:
            results += self._finish(merged, source, path, doc.text, spec_hash, {}, diagnostics, inputs)
        elif not isinstance(instances, list) or not instances:
            loc = source.find(("instances",))
            diagnostics.append(Diagnostic("DSP011", "`instances` must be a non-empty list", loc.file, loc.line, loc.column,
                                          "write `instances: [{dag_id: sales_eu, vars: {region: eu}}]`"))
        else:
            for index, instance in enumerate(instances):
                results += self._instance(merged, source, path, doc.text, spec_hash, index, instance, diagnostics, inputs)
        return results, redact_diagnostics(diagnostics, self._secrets)

    def _template_layers(self, doc: YamlDocument, path: Path, diagnostics: list[Diagnostic], inputs: list[str],
                         seen: tuple[Path, ...]) -> list[tuple[dict[str, Any], SourceMap]]:
        extends = doc.data.get("extends")
        if extends is None:
            extends = []
        if isinstance(extends, str):
            extends = [extends]
        layers: list[tuple[dict[str, Any], SourceMap]] = []
        if not isinstance(extends, list) or not all(isinstance(name, str) for name in extends):
            loc = doc.source.find(("extends",))
            diagnostics.append(Diagnostic("DSP011", "`extends` takes a template name or a list of template names",
                                          loc.file, loc.line, loc.column, "write `extends: etl-base` or "
                                          "`extends: [etl-base, alerts]`"))
            return layers
        for i, name in enumerate(extends if isinstance(extends, list) else []):
            loc = doc.source.find(("extends", i) if isinstance(doc.data.get("extends"), list) else ("extends",))
            found = self.find_template(str(name), path)
            if found is None:
                dirs = ", ".join(self.display(d) for d in self.template_dirs) or "(none configured)"
                close = did_you_mean(str(name), self.template_names())
                diagnostics.append(Diagnostic("DSP051", f"template `{name}` not found", loc.file, loc.line, loc.column,
                                              f"{close} " * bool(close) + f"templates are looked up in: {dirs}"))
                continue
            found = Path(os.path.abspath(found))
            outside = self.refused(str(name), found, loc)
            if outside is not None:
                diagnostics.append(outside)
                continue
            if found in seen:
                chain = " -> ".join(p.stem for p in (*seen, found))
                diagnostics.append(Diagnostic("DSP051", f"templates extend each other in a cycle: {chain}",
                                              loc.file, loc.line, loc.column, "remove one of the `extends`"))
                continue
            t_doc, t_diags = self.read_input(found)
            diagnostics += t_diags
            if t_doc is None:
                continue
            layers += self._template_layers(t_doc, found, diagnostics, inputs, seen + (found,))
            layers.append(({k: v for k, v in t_doc.data.items() if k != "extends"}, t_doc.source))
            inputs.append(t_doc.text)
        return layers

    def _cluster_profiles(self, merged: dict[str, Any], source: SourceMap, path: Path,
                          diagnostics: list[Diagnostic]) -> None:
        """Replace ``clusters.X.extends: profile`` by the profile's values, overridden by X's own."""
        clusters = merged.get("clusters")
        if not isinstance(clusters, dict):
            return
        for key, cluster in clusters.items():
            if not isinstance(cluster, dict) or not cluster.get("extends"):
                continue
            name = str(cluster["extends"])
            found = self.find_template(name, path, subdir="clusters")
            loc = source.find(("clusters", key, "extends"))
            if found is None:
                close = did_you_mean(name, self.template_names("clusters"))
                diagnostics.append(Diagnostic("DSP051", f"cluster profile `{name}` not found", loc.file, loc.line,
                                              loc.column, f"{close} " * bool(close) +
                                              "profiles live in templates/clusters/NAME.yaml"))
                continue
            outside = self.refused(name, found, loc)
            if outside is not None:
                diagnostics.append(outside)
                continue
            p_doc, p_diags = self.read_input(found)
            diagnostics += p_diags
            if p_doc is None:
                continue
            profile = {k: v for k, v in p_doc.data.items() if k not in ("description",)}
            combined, _ = merge_layers([(profile, p_doc.source), ({k: v for k, v in cluster.items() if k != "extends"}, source)])
            clusters[key] = combined

    def _instance(self, merged: dict[str, Any], source: SourceMap, path: Path, text: str, spec_hash: str,
                  index: int, instance: Any, diagnostics: list[Diagnostic], inputs: list[str]) -> list[LoadedSpec]:
        loc = source.find(("instances", index))
        if not isinstance(instance, dict) or not isinstance(instance.get("dag_id"), str):
            diagnostics.append(Diagnostic("DSP011", "each instance needs a `dag_id`", loc.file, loc.line, loc.column,
                                          "write `- {dag_id: sales_eu, vars: {region: eu}}`"))
            return []
        allowed = {"dag_id", "vars", "description", "tags", "schedule", "params"}
        for key in instance:
            if key not in allowed:
                k_loc = source.find(("instances", index, key), key=True)
                hint = did_you_mean(key, allowed) or f"allowed: {', '.join(sorted(allowed))}"
                diagnostics.append(Diagnostic("DSP010", f"unknown instance key `{key}`", k_loc.file, k_loc.line,
                                              k_loc.column, hint))
        overlay = {k: v for k, v in instance.items() if k in allowed and k != "vars"}
        data, _ = merge_layers([(merged, source), (overlay, source)])
        own = _vars_mapping(instance.get("vars"), source, ("instances", index, "vars"), diagnostics)
        base = _vars_mapping(merged.get("vars"), source, ("vars",), diagnostics)
        if own is None or base is None:
            return []
        variables = {**base, **own}
        return self._finish(data, source, path, text, hashlib.sha256(f"{spec_hash}:{index}".encode()).hexdigest(),
                            variables, diagnostics, inputs)

    def _finish(self, data: dict[str, Any], source: SourceMap, path: Path, text: str, spec_hash: str,
                variables: Mapping[str, Any], diagnostics: list[Diagnostic], inputs: list[str]) -> list[LoadedSpec]:
        dag_id = data.get("dag_id") or path.stem
        spec_ns = {"dag_id": str(dag_id), "dir": str(path.parent), "file": str(path)}
        before = len(diagnostics)
        own = _vars_mapping(data.get("vars"), source, ("vars",), diagnostics) if not variables else {}
        if own is None:
            return []
        raw_vars = {**own, **variables}
        variables = {}
        env = EnvTable(self.env, self.allowed_env)
        secrets: list[tuple[str, str]] = []

        def on_secret(name: str, value: str) -> None:
            secrets.append((name, value))
            self._secrets.append((name, value))

        for name, value in raw_vars.items():  # a variable may use env, spec and the variables before it
            variables[name] = resolve_variables(value, source, {"env": env, "var": variables, "spec": spec_ns},
                                                diagnostics, ("vars", name), on_secret)
        resolved = resolve_variables(
            {k: v for k, v in data.items() if k != "vars"},
            source,
            {"env": env, "var": variables, "spec": spec_ns},
            diagnostics,
            on_secret=on_secret,
        )
        if len(diagnostics) > before:
            return []
        resolved["dag_id"] = str(resolved.get("dag_id") or path.stem)
        partial = False
        try:
            spec = Spec.model_validate(resolved)
        except ValidationError as exc:
            diagnostics += validation_diagnostics(exc, resolved, source)
            # go on with the invalid parts replaced, so that one run reports every problem
            try:
                spec = Spec.model_validate(pruned(resolved, exc))
            except ValidationError:
                return []
            partial = True
        return [LoadedSpec(spec.dag_id or path.stem, self.display(path), spec, source, text, spec_hash,
                           tuple(inputs), partial, path, tuple(self._used), self.watch_dirs(path),
                           tuple(dict.fromkeys(secrets)), self.roots)]

    def watch_dirs(self, spec_path: Path) -> tuple[str, ...]:
        """Folders whose contents decide what the spec compiles to (defaults chain, template dirs)."""
        folders = [str(spec_path.parent)]
        folder = spec_path.parent
        while folder != self.root and self.root in folder.parents:
            folder = folder.parent
            folders.append(str(folder))
        folders += [str(d) for d in self.template_dirs]
        folders += [str(d / "clusters") for d in self.template_dirs if (d / "clusters").is_dir()]
        return tuple(folders)


def _vars_mapping(value: Any, source: SourceMap, path: YamlPath, diagnostics: list[Diagnostic]) -> dict[str, Any] | None:
    """``vars`` as a mapping (empty when unset), or None after a diagnostic at it."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    loc = source.find(path)
    diagnostics.append(Diagnostic("DSP011", f"`vars` must be a mapping of names to values, not {type(value).__name__}",
                                  loc.file, loc.line, loc.column, "write `vars: {region: eu, bucket: gs://data}`"))
    return None

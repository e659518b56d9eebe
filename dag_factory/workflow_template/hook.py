"""The spec loader's entry into workflow templates: a template file read as a spec, and ``workflow_template:``.

``SpecLoader.load`` calls ``expand_template`` (given as its ``expand`` by ``compile.api``) for a
document that has ``jobs`` or ``workflow_template``:

- a document that *is* a Dataproc workflow template (``jobs`` items with ``stepId``) is replaced by
  the spec it converts to; the DAG is named after the file (like any spec), not the template ``id``,
  so Airflow's per-DAG parsing finds it by file name;
- ``workflow_template: path.yaml`` (relative to the spec) adds the template's spec as a layer under
  the spec: its params, timeout, cluster and step tasks, which the spec may extend or override (a
  spec task can ``depends_on`` a step, the spec's ``clusters.<name>.config`` wins ...).

Positions in both cases point into the template file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, has_errors
from ..spec.load import SpecLoader
from ..spec.yaml_source import SourceMap, YamlDocument
from .positions import source_for
from .to_spec import is_workflow_template, template_to_spec

__all__ = ["expand_template", "convert_document"]


def convert_document(doc: YamlDocument, *, use_id: bool = False) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """The spec document a template document converts to (None when the template has errors)."""
    converted = template_to_spec(doc.data, doc.source, use_id=use_id)
    if has_errors(converted.diagnostics):
        return None, converted.diagnostics
    source = source_for(converted.data, converted.origins, doc.source, doc.data)
    return YamlDocument(converted.data, source, doc.text), converted.diagnostics


def expand_template(loader: SpecLoader, doc: YamlDocument, path: Path, diagnostics: list[Diagnostic],
                    inputs: list[str]) -> tuple[YamlDocument | None, list[tuple[dict[str, Any], SourceMap]]]:
    """(the document to load as the spec, extra layers under it); None when the spec cannot load."""
    if is_workflow_template(doc.data):
        spec_doc, diags = convert_document(doc)
        diagnostics += diags
        return spec_doc, []
    name = doc.data.get("workflow_template")
    if name is None:
        return doc, []
    where = doc.source.find(("workflow_template",))
    if not isinstance(name, str) or not name:
        diagnostics.append(Diagnostic("DSP080", "`workflow_template` must be the path of a template file",
                                      where.file, where.line, where.column, "write `workflow_template: etl.wft.yaml`"))
        return None, []
    found = Path(os.path.abspath(path.parent / name))
    outside = loader.refused(name, found, where)
    if outside is not None:
        diagnostics.append(outside)
        return None, []
    if not found.is_file():
        diagnostics.append(Diagnostic("DSP080", f"workflow template `{name}` not found", where.file, where.line,
                                      where.column, f"the path is relative to the spec's folder ({loader.display(path.parent)})"))
        return None, []
    t_doc, t_diags = loader.read_input(found)
    diagnostics += t_diags
    if t_doc is None:
        return None, []
    if not is_workflow_template(t_doc.data):
        diagnostics.append(Diagnostic("DSP080", f"`{name}` is not a Dataproc workflow template (no `jobs` with "
                                      "`stepId`)", where.file, where.line, where.column))
        return None, []
    spec_doc, diags = convert_document(t_doc)
    diagnostics += diags
    if spec_doc is None:
        return None, []
    inputs.append(t_doc.text)
    layer = {k: v for k, v in spec_doc.data.items() if k != "dag_id"}
    return doc, [(layer, spec_doc.source)]

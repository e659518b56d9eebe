"""Dataproc Workflow Templates <-> dagspec specs: import, export, and the spec loader's template hook."""

from __future__ import annotations

__all__ = ["template_to_spec", "is_workflow_template", "export_plan", "Converted", "Exported"]

from .export import Exported, export_plan
from .to_spec import Converted, is_workflow_template, template_to_spec

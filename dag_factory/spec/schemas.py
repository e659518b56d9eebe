"""The JSON Schemas of the five kinds of dagspec YAML files, generated from the spec models for editors.

- ``spec``: a file in the dag folder: a spec, or a Dataproc workflow template (a file with ``jobs``);
- ``defaults``: a ``_defaults.yaml`` (a spec layer without ``dag_id``, ``instances`` and ``tasks``);
- ``template``: a spec template in ``templates/`` (a spec layer: keys optional, tasks may omit their
  action to change only options, ``null`` removes what a farther layer set);
- ``profile``: a cluster profile in ``templates/clusters/`` (an ephemeral cluster layer + ``description``);
- ``workflow-template``: a Dataproc workflow template (camelCase or snake_case keys).

Shorthands come from the models' ``Shorthand`` annotations (``spec/shorthand.py``); a value that is
exactly ``${var.NAME}`` is accepted wherever a number, boolean or list is, since it takes the
variable's value. ``VSCODE_MAPPING`` is the one ``yaml.schemas`` setting the README and ``--help`` show.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from . import dataproc_schema
from . import models as m
from .shorthand import VAR_REF

__all__ = ["KINDS", "build", "VSCODE_MAPPING", "FILE_NAMES", "SCHEMA_DIR", "vscode_mapping"]

KINDS = ("spec", "defaults", "template", "profile", "workflow-template")
FILE_NAMES = {kind: f"{kind}.schema.json" for kind in KINDS}
SCHEMA_DIR = ".dagspec"


def vscode_mapping(dags: str = "dags", templates: str = "templates") -> dict[str, list[str]]:
    """The VS Code ``yaml.schemas`` setting for a project whose dag folder and templates folder are at
    ``dags`` and ``templates`` (``/``-separated, relative to the project root; ``""``: the root itself)."""
    top = f"{dags}/" if dags else ""
    spec = [f"{top}**/*.yaml", f"!{top}**/_defaults.yaml"]
    if templates == f"{top}templates":  # templates inside the dag folder: not specs
        spec.append(f"!{templates}/**")
    return {
        f"./{SCHEMA_DIR}/spec.schema.json": spec,
        f"./{SCHEMA_DIR}/defaults.schema.json": [f"{top}**/_defaults.yaml"],
        f"./{SCHEMA_DIR}/template.schema.json": [f"{templates}/*.yaml"],
        f"./{SCHEMA_DIR}/profile.schema.json": [f"{templates}/clusters/*.yaml"],
    }


VSCODE_MAPPING: dict[str, list[str]] = vscode_mapping()
_VAR = {"type": "string", "pattern": VAR_REF, "description": "a value holding `${var.NAME}` or `${env.NAME}`"}
_DEFAULTS_SKIP = ("dag_id", "instances", "tasks")


class _SpecSchema(GenerateJsonSchema):
    """Pydantic's generator, plus: ``${var.NAME}`` where numbers, booleans and lists are taken."""

    def int_schema(self, schema: core_schema.IntSchema) -> JsonSchemaValue:
        return {"anyOf": [super().int_schema(schema), _VAR]}

    def float_schema(self, schema: core_schema.FloatSchema) -> JsonSchemaValue:
        return {"anyOf": [super().float_schema(schema), _VAR]}

    def bool_schema(self, schema: core_schema.BoolSchema) -> JsonSchemaValue:
        return {"anyOf": [super().bool_schema(schema), _VAR]}

    def list_schema(self, schema: core_schema.ListSchema) -> JsonSchemaValue:
        return {"anyOf": [super().list_schema(schema), _VAR]}

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        out = super().tagged_union_schema(schema)
        if "oneOf" in out and any(choice == {} for choice in out["oneOf"]):  # a choice taking any value
            out["anyOf"] = out.pop("oneOf")
            out.pop("discriminator", None)
        return out


class _LayerSchema(_SpecSchema):
    """A layer merged under a spec (template, defaults, profile): every key optional, ``null`` removes a
    key, and a task may leave out its action (then it only changes options of the task of that id)."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        return False

    def model_field_schema(self, schema: core_schema.ModelField) -> JsonSchemaValue:
        return {"anyOf": [super().model_field_schema(schema), {"type": "null"}]}

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        out = super().tagged_union_schema(schema)
        if "oneOf" in out:  # without required keys, an options-only task fits several task kinds
            out["anyOf"] = out.pop("oneOf")
            out.pop("discriminator", None)
        return out


def _model_schema(model: type[BaseModel], generator: type[GenerateJsonSchema]) -> dict[str, Any]:
    data = model.model_json_schema(schema_generator=generator)
    defs = data.setdefault("$defs", {})
    for target in (data, *list(defs.values())):
        for name, prop in target.get("properties", {}).items():
            message = _pop_marker(prop)
            if message:
                defs.update(dataproc_schema.json_schema(message))
                target["properties"][name] = {"$ref": f"#/$defs/dataproc.{message}", "description": prop.get("description", "")}
    return data


def _pop_marker(prop: dict[str, Any]) -> str | None:
    message = prop.pop("x-dataproc-message", None)
    for option in prop.get("anyOf", ()):
        message = option.pop("x-dataproc-message", None) or message
    return message


def _drop(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    for key in keys:
        data["properties"].pop(key, None)
    return data


def _workflow_template() -> dict[str, Any]:
    """Dataproc's WorkflowTemplate, restricted to the keys the importer reads, in both key spellings."""
    from ..workflow_template.names import IGNORED_TEMPLATE_KEYS, STEP_KEYS, TEMPLATE_KEYS, snake

    defs = dataproc_schema.json_schema("WorkflowTemplate", both_cases=True)
    top = defs["dataproc-any-case.WorkflowTemplate"]
    keep = {*TEMPLATE_KEYS, *IGNORED_TEMPLATE_KEYS}
    top["properties"] = {k: v for k, v in top["properties"].items() if snake(k) in keep}
    top["required"] = ["jobs"]
    job = defs["dataproc-any-case.OrderedJob"]
    job["properties"] = {k: v for k, v in job["properties"].items() if snake(k) in STEP_KEYS}
    job["anyOf"] = [{"required": ["stepId"]}, {"required": ["step_id"]}]
    return {"$ref": "#/$defs/dataproc-any-case.WorkflowTemplate", "$defs": defs}


def build(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one kind of file (a copy of its own: the caller may change it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown schema kind `{kind}`; one of {', '.join(KINDS)}")
    return copy.deepcopy(_built(kind))


@functools.cache  # pydantic takes about half a second per model; the models never change in a process
def _built(kind: str) -> dict[str, Any]:
    if kind == "workflow-template":
        data = _workflow_template()
    elif kind == "spec":
        spec = _model_schema(m.Spec, _SpecSchema)
        wft = _workflow_template()
        defs = {**spec.pop("$defs"), **wft["$defs"]}
        defs["Spec"] = spec
        data = {"if": {"required": ["jobs"]}, "then": {"$ref": wft["$ref"]}, "else": {"$ref": "#/$defs/Spec"},
                "$defs": defs}
    elif kind == "profile":
        data = _drop(_model_schema(m.EphemeralCluster, _LayerSchema), ("extends",))
        data["properties"]["description"] = {"type": "string", "description": "what the profile is for (not used)"}
    else:
        data = _model_schema(m.Spec, _LayerSchema)
        if kind == "defaults":
            _drop(data, _DEFAULTS_SKIP)
    titles = {"spec": "dagspec spec (or a Dataproc workflow template)", "defaults": "dagspec _defaults.yaml",
              "template": "dagspec spec template", "profile": "dagspec cluster profile",
              "workflow-template": "Dataproc workflow template (dagspec import)"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": titles[kind], **data}

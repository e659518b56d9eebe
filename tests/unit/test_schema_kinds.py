"""The editor schemas accept every spec, default, template, profile and workflow template `validate` accepts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from dagspec.dag_factory.spec import schemas
from dagspec.dag_factory.spec.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "specs"

# YAML blocks of the docs that are not dagspec files, each with the reason (block index in its page)
NOT_SPECS = {
    ("docs/migrating-from-dag-factory.md", 0): "dag-factory input, the file the migration starts from",
}
# bad fixtures whose mistake a JSON Schema can express (the others need the compiler: cycles, imports ...)
EXPRESSIBLE_BAD = [
    "bad_duration.yaml", "dataproc_unknown_field.yaml", "dataproc_workflow_template.yaml",
    "dataproc_wrong_value.yaml", "limits_extends_number.yaml", "limits_instance_vars_list.yaml",
    "limits_vars_not_mapping.yaml", "no_action.yaml", "unknown_key.yaml", "wrong_type.yaml",
    "value_errors_together.yaml", "misplaced_cluster.yaml", "misplaced_depends_on.yaml", "operator_typo.yaml",
]


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Draft202012Validator]:
    return {kind: jsonschema.Draft202012Validator(schemas.build(kind)) for kind in schemas.KINDS}


def _plain(value: Any) -> Any:
    """Dates as the text an editor sees (the YAML extension validates the scalar, not a date object)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _data(text: str, name: str) -> Any:
    doc, diags = load_yaml(text, name)
    assert doc is not None, diags
    return _plain(doc.data)


def kind_of(path: Path) -> str:
    """The kind the VS Code mapping gives a file (``schemas.VSCODE_MAPPING``)."""
    if path.name == "_defaults.yaml":
        return "defaults"
    if path.parent.name == "clusters" and path.parent.parent.name == "templates":
        return "profile"
    if path.parent.name == "templates":
        return "template"
    return "spec"


def shipped_files() -> list[Path]:
    found = [p for base in (ROOT / "dags", ROOT / "templates", FIXTURES / "good", FIXTURES / "templates")
             for p in sorted(base.rglob("*.yaml"))]
    return [p for p in found if "data" not in p.relative_to(ROOT).parts]


def _errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in validator.iter_errors(data)]


def test_every_schema_is_valid_json_schema():
    for kind in schemas.KINDS:
        jsonschema.Draft202012Validator.check_schema(schemas.build(kind))


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_spec_template_and_profile_fits_its_schema(path, validators):
    data = _data(path.read_text(encoding="utf-8"), str(path))
    assert _errors(validators[kind_of(path)], data) == []


def doc_blocks() -> list[tuple[str, int, str]]:
    out = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        blocks = re.findall(r"^```ya?ml\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)
        out += [(str(page.relative_to(ROOT)), i, text) for i, text in enumerate(blocks)]
    return out


@pytest.mark.parametrize("page,index,text", doc_blocks(), ids=lambda v: str(v)[:40])
def test_every_yaml_block_of_the_docs_is_a_valid_spec_unless_marked(page, index, text, validators):
    if (page, index) in NOT_SPECS:
        pytest.skip(NOT_SPECS[(page, index)])
    assert _errors(validators["spec"], _data(text, page)) == []


@pytest.mark.parametrize("name", EXPRESSIBLE_BAD)
def test_bad_fixtures_a_schema_can_express_are_rejected(name, validators):
    data = _data((FIXTURES / "bad" / name).read_text(encoding="utf-8"), name)
    assert _errors(validators["spec"], data) != []


@pytest.mark.parametrize("text", [
    "tasks: {a: {bash: echo hi}}",
    "tasks: {a: {empty: true}, b: {empty: true, depends_on: a}}",
    "default_args: {retry_delay: 1m, max_retry_delay: 15m, execution_timeout: PT1H}",
    "extends: etl-base",
    "schedule: {every: 6h}",
    "tasks: {a: {python: mycompany.jobs.run, on_failure_callback: mycompany.alerts.page}}",
    "tasks: {a: {pyspark: job.py, cluster: c}}\nclusters: {c: {extends: single-node}}",
    "vars: {n: 3}\ndefault_args: {retries: '${var.n}'}",
])
def test_each_shorthand_is_accepted_where_validate_accepts_it(text, validators):
    assert _errors(validators["spec"], _data(text, "t.yaml")) == []


@pytest.mark.parametrize("text", [
    "default_args: {retry_delay: 5 minutes}",
    "tasks: {a: {bash: 3}}",
    "tasks: {a: {retries: 1}}",
    "default_args: {trigger_rule: all_sucess}",
])
def test_wrong_short_forms_are_still_rejected(text, validators):
    assert _errors(validators["spec"], _data(text, "t.yaml")) != []


def test_a_template_task_may_only_change_options_but_a_spec_task_needs_an_action(validators):
    data = _data("tasks: {clean: {retries: 5}}\ncatchup: null", "t.yaml")
    assert _errors(validators["template"], data) == []
    assert _errors(validators["spec"], data) != []


def test_a_profile_is_checked_against_dataprocs_cluster_config(validators):
    assert _errors(validators["profile"], _data("description: x\nconfig: {master_config: {num_instances: 1}}", "p")) == []
    assert _errors(validators["profile"], _data("config: {master_confg: {}}", "p")) != []


def test_a_workflow_template_takes_camel_or_snake_case(validators):
    camel = "jobs: [{stepId: a, pysparkJob: {mainPythonFileUri: gs://b/a.py}}]\ndagTimeout: 600s"
    snake = "jobs: [{step_id: a, pyspark_job: {main_python_file_uri: gs://b/a.py}}]"
    for text in (camel, snake):
        assert _errors(validators["workflow-template"], _data(text, "w")) == []
    assert _errors(validators["workflow-template"], _data("jobs: [{stepId: a, pysparkJob: {mainFile: x}}]", "w")) != []


def test_the_readme_shows_the_one_mapping_that_schema_help_prints():
    import json

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r'```json\n(\{\n  "yaml.schemas".*?)```', readme, re.S)
    assert block is not None
    assert json.loads(block.group(1)) == {"yaml.schemas": schemas.VSCODE_MAPPING}


def test_a_specs_cluster_config_stays_snake_case_while_a_workflow_template_takes_camel_case(validators):
    spec = "clusters: {c: {config: {masterConfig: {numInstances: 1}}}}"
    assert _errors(validators["spec"], _data(spec, "s")) != []
    template = "jobs: [{stepId: a, pysparkJob: {mainPythonFileUri: x.py}}]\nplacement: {managedCluster: " \
               "{clusterName: c, config: {masterConfig: {numInstances: 1}}}}"
    assert _errors(validators["spec"], _data(template, "w")) == []


def test_a_callback_written_alone_must_still_be_a_path_or_a_notifier(validators):
    assert _errors(validators["spec"], _data("default_args: {on_failure_callback: mycompany.alerts.page}", "s")) == []
    assert _errors(validators["spec"], _data("default_args: {on_failure_callback: 3}", "s")) != []
    assert _errors(validators["spec"], _data("default_args: {on_failure_callback: {notifer: x}}", "s")) != []

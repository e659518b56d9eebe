"""Workflow templates: step ids, parameter names and managed cluster prefixes per Dataproc; regexes match whole values.

References: google-cloud-dataproc ``types/workflow_templates.py`` (REST:
https://cloud.google.com/dataproc/docs/reference/rest/v1/projects.regions.workflowTemplates):
``OrderedJob.step_id`` "letters (a-z, A-Z), numbers (0-9), underscores (_), and hyphens (-). Cannot begin or
end with underscore or hyphen. Must consist of between 3 and 50 characters"; ``TemplateParameter.name``
"only capital letters (A-Z), numbers (0-9), and underscores (_), and must not start with a number. The maximum
length is 40 characters"; ``ManagedCluster.cluster_name`` "Must consist of between 2 and 35 characters";
``RegexValidation.regexes`` "the value must match the regex in its entirety (substring matches are not
sufficient)".
"""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d

from .kit import PARENT, PROJECT, REGION, unique


def _job(clients, job_id: str) -> d.Job:
    return clients.jobs.get_job(project_id=PROJECT, region=REGION, job_id=job_id)


def _template(step_id: str = "clean", parameter: str = "DAY", prefix: str = "etl", regex: str = "[0-9]+") -> dict:
    return {"id": unique("tpl"),
            "placement": {"managed_cluster": {"cluster_name": prefix, "config": {}}},
            "jobs": [{"step_id": step_id, "pyspark_job": {"main_python_file_uri": "gs://b/clean.py", "args": ["1"]}}],
            "parameters": [{"name": parameter, "fields": [f"jobs['{step_id}'].pysparkJob.args[0]"],
                            "validation": {"regex": {"regexes": [regex]}}}]}


@pytest.mark.parametrize("step_id", ["ab", "a" * 51, "_clean", "clean-", "cle an"])
def test_step_ids_outside_dataproc_rules_are_refused(emu, emulator_clients, step_id):
    with pytest.raises(gexc.InvalidArgument, match="step id"):
        emulator_clients.workflows.create_workflow_template(parent=PARENT, template=_template(step_id=step_id))
    with pytest.raises(gexc.InvalidArgument, match="step id"):  # inline templates too
        emulator_clients.workflows.instantiate_inline_workflow_template(parent=PARENT,
                                                                        template=_template(step_id=step_id))


@pytest.mark.parametrize("name", ["day", "1DAY", "D" * 41, "RUN-DAY"])
def test_parameter_names_outside_dataproc_rules_are_refused(emu, emulator_clients, name):
    with pytest.raises(gexc.InvalidArgument, match="parameter name"):
        emulator_clients.workflows.create_workflow_template(parent=PARENT, template=_template(parameter=name))


@pytest.mark.parametrize("prefix", ["e", "a" * 36, "1etl", "etl-"])
def test_managed_cluster_prefixes_outside_dataproc_rules_are_refused(emu, emulator_clients, prefix):
    with pytest.raises(gexc.InvalidArgument, match="managed cluster name"):
        emulator_clients.workflows.create_workflow_template(parent=PARENT, template=_template(prefix=prefix))


def test_a_parameter_regex_must_match_the_whole_value(emu, emulator_clients, fast_polling):
    created = emulator_clients.workflows.create_workflow_template(parent=PARENT, template=_template(step_id="ab3"))
    for value in ("not-a-number", "12a", "a12"):
        with pytest.raises(gexc.InvalidArgument, match="DAY"):
            emulator_clients.workflows.instantiate_workflow_template(name=created.name, parameters={"DAY": value})
    accepted = emulator_clients.workflows.instantiate_workflow_template(name=created.name, parameters={"DAY": "42"})
    assert accepted.operation.name
    accepted.cancel()  # only the value was under test: end the workflow so that it leaves no job running
    with pytest.raises(gexc.GoogleAPICallError):  # cancelled (or failed first: gs://b/clean.py does not exist)
        accepted.result(polling=fast_polling)
    assert accepted.metadata.state == d.WorkflowMetadata.State.DONE
    for node in accepted.metadata.graph.nodes:  # a step that started has ended
        assert not node.job_id or _job(emulator_clients, node.job_id).done

"""The provider registers with Airflow (hooks, connection type and form, links, triggers) and imports cheaply."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)


def test_providers_manager_lists_the_provider_and_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager

    pm = ProvidersManager()
    assert "dagspec" in pm.providers
    assert pm.hooks["dagspec_gcp"].hook_class_name == "dagspec.provider.hooks.dataproc.DataprocHook"
    assert "extra__dagspec_gcp__keyfile_json" in pm.connection_form_widgets
    assert pm.connection_form_widgets["extra__dagspec_gcp__keyfile_json"].is_sensitive
    assert "extra" in pm.field_behaviours["dagspec_gcp"]["hidden_fields"]
    assert "dagspec.provider.links.dataproc.DataprocJobLink" in pm.extra_links_class_names
    assert any(t.package_name == "dagspec" for t in pm.trigger)


def test_provider_info_is_valid_against_airflows_schema() -> None:
    import importlib.resources

    import jsonschema
    from dagspec.provider import get_provider_info

    schema = json.loads((importlib.resources.files("airflow") / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_airflow_providers_list_cli_shows_it() -> None:
    out = subprocess.run([sys.executable, "-m", "airflow", "providers", "list", "-o", "json"], capture_output=True,
                         text=True, timeout=110, check=True).stdout
    assert any(p["package_name"] == "dagspec" for p in json.loads(out[out.index("["):]))


def test_importing_operators_does_not_import_google_clients_nor_openlineage() -> None:
    code = ("import sys, dagspec.provider.operators.cluster, dagspec.provider.operators.job, "
            "dagspec.provider.operators.workflow, "
            "dagspec.provider.triggers.dataproc, dagspec.provider.links.dataproc, dagspec.provider; "
            "dagspec.provider.get_provider_info(); "
            "print(sorted(m for m in sys.modules if m.startswith(('google.cloud', 'grpc', 'google.auth', 'openlineage',"
            " 'airflow.providers.openlineage.plugins', 'airflow.providers.openlineage.conf'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_operators_store_fields_only_and_template_them() -> None:
    from dagspec.provider.operators.cluster import DataprocCreateClusterOperator
    from dagspec.provider.operators.job import DataprocSubmitJobOperator

    op = DataprocSubmitJobOperator(task_id="t", job={"pyspark_job": {"main_python_file_uri": "a.py"}}, cluster="main")
    assert op.deferrable is None and "job" in op.template_fields and "cluster" in op.template_fields
    assert op._hook is None
    create = DataprocCreateClusterOperator(task_id="c", cluster="main", cluster_config={})
    assert (create.idle_delete_ttl, create.auto_delete_ttl, create.on_error) == (1800, 14400, "recreate")


def test_deferrable_defaults_to_the_dagspec_config(monkeypatch) -> None:
    from dagspec.provider.operators.job import DataprocSubmitJobOperator

    op = DataprocSubmitJobOperator(task_id="t", job={}, cluster="main")
    monkeypatch.delenv("AIRFLOW__DAGSPEC__DEFAULT_DEFERRABLE", raising=False)
    assert op.should_defer() is True
    monkeypatch.setenv("AIRFLOW__DAGSPEC__DEFAULT_DEFERRABLE", "False")
    assert op.should_defer() is False
    op.deferrable = True
    assert op.should_defer() is True

"""On Airflow 3.3 (no ``airflow.sdk.importers``) the importer module imports cleanly, says what it
needs when used, and the loader file keeps working as before."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("airflow.sdk.importers") is not None:
    pytest.skip("Airflow has DAG importers here (3.4+): tests/importer/test_dag_importer.py covers it",
                allow_module_level=True)


def test_the_importer_module_imports_on_airflow_33_and_refuses_to_run_with_a_clear_message() -> None:
    from dagspec.dag_factory.airflow import importer

    assert importer.HAS_DAG_IMPORTERS is False
    assert importer.yaml_importer_kind("dags-folder") is None
    with pytest.raises(RuntimeError, match="needs Airflow 3.4 or later.*use the loader file"):
        importer.DagspecImporter()

"""dagspec.provider: the Airflow provider for Google Cloud Dataproc with ephemeral clusters."""

from __future__ import annotations

__all__ = ["get_provider_info"]

__version__ = "0.1.0"

_P = "dagspec.provider"
_INTEGRATION = "dagspec Dataproc"


def get_provider_info() -> dict:
    """Describe this provider to Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

    Kept import-free: the connection form is declared here (``conn-fields``), so listing providers
    never imports the hook or Google libraries.
    """
    # lazy: listing providers must stay import-free (see above)
    from .hooks.settings import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR

    return {
        "package-name": "dagspec",
        "name": "dagspec Dataproc",
        "description": "Google Cloud Dataproc jobs on ephemeral clusters, for dagspec specs.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": _INTEGRATION, "external-doc-url": "https://cloud.google.com/dataproc/docs",
             "tags": ["gcp"]},
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_P}.hooks.dataproc", f"{_P}.hooks.workflow"]}],
        "operators": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_P}.operators.cluster", f"{_P}.operators.job",
                                                         f"{_P}.operators.gcs", f"{_P}.operators.workflow"]},
        ],
        "triggers": [{"integration-name": _INTEGRATION, "python-modules": [f"{_P}.triggers.dataproc",
                                                                                 f"{_P}.triggers.workflow"]}],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": f"{_P}.hooks.dataproc.DataprocHook",
                "hook-name": "dagspec Google Cloud (Dataproc)",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "extra-links": [
            f"{_P}.links.dataproc.DataprocClusterLink",
            f"{_P}.links.dataproc.DataprocJobLink",
            f"{_P}.links.dataproc.DataprocBatchLink",
        ],
        "config": {
            "dagspec": {
                "description": "Defaults of the dagspec Dataproc operators.",
                "options": {
                    "default_deferrable": {
                        "description": "Whether dagspec operators defer to the triggerer while waiting (their "
                        "`deferrable` argument overrides it).",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "False",
                        "default": "True",
                    },
                    "end_from_trigger": {
                        "description": "Whether a deferred wait that succeeds ends the task in the triggerer "
                        "(TaskSuccessEvent with the operator's XComs) instead of resuming it on a worker. Needs "
                        "Airflow 2.10+; off while OpenLineage is enabled (its complete event is sent by a worker). "
                        "Failures always resume on a worker.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "False",
                        "default": "True",
                    },
                },
            },
        },
    }

"""dagspec.provider: the Airflow provider for Google Cloud Dataproc with ephemeral clusters."""

from __future__ import annotations

__all__ = ["get_provider_info"]

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Describe this provider to Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "dagspec",
        "name": "dagspec Dataproc",
        "description": "Google Cloud Dataproc jobs on ephemeral clusters, for dagspec specs.",
        "versions": [__version__],
    }

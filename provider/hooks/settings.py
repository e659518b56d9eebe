"""Where and as whom the provider talks to Google: settings resolved from a connection and the environment.

Pure: takes the connection's extras (or None when the connection does not exist) and the process
environment, returns a frozen ``GcpSettings``. Precedence: operator arguments, then the emulator
environment variables (for endpoints), then the connection, then ``DAGSPEC_GCP_PROJECT`` /
``DAGSPEC_GCP_REGION``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = ["CONN_TYPE", "DEFAULT_CONN_ID", "CONN_FIELDS", "UI_FIELD_BEHAVIOUR", "GcpSettings", "resolve_settings"]

CONN_TYPE = "dagspec_gcp"
DEFAULT_CONN_ID = "dagspec_gcp_default"
LOCAL_PROJECT = "local-project"
LOCAL_REGION = "local-region"
DEFAULT_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


def _field(label: str, description: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": [kind, "null"], **schema}}


# Declarative connection form (Airflow >= 3.2 reads these from provider info, no wtforms import).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "project": _field("Project ID", "Google Cloud project of the Dataproc resources"),
    "region": _field("Region", "Dataproc region, e.g. europe-west1"),
    "key_path": _field("Keyfile path", "Path to a service-account JSON key on the workers (else ADC)"),
    "keyfile_json": _field("Keyfile JSON", "Service-account JSON key content (else ADC)", format="password"),
    "impersonation_chain": _field(
        "Impersonate service account", "Service account to impersonate; a comma-separated chain ends with the target"
    ),
    "scopes": _field("Scopes", "Comma-separated OAuth scopes (default cloud-platform)"),
    "dataproc_endpoint": _field(
        "Dataproc endpoint", "host:port of the Dataproc API (default <region>-dataproc.googleapis.com:443)"
    ),
    "insecure": _field("Insecure channel", "Plain-text gRPC to the Dataproc endpoint (local emulator only)", "boolean",
                       default=False),
    "storage_endpoint": _field("Storage endpoint", "URL of the Cloud Storage API (e.g. an emulator)"),
}
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "login", "password", "port", "extra"],
    "relabeling": {},
    "placeholders": {"project": "my-project", "region": "europe-west1", "dataproc_endpoint": "127.0.0.1:8123"},
}


@dataclass(frozen=True)
class GcpSettings:
    """Resolved client settings; ``emulated`` means no credentials are needed for Dataproc."""

    project: str
    region: str
    dataproc_endpoint: str | None = None
    insecure: bool = False
    storage_endpoint: str | None = None
    storage_emulated: bool = False
    key_path: str | None = None
    keyfile_json: str | None = None
    impersonation_chain: tuple[str, ...] = ()
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    @property
    def emulated(self) -> bool:
        return self.insecure and self.dataproc_endpoint is not None


def _get(extras: Mapping[str, Any], name: str) -> Any:
    """An extra by plain name, or by the ``extra__dagspec_gcp__<name>`` form older UIs store."""
    value = extras.get(name)
    if value in (None, ""):
        value = extras.get(f"extra__{CONN_TYPE}__{name}")
    return None if value == "" else value


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _split(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(i.strip() for i in items if str(i).strip())


def resolve_settings(
    extras: Mapping[str, Any] | None,
    env: Mapping[str, str],
    *,
    conn_id: str = DEFAULT_CONN_ID,
    project_id: str | None = None,
    region: str | None = None,
) -> GcpSettings:
    """Combine operator arguments, emulator env vars, connection extras (None: no connection) and defaults."""
    dataproc_host = env.get("DATAPROC_EMULATOR_HOST") or None
    storage_host = env.get("STORAGE_EMULATOR_HOST") or None
    if extras is None and not dataproc_host and not env.get("DAGSPEC_GCP_PROJECT"):
        raise ConfigurationError(
            f"connection {conn_id!r} does not exist; create it (type {CONN_TYPE}) or set DATAPROC_EMULATOR_HOST "
            "for the local emulator, or DAGSPEC_GCP_PROJECT/DAGSPEC_GCP_REGION to use application default credentials"
        )
    extras = extras or {}
    if isinstance(extras.get("keyfile_dict"), dict):  # tolerate the Google provider's spelling
        extras = {**extras, "keyfile_json": json.dumps(extras["keyfile_dict"])}
    local = dataproc_host is not None
    project = project_id or _get(extras, "project") or env.get("DAGSPEC_GCP_PROJECT") or (LOCAL_PROJECT if local else None)
    region_ = region or _get(extras, "region") or env.get("DAGSPEC_GCP_REGION") or (LOCAL_REGION if local else None)
    if not project or not region_:
        missing = " and ".join(n for n, v in (("project", project), ("region", region_)) if not v)
        raise ConfigurationError(f"no {missing} for connection {conn_id!r}: set it on the connection or the operator")
    if dataproc_host:
        endpoint, insecure = dataproc_host.removeprefix("http://"), True
    else:
        endpoint, insecure = _get(extras, "dataproc_endpoint"), _bool(_get(extras, "insecure"))
    storage = storage_host or _get(extras, "storage_endpoint")
    return GcpSettings(
        project=str(project),
        region=str(region_),
        dataproc_endpoint=endpoint,
        insecure=insecure,
        storage_endpoint=storage,
        storage_emulated=bool(storage_host) or (insecure and bool(storage)),
        key_path=_get(extras, "key_path"),
        keyfile_json=_get(extras, "keyfile_json"),
        impersonation_chain=_split(_get(extras, "impersonation_chain")),
        scopes=_split(_get(extras, "scopes")) or DEFAULT_SCOPES,
    )

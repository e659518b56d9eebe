"""The hook: settings from connections and the environment, credentials, error mapping and retries on the emulator."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from dagspec.provider import errors
from dagspec.provider.hooks.dataproc import DataprocHook
from dagspec.provider.hooks.settings import resolve_settings
from dagspec.provider.storage import DriverOutput, Stager

pytestmark = pytest.mark.timeout(120)


def test_settings_need_a_connection_outside_the_emulator() -> None:
    with pytest.raises(errors.ConfigurationError, match="does not exist"):
        resolve_settings(None, {})
    with pytest.raises(errors.ConfigurationError, match="region"):
        resolve_settings({"project": "p"}, {})


def test_settings_precedence() -> None:
    extras = {"project": "conn-p", "region": "europe-west1", "dataproc_endpoint": "dp.example:443",
              "extra__dagspec_gcp__impersonation_chain": "a@x.iam.gserviceaccount.com, b@x.iam.gserviceaccount.com"}
    s = resolve_settings(extras, {}, project_id="op-p")
    assert (s.project, s.region, s.dataproc_endpoint, s.insecure) == ("op-p", "europe-west1", "dp.example:443", False)
    assert s.impersonation_chain == ("a@x.iam.gserviceaccount.com", "b@x.iam.gserviceaccount.com")
    env = {"DATAPROC_EMULATOR_HOST": "127.0.0.1:1", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:2"}
    s = resolve_settings(extras, env)  # emulator env vars override the endpoints, not the project
    assert (s.project, s.dataproc_endpoint, s.insecure, s.storage_emulated) == ("conn-p", "127.0.0.1:1", True, True)
    s = resolve_settings(None, {**env, "DAGSPEC_GCP_REGION": "r9"})
    assert (s.project, s.region, s.emulated) == ("local-project", "r9", True)


def _service_account_info() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem,
            "client_email": "runner@p.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}


def test_credentials_from_key_json_and_impersonation(monkeypatch) -> None:
    from google.auth import impersonated_credentials

    info = _service_account_info()
    extras = {"project": "p", "region": "r", "keyfile_json": json.dumps(info),
              "impersonation_chain": "mid@p.iam.gserviceaccount.com,target@p.iam.gserviceaccount.com"}
    monkeypatch.setenv("AIRFLOW_CONN_DAGSPEC_KEYED", json.dumps({"conn_type": "dagspec_gcp", "extra": extras}))
    hook = DataprocHook("dagspec_keyed", env={})
    creds = hook.get_credentials()
    assert isinstance(creds, impersonated_credentials.Credentials)
    assert creds.service_account_email == "target@p.iam.gserviceaccount.com"
    assert creds._source_credentials.service_account_email == "runner@p.iam.gserviceaccount.com"


def test_connection_with_insecure_endpoint_reaches_the_emulator(emulator, monkeypatch) -> None:
    extras = {"project": "local-project", "region": "local-region", "dataproc_endpoint": emulator.dataproc_host,
              "insecure": True, "storage_endpoint": emulator.gcs_host}
    monkeypatch.setenv("AIRFLOW_CONN_DAGSPEC_LOCAL", json.dumps({"conn_type": "dagspec_gcp", "extra": extras}))
    hook = DataprocHook("dagspec_local", env={})  # no emulator env vars: the connection alone says where
    assert hook.get_cluster(f"absent-{uuid.uuid4().hex[:6]}") is None
    assert hook.settings.storage_emulated
    hook.close()


def test_errors_are_mapped_and_transient_ones_retried(emu) -> None:
    slept: list[float] = []
    hook = DataprocHook(sleep=slept.append)
    emu.faults.fail_method("GetJob", "INVALID_ARGUMENT")
    with pytest.raises(errors.InvalidRequest) as bad:
        hook.get_job("x")
    assert isinstance(bad.value, errors.TerminalError) and bad.value.code == "INVALID_ARGUMENT"
    emu.faults.fail_method("GetJob", "PERMISSION_DENIED")
    with pytest.raises(errors.PermissionDenied):
        hook.get_job("x")
    emu.faults.fail_method("ListClusters", "RESOURCE_EXHAUSTED", times=2)
    hook.list_clusters()
    assert len(slept) == 2 and emu.stats.calls["ListClusters"] == 3
    emu.faults.fail_method("CancelJob", "RESOURCE_EXHAUSTED", times=10)
    with pytest.raises(errors.TransientError):
        hook.cancel_job("x")
    assert hook.get_job("never-submitted") is None  # NotFound is an answer, not an error
    hook.close()


def test_stager_uploads_once_and_driver_output_follows_objects(emu, tmp_path: Path) -> None:
    hook = DataprocHook()
    (tmp_path / "main.py").write_text("print('hi')\n")
    bucket = f"stage-{uuid.uuid4().hex[:8]}"
    first = Stager(hook, f"gs://{bucket}/p", str(tmp_path), create_bucket=True)
    body = first.stage({"pyspark_job": {"main_python_file_uri": "main.py", "archive_uris": ["main.py#env"],
                                        "jar_file_uris": ["file:///usr/lib/spark/x.jar"]}})
    uri = body["pyspark_job"]["main_python_file_uri"]
    assert uri.startswith(f"gs://{bucket}/p/") and uri.endswith("/main.py")
    assert body["pyspark_job"]["archive_uris"] == [uri + "#env"]
    assert body["pyspark_job"]["jar_file_uris"] == ["file:///usr/lib/spark/x.jar"]
    second = Stager(hook, f"gs://{bucket}/p", str(tmp_path))
    assert second.stage({"file_uris": ["main.py"]}) == {"file_uris": [uri]} and second.reused == [uri]
    (tmp_path / "main.py").write_text("print('changed')\n")
    assert Stager(hook, f"gs://{bucket}/p", str(tmp_path)).upload("main.py") != uri
    with pytest.raises(errors.ConfigurationError, match="not found"):
        second.upload("missing.py")

    b = hook.storage.bucket(bucket)
    b.blob("out/driveroutput.000000000").upload_from_string("line 1\nline ")
    reader = DriverOutput(hook, f"gs://{bucket}/out/driveroutput")
    assert reader.read_new() == ["line 1"]
    b.blob("out/driveroutput.000000000").upload_from_string("line 1\nline 2\n")
    b.blob("out/driveroutput.000000001").upload_from_string("line 3\nlast")
    assert reader.read_new() == ["line 2", "line 3"]
    assert reader.flush() == ["last"] and reader.tail_text() == "line 1\nline 2\nline 3\nlast"
    hook.close()


def test_no_connection_and_no_emulator_is_a_clear_error(monkeypatch) -> None:
    for key in ("DATAPROC_EMULATOR_HOST", "DAGSPEC_GCP_PROJECT"):
        monkeypatch.delenv(key, raising=False)
    hook = DataprocHook("dagspec_missing", env=dict(os.environ))
    with pytest.raises(errors.ConfigurationError):
        _ = hook.project_id

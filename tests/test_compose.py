"""docker-compose.yml cannot run here (no Docker engine): check it as a file, against the code.

Services present, the Celery/Redis shape, environment names the code really reads, mounts
that match the repository's folders and the paths the package derives from them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from umkm import settings
from umkm.sources import load_registry

ROOT = settings.REPO_ROOT
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker-1",
    "airflow-worker-2",
]


def code_text() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "plugins").rglob("*.py"))


def test_services_of_the_production_shape():
    expected = {*AIRFLOW_SERVICES, "airflow-init", "airflow-db", "warehouse", "redis"}
    expected |= {"simulator", "mailcatcher"}
    assert expected <= set(SERVICES)
    assert SERVICES["airflow-db"]["image"].startswith("postgres:")
    assert SERVICES["warehouse"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")


def test_celery_with_redis_and_two_workers():
    for name in AIRFLOW_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        assert "@redis:" in env["AIRFLOW__CELERY__BROKER_URL"]
    workers = [s for s in SERVICES if s.startswith("airflow-worker")]
    assert len(workers) == 2
    assert all(SERVICES[w]["command"].startswith("celery worker") for w in workers)
    assert SERVICES["airflow-dag-processor"]["command"] == "dag-processor"


def test_image_extends_the_official_airflow_of_our_pins():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = re.search(
        r"apache-airflow\[[^\]]*\]==([\d.]+)", (ROOT / "requirements.txt").read_text()
    )
    assert pinned
    assert f"FROM apache/airflow:{pinned.group(1)}-python3.11" in dockerfile
    assert "requirements.txt" in dockerfile and "constraints.txt" in dockerfile


def test_project_environment_names_are_read_by_the_code():
    env = SERVICES["airflow-scheduler"]["environment"]
    code = code_text()
    for name in env:
        if name.startswith(("UMKM_", "WAREHOUSE_")):
            assert f'"{name}"' in code, f"{name} is set in compose but never read"
    for name in ("WAREHOUSE_URL", "UMKM_STATE_DIR", "UMKM_WILAYAH_DIR", "UMKM_PII_KEY"):
        assert name in env
    assert env["WAREHOUSE_URL"].split("@")[1].startswith("warehouse:")


def test_connection_names_exist():
    env = SERVICES["airflow-scheduler"]["environment"]
    known = {s.env_var for s in load_registry().values()}
    known |= {"AIRFLOW_CONN_UMKM_WAREHOUSE", "AIRFLOW_CONN_UMKM_ALERT_WEBHOOK"}
    known |= {"AIRFLOW_CONN_UMKM_ALERT_SMTP"}
    for name in env:
        if name.startswith("AIRFLOW_CONN_"):
            assert name in known, name


@pytest.mark.parametrize("service", ["airflow-scheduler", "airflow-worker-1"])
def test_mounts_match_the_repository_layout(service):
    volumes = SERVICES[service]["volumes"]
    mounts = {}
    for spec in volumes:
        source, target = spec.split(":")[:2]
        mounts[target] = source
        if source.startswith("../shared"):
            # the shared folder sits beside the deployed checkout; a clone elsewhere (CI)
            # finds it through settings.shared_dir(), as the package does at run time
            inside = source.removeprefix("../shared").lstrip("/")
            assert (settings.shared_dir() / inside).exists(), f"{source} does not exist"
        elif source.startswith("."):
            assert (ROOT / source).resolve().exists(), f"{source} does not exist"
    # the package derives the other folders from where plugins/ sits
    plugins_target = Path(next(t for t, s in mounts.items() if s == "./plugins"))
    container_root = plugins_target.parent
    for folder in ("dags", "dbt_project", "expectations"):
        assert mounts.get(str(container_root / folder)) == f"./{folder}", folder
    env = SERVICES[service]["environment"]
    assert env["UMKM_WILAYAH_DIR"] in mounts
    assert mounts[env["UMKM_WILAYAH_DIR"]].endswith("reference/wilayah")
    state_mount = env["UMKM_STATE_DIR"]
    assert state_mount in mounts and not mounts[state_mount].startswith(".")
    assert env["UMKM_CONNECTIONS_FILE"].startswith(state_mount)


def test_simulator_serves_every_source_on_consecutive_ports():
    command = SERVICES["simulator"]["command"]
    assert "python -m umkm_sim serve" in command and "--base-port 8101" in command
    assert "--env-out" in command
    assert len(load_registry()) == 11


def test_simulator_is_mounted_into_its_own_service_only():
    """The simulator's package is no Airflow plugin: the simulator service mounts
    ./simulator (on its PYTHONPATH), the reference files and the state volume, where it
    writes the connections file the Airflow services read; no Airflow service mounts it."""
    service = SERVICES["simulator"]
    mounts = {}
    for spec in service["volumes"]:
        source, target = spec.split(":")[:2]
        mounts[target] = source
        if source.startswith("."):
            assert (ROOT / source).resolve().exists() or source.startswith("../shared"), source
    env = service["environment"]
    assert mounts[env["PYTHONPATH"]] == "./simulator"
    assert (ROOT / "simulator" / "umkm_sim" / "__main__.py").exists()
    assert "./plugins" not in mounts.values()
    assert mounts[env["UMKM_WILAYAH_DIR"]].endswith("reference/wilayah")
    env_out = service["command"].split("--env-out")[1].split()[0].strip('"')
    airflow_env = SERVICES["airflow-scheduler"]["environment"]
    assert env_out == airflow_env["UMKM_CONNECTIONS_FILE"]
    state = next(t for t, s in mounts.items() if not s.startswith("."))
    assert env_out.startswith(state)
    for name in [*AIRFLOW_SERVICES, "airflow-init"]:
        sources = [spec.split(":")[0] for spec in SERVICES[name].get("volumes", [])]
        assert "./simulator" not in sources, name


def test_every_secret_comes_from_the_environment_without_a_default():
    """No committed password, key or token: each secret is `${NAME:?...}` (compose stops
    naming it when unset), and .env.example lists it."""
    text = (ROOT / "docker-compose.yml").read_text()
    secret = re.compile(r"PASSWORD|SECRET|PII_KEY")
    references = re.findall(r"\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}", text)
    secrets = {name for name, _op, _rest in references if secret.search(name)}
    assert {"WAREHOUSE_PASSWORD", "AIRFLOW_DB_PASSWORD", "REDIS_PASSWORD"} <= secrets
    for name, op, _rest in references:
        if secret.search(name):
            assert op == ":?", f"{name} has a default or may be empty ({op!r})"
    example = (ROOT / ".env.example").read_text()
    for name in secrets:
        assert f"# {name}=" in example, f"{name} is not in .env.example"
    for service in SERVICES.values():
        for key, value in (service.get("environment") or {}).items():
            if secret.search(str(key)):
                assert "${" in str(value), f"{key} is written in the file"


def test_the_warehouse_superuser_listens_on_this_machine_only():
    ports = SERVICES["warehouse"].get("ports", [])
    assert ports and all(str(p).startswith("127.0.0.1:") for p in ports)

"""The one builder of Airflow's settings (`umkm.runner.airflow_env.airflow_config`): the
local runner's defaults, the Celery parameters scripts/celery_e2e passes, airflow.cfg as
rendered from it, and the environment `umkm run` gives its Airflow processes."""

from __future__ import annotations

import configparser
import os

from umkm import settings
from umkm.runner import airflow_env


def _sections(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return {name: dict(parser[name]) for name in parser.sections()}


def test_the_defaults_are_the_local_runners(monkeypatch, tmp_path):
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path))
    config = airflow_env.airflow_config()
    assert config["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert config["AIRFLOW__CORE__DAGS_FOLDER"] == str(settings.DAGS_DIR)
    assert config["AIRFLOW__CORE__PARALLELISM"] == "8"
    home = tmp_path.resolve() / "airflow"
    assert config["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home}/airflow.db"
    assert config["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str(tmp_path.resolve() / "logs/airflow")
    assert not [name for name in config if name.startswith("AIRFLOW__CELERY__")]


def test_the_celery_shape_is_parameters_and_extra_on_top():
    config = airflow_env.airflow_config(
        executor="CeleryExecutor",
        metadata_db="postgresql+psycopg2://postgres@db/airflow",
        broker_url="redis://redis:6379/0",
        result_backend="db+postgresql://postgres@db/airflow",
        parallelism=16,
        extra={"AIRFLOW__OPERATORS__DEFAULT_QUEUE": "q", "AIRFLOW__CORE__PARALLELISM": "3"},
    )
    assert config["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert config["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert config["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql://postgres@db/airflow"
    assert config["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert config["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "q"
    assert config["AIRFLOW__CORE__PARALLELISM"] == "3"  # extra wins


def test_airflow_cfg_is_the_config_by_section(monkeypatch, tmp_path):
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path))
    cfg = airflow_env.write_config()
    assert cfg == settings.airflow_home() / "airflow.cfg"
    expected: dict[str, dict[str, str]] = {}
    for name, value in airflow_env.airflow_config().items():
        _airflow, section, key = name.split("__", 2)
        expected.setdefault(section.lower(), {})[key.lower()] = value
    assert _sections(cfg.read_text()) == expected
    assert cfg.read_text().startswith(f"# {airflow_env.LOCAL_NOTE}\n")


def test_the_environment_exports_the_paths_of_the_config(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AIRFLOW"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path))
    env = airflow_env.airflow_env("postgresql://u:p@127.0.0.1:5432/w")
    config = airflow_env.airflow_config()
    assert {name: env[name] for name in airflow_env.EXPORTED} == {
        name: config[name] for name in airflow_env.EXPORTED
    }
    # the rest of the config (the executor, the metadata DB) comes from airflow.cfg
    assert {name for name in env if name.startswith("AIRFLOW__")} == {
        *airflow_env.EXPORTED,
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY",
    }
    assert env["AIRFLOW_HOME"] == str(settings.airflow_home())
    assert env["AIRFLOW_CONN_UMKM_WAREHOUSE"] == "postgresql://u:p@127.0.0.1:5432/w"

"""The Airflow configuration of the Celery shape, built by the local runner's builder
(`umkm.runner.airflow_env.airflow_config`) with the Celery parameters, plus what only this
shape needs: the api-server's address, the run's own queue, the drills' short timeouts,
the secrets every process shares (through the environment) and each worker's host name.
Also the check that the installed celery works with the Celery provider."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from .common import HEARTBEAT_TIMEOUT_S, SetupError

NOTE = "Written by scripts/celery_e2e.py: the docker-compose shape as local processes."

HOSTNAME_MODULE = '''\
"""[core] hostname_callable of this e2e run: the Celery worker's name, so task_instance.hostname
tells the two workers on this one machine apart (on separate machines getfqdn() does)."""
import os
import socket


def worker_hostname() -> str:
    return os.environ.get("UMKM_E2E_WORKER_HOSTNAME") or socket.getfqdn()
'''


def airflow_config(
    airflow_db: str, broker: str, queue: str, concurrency: int, api_port: int, logs: Path
) -> dict[str, str]:
    """`AIRFLOW__*` settings: the project's, for CeleryExecutor on the local PostgreSQL."""
    from umkm.runner.airflow_env import airflow_config as project_config

    metadata = f"postgres@127.0.0.1:5432/{airflow_db}"
    api = f"http://127.0.0.1:{api_port}"
    return project_config(
        executor="CeleryExecutor",
        metadata_db=f"postgresql+psycopg2://{metadata}",
        # Airflow 3 also opens an async engine; derived from the URL above it needs asyncpg,
        # which this venv does not have (the official image does): psycopg 3 serves both.
        metadata_db_async=f"postgresql+psycopg://{metadata}",
        broker_url=broker,
        result_backend=f"db+postgresql://{metadata}",
        logs=logs,
        parallelism=16,
        file_process_interval=60,
        extra={  # what only this shape needs
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
            # the run's own queue: concurrent runs never take each other's tasks
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": api,
            # only the runs triggered here: no cron or asset-scheduled runs of their own
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # the drills: a dead worker's task is failed and retried within minutes
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "15",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "20",
        },
    )


def process_env(env: dict[str, str], config: dict[str, str]) -> dict[str, str]:
    """`env` (the project's, `umkm.runner.airflow_env.airflow_env`) for every process here."""
    # secrets shared by every process: through the environment, not the config file
    env["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_urlsafe(32)
    env["AIRFLOW__API__SECRET_KEY"] = secrets.token_urlsafe(32)
    env["AIRFLOW__CELERY__BROKER_URL"] = config["AIRFLOW__CELERY__BROKER_URL"]
    env["AIRFLOW__CORE__EXECUTOR"] = config["AIRFLOW__CORE__EXECUTOR"]
    # the venv's console scripts (dbt) first on PATH for every process
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def write_hostname_module(pylib: Path) -> None:
    (pylib / "celery_e2e_hostname.py").write_text(HOSTNAME_MODULE)


def worker_env(hostname: str, pylib: Path, pythonpath: str) -> dict[str, str]:
    """A worker's own settings: `[core] hostname_callable` answering its Celery name."""
    return {
        "UMKM_E2E_WORKER_HOSTNAME": hostname,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_e2e_hostname.worker_hostname",
        "PYTHONPATH": os.pathsep.join([str(pylib), pythonpath]).rstrip(os.pathsep),
    }


# -- the celery/provider version conflict -------------------------------------------------------
def celery_compatible(pythonpath: str = "") -> bool:
    """Whether the Celery provider's executor module imports with this celery."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    probe = "from celery.backends.database import retry, session_cleanup"
    return (
        subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0
    )


def require_compatible_celery() -> None:
    """celery 5.7 dropped `celery.backends.database.retry`, which the Celery provider 3.26
    imports: no worker or CeleryExecutor starts with it. constraints.txt pins 5.6.3."""
    if not celery_compatible():
        import celery

        raise SetupError(
            f"celery {celery.__version__} breaks apache-airflow-providers-celery (no "
            "celery.backends.database.retry); install the pinned stack: make setup"
        )

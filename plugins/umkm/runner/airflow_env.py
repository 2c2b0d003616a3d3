"""The project's Airflow installation: home, config and initialisation, under `.local/`.

For the demo and the tests Airflow keeps its metadata in SQLite in the state folder; the
production shape (PostgreSQL metadata, CeleryExecutor) is `docker-compose.yml`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from umkm import settings
from umkm.sources import load_registry
from umkm.transform.dbt import DEV_PII_KEY, with_pii_key_option
from umkm.warehouse.db import dbt_env

CONFIG_TEMPLATE = """\
# Written by `umkm` for the local demo and tests; the production shape is docker-compose.yml.
[core]
dags_folder = {dags}
plugins_folder = {plugins}
load_examples = False
executor = LocalExecutor
dags_are_paused_at_creation = True
parallelism = 8
max_active_tasks_per_dag = 4
default_timezone = utc
# Local demo only: the UI opens without a login. docker-compose configures real users.
simple_auth_manager_all_admins = True

[database]
sql_alchemy_conn = sqlite:///{home}/airflow.db

[logging]
base_log_folder = {logs}

[scheduler]
min_file_process_interval = 30

[dag_processor]
refresh_interval = 30
"""


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def airflow_env(warehouse: str | None = None, extra: dict[str, str] | None = None) -> dict:
    """Environment for any Airflow process of this project."""
    home = settings.airflow_home()
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.DAGS_DIR),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.logs_dir() / "airflow"),
            "UMKM_STATE_DIR": str(settings.state_dir()),
            "NO_PROXY": "*",
            # no usage telemetry from Cosmos or Airflow (and no outbound calls to try)
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
        }
    )
    if warehouse:
        env["WAREHOUSE_URL"] = warehouse
        env["AIRFLOW_CONN_UMKM_WAREHOUSE"] = warehouse
        env.update(dbt_env(warehouse))  # what dbt's profiles.yml reads
    env.setdefault("UMKM_PII_KEY", DEV_PII_KEY)
    env.update(extra or {})
    return with_pii_key_option(env)  # the Cosmos dbt tasks connect with it


def write_config() -> Path:
    home = settings.airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "airflow.cfg"
    text = CONFIG_TEMPLATE.format(
        dags=settings.DAGS_DIR,
        plugins=settings.REPO_ROOT / "plugins",
        home=home,
        logs=settings.logs_dir() / "airflow",
    )
    if not cfg.exists() or cfg.read_text() != text:
        cfg.write_text(text)
    return cfg


def pools() -> dict[str, dict]:
    """One pool per source (limits parallel pulls), one slot each."""
    return {
        f"source_{sid}": {"slots": 1, "description": f"parallel pulls from {sid}"}
        for sid in load_registry()
    }


def ensure_initialised(env: dict | None = None) -> None:
    """Write the config, migrate the metadata DB and create the pools (idempotent)."""
    write_config()
    env = env or airflow_env()
    marker = settings.airflow_home() / ".initialised"
    pools_file = settings.airflow_home() / "pools.json"
    wanted = json.dumps(pools(), sort_keys=True)
    if marker.exists() and pools_file.exists() and pools_file.read_text() == wanted:
        return
    subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, capture_output=True)
    pools_file.write_text(wanted)
    subprocess.run(
        [airflow_bin(), "pools", "import", str(pools_file)],
        env=env,
        check=True,
        capture_output=True,
    )
    marker.write_text("ok\n")

"""The project's Airflow installation: home, config and initialisation, under `.local/`.

For the demo and the tests Airflow keeps its metadata in SQLite in the state folder; the
production shape (PostgreSQL metadata, CeleryExecutor) is `docker-compose.yml`.
`airflow_config` is the one builder of Airflow's settings: the local runner uses its
defaults, scripts/celery_e2e (the compose shape as local processes) its Celery parameters.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from umkm import settings
from umkm.sources import load_registry
from umkm.transform.dbt import pii_key, with_pii_key_option
from umkm.warehouse.db import dbt_env

#: The settings also exported to every process's environment (where they win over any
#: airflow.cfg): where the project's DAGs, plugins and logs are, and no example DAGs.
EXPORTED = (
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__PLUGINS_FOLDER",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
)

LOCAL_NOTE = (
    "Written by `umkm` for the local demo and tests; the production shape is docker-compose.yml."
)

#: The local Airflow's logins (the simple auth manager), user -> role: `admin` for the
#: engineers (trigger, clear, pause, connections), `viewer` for everyone else (read-only).
#: docker-compose.yml configures its own users.
UI_USERS = {"admin": "admin", "viewer": "viewer"}

#: Their generated passwords, in the Airflow home (never committed: `.local/` is ignored).
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"

#: The alphabet of the simple auth manager's own generated passwords (no look-alikes).
_PASSWORD_ALPHABET = "abcdefghkmnpqrstuvwxyzABCDEFGHKMNPQRSTUVWXYZ23456789"  # noqa: S105


def airflow_config(
    *,
    executor: str = "LocalExecutor",
    metadata_db: str | None = None,
    metadata_db_async: str | None = None,
    broker_url: str | None = None,
    result_backend: str | None = None,
    home: Path | None = None,
    logs: Path | None = None,
    parallelism: int = 8,
    file_process_interval: int = 30,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Airflow's settings for this project, `AIRFLOW__<SECTION>__<KEY>` -> value.

    The one builder for every executor: the defaults are the local runner's (LocalExecutor,
    SQLite metadata in `home`, logs in the state folder); scripts/celery_e2e passes
    CeleryExecutor, PostgreSQL metadata, the Redis broker and the result backend, and adds
    the settings only its shape needs in `extra` (which wins over everything else).
    `write_config` renders the result as airflow.cfg.
    """
    home = home or settings.airflow_home()
    logs = logs or settings.logs_dir() / "airflow"
    config = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "utc",
        # The UI asks for a login: UI_USERS, their passwords in a file of the home (mode
        # 0600, written by ensure_passwords). docker-compose configures its own users.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
            f"{user}:{role}" for user, role in UI_USERS.items()
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db or f"sqlite:///{home}/airflow.db",
    }
    if metadata_db_async:
        config["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = metadata_db_async
    if broker_url:
        config["AIRFLOW__CELERY__BROKER_URL"] = broker_url
    if result_backend:
        config["AIRFLOW__CELERY__RESULT_BACKEND"] = result_backend
    config.update(
        {
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(file_process_interval),
        }
    )
    config.update(extra or {})
    return config


def config_text(config: dict[str, str], note: str = LOCAL_NOTE) -> str:
    """`config` (`AIRFLOW__<SECTION>__<KEY>` -> value) as airflow.cfg, sections in order."""
    sections: dict[str, list[str]] = {}
    for name, value in config.items():
        _airflow, section, key = name.split("__", 2)
        sections.setdefault(section.lower(), []).append(f"{key.lower()} = {value}")
    blocks = [f"[{section}]\n" + "\n".join(lines) for section, lines in sections.items()]
    return f"# {note}\n" + "\n\n".join(blocks) + "\n"


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def airflow_env(warehouse: str | None = None, extra: dict[str, str] | None = None) -> dict:
    """Environment for any Airflow process of this project."""
    home = settings.airflow_home()
    config = airflow_config(home=home)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            **{name: config[name] for name in EXPORTED},
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
    env.update(extra or {})
    env["UMKM_PII_KEY"] = pii_key(env)
    return with_pii_key_option(env)  # the Cosmos dbt tasks connect with it


def write_config(config: dict[str, str] | None = None, note: str = LOCAL_NOTE) -> Path:
    """Write `config` (default: the local runner's) as airflow.cfg of the Airflow home, and
    make sure its users have passwords (`ensure_passwords`)."""
    home = settings.airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "airflow.cfg"
    config = config or airflow_config(home=home)
    text = config_text(config, note)
    if not cfg.exists() or cfg.read_text() != text:
        cfg.write_text(text)
    if passwords := config.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"):
        ensure_passwords(Path(passwords), users_of(config))
    return cfg


def users_of(config: dict[str, str]) -> dict[str, str]:
    """The simple auth manager's users in `config`, user -> role (`a:admin,b:viewer`)."""
    listed = config.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "")
    pairs = (entry.strip().split(":") for entry in listed.split(",") if entry.strip())
    return {pair[0]: pair[1] for pair in pairs}


def passwords_file(home: Path | None = None) -> Path:
    return (home or settings.airflow_home()) / PASSWORDS_FILE


def ensure_passwords(path: Path | None = None, users: dict[str, str] | None = None) -> dict:
    """The UI users' passwords, user -> password, from `path` (the simple auth manager's
    JSON file); a user without one gets a generated password, and the file is (re)written
    with mode 0600. Airflow then finds every user in it, so it never generates or prints a
    password itself. Delete the file for new passwords."""
    path = path or passwords_file()
    users = UI_USERS if users is None else users
    try:
        passwords = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        passwords = {}
    missing = [user for user in users if not passwords.get(user)]
    for user in missing:
        passwords[user] = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
    if missing or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when the file was there with a wider mode
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(passwords) + "\n")
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return {user: passwords[user] for user in users}


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

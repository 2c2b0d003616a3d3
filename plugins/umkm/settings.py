"""Paths and settings read from the environment, in one place.

Nothing here touches the network or the database, so importing it is cheap (DAG files
import it at parse time).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: plugins/umkm/settings.py -> ../../..
REPO_ROOT = Path(__file__).resolve().parents[2]

DAGS_DIR = REPO_ROOT / "dags"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

#: Default embedded warehouse port on 127.0.0.1 (not PostgreSQL's 5432, which may be taken).
DEFAULT_EMBEDDED_PORT = 54329

#: The default snapshot: the day both ministries published their figures.
HEADLINE_SNAPSHOT = "2017-11-15"


def state_dir() -> Path:
    """The git-ignored folder holding all local state (warehouse data, Airflow home, logs)."""
    return Path(os.environ.get("UMKM_STATE_DIR", REPO_ROOT / ".local")).resolve()


def airflow_home() -> Path:
    return state_dir() / "airflow"


def reports_dir() -> Path:
    return state_dir() / "reports"


def logs_dir() -> Path:
    return state_dir() / "logs"


def embedded_port() -> int:
    return int(os.environ.get("UMKM_EMBEDDED_PORT", DEFAULT_EMBEDDED_PORT))


def shared_dir() -> Path:
    """The read-only shared folder beside the repository (contract, docs, reference data)."""
    return Path(os.environ.get("UMKM_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()


def wilayah_dir() -> Path:
    """The BPS region reference files (ODbL data, read at run time, never copied)."""
    default = shared_dir() / "reference" / "wilayah"
    return Path(os.environ.get("UMKM_WILAYAH_DIR", default)).resolve()


def configured_warehouse_url() -> str | None:
    """`WAREHOUSE_URL` when set: the project then uses that warehouse, not the embedded one."""
    url = os.environ.get("WAREHOUSE_URL", "").strip()
    return url or None

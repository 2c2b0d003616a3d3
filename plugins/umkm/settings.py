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


def dbt_project_dir() -> Path:
    """The dbt project dbt runs: `UMKM_DBT_PROJECT_DIR`, else the repository's `dbt_project/`
    (another one holds the staging generated from another registry, `UMKM_SOURCE_REGISTRY`)."""
    configured = os.environ.get("UMKM_DBT_PROJECT_DIR", "").strip()
    return Path(configured).expanduser().resolve() if configured else DBT_PROJECT_DIR


def expectations_dir() -> Path:
    """The Great Expectations folder whose suites validation runs: `UMKM_EXPECTATIONS_DIR`,
    else the repository's `expectations/` (another one holds the suites written from another
    registry, `UMKM_SOURCE_REGISTRY`)."""
    configured = os.environ.get("UMKM_EXPECTATIONS_DIR", "").strip()
    return Path(configured).expanduser().resolve() if configured else EXPECTATIONS_DIR


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


#: Where the shared folder is looked for when `UMKM_SHARED_DIR` is not set: beside the
#: repository (`../shared`, the normal checkout), beside any folder above it, then the
#: development machine's `/work/shared` (a clone elsewhere, e.g. a CI workspace).
def _shared_candidates() -> list[Path]:
    return [p / "shared" for p in REPO_ROOT.parents] + [Path("/work/shared")]


def shared_dir() -> Path:
    """The read-only shared folder (contract, docs, reference data)."""
    configured = os.environ.get("UMKM_SHARED_DIR")
    if configured:
        return Path(configured).resolve()
    for candidate in _shared_candidates():
        if (candidate / "reference" / "wilayah").is_dir():
            return candidate.resolve()
    return (REPO_ROOT.parent / "shared").resolve()


def wilayah_dir() -> Path:
    """The BPS region reference files (ODbL data, read at run time, never copied)."""
    default = shared_dir() / "reference" / "wilayah"
    return Path(os.environ.get("UMKM_WILAYAH_DIR", default)).resolve()


def configured_warehouse_url() -> str | None:
    """`WAREHOUSE_URL` when set: the project then uses that warehouse, not the embedded one."""
    url = os.environ.get("WAREHOUSE_URL", "").strip()
    return url or None


# -- links in alerts and `umkm serve` ----------------------------------------------------------

#: Airflow's UI when neither `UMKM_AIRFLOW_BASE_URL` nor Airflow's `[api] base_url` is set.
DEFAULT_AIRFLOW_BASE_URL = "http://localhost:8080"

#: `umkm serve`: the report, the dbt docs and the Data Docs on one local port.
DEFAULT_SERVE_HOST = "127.0.0.1"
DEFAULT_SERVE_PORT = 8099

#: The runbook alerts link to, relative to the repository, when `UMKM_RUNBOOK_BASE_URL` is unset.
DEFAULT_RUNBOOK = "docs/RUNBOOK.md"


def data_docs_dir() -> Path:
    """The Great Expectations Data Docs site (`data_docs_sites` of great_expectations.yml)."""
    return state_dir() / "data_docs"


def airflow_base_url() -> str:
    """The Airflow UI's address, for the log links of alerts (no trailing slash).

    `UMKM_AIRFLOW_BASE_URL`, else Airflow's `[api] base_url` (`AIRFLOW__API__BASE_URL`, or the
    Airflow configuration when the process already loaded it, as every task does: Airflow
    is never imported from here), else `http://localhost:8080`.
    """
    import sys

    url = os.environ.get("UMKM_AIRFLOW_BASE_URL", "").strip()
    url = url or os.environ.get("AIRFLOW__API__BASE_URL", "").strip()
    for module in ("airflow.sdk.configuration", "airflow.configuration"):  # task, then core
        configuration = sys.modules.get(module)
        if url or configuration is None:
            continue
        try:
            url = (configuration.conf.get("api", "base_url", fallback="") or "").strip()
        except Exception:  # noqa: BLE001 - a broken Airflow config is no reason to lose a link
            url = ""
    return (url or DEFAULT_AIRFLOW_BASE_URL).rstrip("/")


def docs_base_url() -> str:
    """Where `umkm serve` (or whatever serves `.local/reports` and the Data Docs) answers:
    `UMKM_DOCS_BASE_URL`, else `http://127.0.0.1:8099` (no trailing slash)."""
    url = os.environ.get("UMKM_DOCS_BASE_URL", "").strip()
    return (url or f"http://{DEFAULT_SERVE_HOST}:{DEFAULT_SERVE_PORT}").rstrip("/")


def runbook_base_url() -> str:
    """The runbook's address, anchors appended: `UMKM_RUNBOOK_BASE_URL` (e.g. the file in
    your Git host's web view), else the repository-relative `docs/RUNBOOK.md`."""
    url = os.environ.get("UMKM_RUNBOOK_BASE_URL", "").strip()
    return url.split("#", 1)[0] if url else DEFAULT_RUNBOOK

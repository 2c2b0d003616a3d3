"""Shared DAG settings: default args, retries per task kind, the notifiers, assets."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

#: The first snapshot the sources can be asked for (backfills start here).
START_DATE = datetime(2017, 1, 16, 2, 0)

#: Retries per kind of task: network pulls retry more and back off; database and dbt steps
#: retry once (a failure there is rarely transient); reports and alerts do not block.
RETRIES = {
    "extract": {
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    "warehouse": {"retries": 1, "retry_delay": timedelta(seconds=20)},
    "dbt": {"retries": 1, "retry_delay": timedelta(seconds=30)},
    "report": {"retries": 1, "retry_delay": timedelta(seconds=10)},
}


def on_failure(context) -> None:
    """A plain failure callback (every channel at once), for DAGs that want a function; the
    project's DAGs use the notifiers of `callbacks()`. Never raises."""
    try:
        from umkm.alerts import notify_task_failure
    except ImportError:  # notifier not installed: the task log is the alert channel
        ti = context.get("ti")
        log.error("ALERT task failed: %s", getattr(ti, "task_id", "?"))
        return
    try:
        notify_task_failure(context)
    except Exception:
        log.exception("alert delivery failed")


def callbacks() -> list:
    """The callbacks of every task: the Airflow notifiers of both alert channels
    (`umkm.alerts.notifiers`), for failures and, on a run's last task, recoveries."""
    try:
        from umkm.alerts.notifiers import project_notifiers
    except ImportError:  # notifiers not installed: the plain failure callback
        return [on_failure]
    return project_notifiers()


def default_args(owner: str, kind: str = "warehouse") -> dict:
    notifiers = callbacks()
    return {
        "owner": owner,
        "depends_on_past": False,
        "on_failure_callback": notifiers,
        "on_success_callback": [n for n in notifiers if n is not on_failure],
        "execution_timeout": timedelta(hours=2),
        **RETRIES[kind],
    }


def raw_asset_uri(source_id: str) -> str:
    return f"umkm-warehouse://raw/{source_id}"


def raw_asset(source_id: str):
    """The Airflow asset an ingestion DAG produces: its published raw table."""
    from airflow.sdk import Asset

    return Asset(name=f"raw.{source_id}", uri=raw_asset_uri(source_id), group="raw")


MARTS_ASSET_URI = "umkm-warehouse://marts"


def marts_asset():
    from airflow.sdk import Asset

    return Asset(name="marts", uri=MARTS_ASSET_URI, group="marts")

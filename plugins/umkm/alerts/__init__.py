"""The notifier used by every DAG: task failures, validation results, stale sources, drift.

    notify("validation failed: shopee 2017-11-15", text, level="error", dedupe_key=...)
    notify_task_failure(context)          # the on_failure_callback of every task

Channels (both optional, see `umkm.alerts.channels`): the Slack-compatible webhook of the
Airflow connection `umkm_alert_webhook` and SMTP email through `umkm_alert_smtp`. With
neither configured, the alert is written to the task log at WARNING.

Guarantees:

* never raises (a failed delivery is retried, logged, and the pipeline goes on);
* one message per failure per run: a `dedupe_key` already sent (in this process, or recorded
  in `audit.alerts_sent` in the warehouse) is not sent again;
* no personal data: the text is scrubbed of e-mail addresses, phone numbers and national
  ID numbers before it leaves (the callers only put ids and counts in it anyway).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from umkm.alerts import channels

log = logging.getLogger("umkm.alerts")

__all__ = ["describe_context", "notify", "notify_task_failure", "scrub"]

_SENT: set[str] = set()
_SENT_LOCK = threading.Lock()

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
#: phone-like: +62 / 62 / 0 followed by 7+ digits with optional spaces, dashes, brackets
_PHONE = re.compile(r"(?<![\w.])(\+?62|\(?0)[\d\s\-()]{7,}\d")
_LONG_DIGITS = re.compile(r"(?<![\w.-])\d{10,}(?![\w-])")


def scrub(text: str) -> str:
    """Mask e-mail addresses, phone numbers and long digit runs (NIK) in a message."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _LONG_DIGITS.sub("[number]", text)


def _dedupe_url(url: str | None) -> str | None:
    if url:
        return url
    import os

    from umkm import settings

    configured = (
        settings.configured_warehouse_url()
        or os.environ.get("AIRFLOW_CONN_UMKM_WAREHOUSE", "").strip()
    )
    if configured:
        return configured
    try:  # the embedded warehouse, only when it is already running (never start it here)
        from umkm.warehouse import embedded

        status = embedded.status()
        return status.url if status.running else None
    except Exception:  # noqa: BLE001
        return None


def _claim(key: str, title: str, level: str, url: str | None) -> bool:
    """True when this alert has not been sent yet (and is now marked as sent)."""
    with _SENT_LOCK:
        if key in _SENT:
            return False
        _SENT.add(key)
    target = _dedupe_url(url)
    if not target:
        return True
    try:
        from umkm.warehouse import connect

        with connect(target, autocommit=True, connect_timeout=3) as conn:
            row = conn.execute(
                "insert into audit.alerts_sent (dedupe_key, title, level, channels) "
                "values (%s, %s, %s, %s) on conflict (dedupe_key) do nothing returning 1",
                (key, title[:500], level, ",".join(channels.configured_channels()) or "log"),
            ).fetchone()
            return row is not None
    except Exception as exc:  # noqa: BLE001 - no marker: better a duplicate than no alert
        log.debug("alert dedupe marker unavailable: %s", exc)
        return True


def notify(
    title: str,
    text: str,
    level: str = "error",
    details: dict | None = None,
    dedupe_key: str | None = None,
    *,
    url: str | None = None,
) -> bool:
    """Send an alert to every configured channel (or the log). Returns True when it was
    delivered somewhere (the log counts when no channel is configured). Never raises."""
    try:
        title, text = scrub(title), scrub(text)
        if dedupe_key and not _claim(dedupe_key, title, level, url):
            log.info("event=alert_suppressed dedupe_key=%s title=%r", dedupe_key, title)
            return False
        results = [
            channels.send_webhook(title, text, level),
            channels.send_email(title, text, level),
        ]
        attempted = [r for r in results if r is not None]
        if not attempted:
            log.warning("ALERT [%s] %s\n%s", level, title, text)
            return True
        if not any(attempted):
            log.error("ALERT (undelivered) [%s] %s\n%s", level, title, text)
            return False
        log.info("event=alert_sent level=%s title=%r", level, title)
        return True
    except Exception:
        log.exception("event=alert_error title=%r", title)
        return False


def describe_context(context: dict | None) -> dict[str, Any]:
    """dag_id, task_id, run_id, snapshot, try_number, log_url from an Airflow context."""
    if not context:
        return {}
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    info: dict[str, Any] = {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id") or getattr(ti, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "log_url": getattr(ti, "log_url", None),
    }
    try:
        from umkm.orchestration.snapshots import snapshot_from_context

        info["snapshot"] = snapshot_from_context(context).isoformat()
    except Exception:  # noqa: BLE001 - no snapshot for this run
        info["snapshot"] = None
    params = context.get("params") or {}
    if params.get("source_id"):
        info["source_id"] = params["source_id"]
    return info


def notify_task_failure(context) -> None:
    """`on_failure_callback` of every task: one alert per (dag, run, task). Never raises."""
    try:
        info = describe_context(context)
        exc = context.get("exception")
        if type(exc).__name__ == "CriticalValidationError":
            log.info("task failed on critical validation: already alerted by the validation run")
            return
        source = info.get("source_id") or _source_from_task(info.get("dag_id"), info.get("task_id"))
        lines = [
            f"Task failed: DAG {info.get('dag_id')}, task {info.get('task_id')}, "
            f"run {info.get('run_id')} (try {info.get('try_number')})",
            f"Snapshot: {info.get('snapshot') or '-'}",
        ]
        if source:
            lines.append(f"Source: {source}")
        if exc is not None:
            lines.append(f"Error: {type(exc).__name__}: {str(exc)[:800]}")
        lines.append(f"Log: {info.get('log_url') or 'see the task log in Airflow'}")
        key = f"task_failure:{info.get('dag_id')}:{info.get('run_id')}:{info.get('task_id')}"
        notify(
            f"task failed: {info.get('dag_id')}.{info.get('task_id')}",
            "\n".join(lines),
            level="error",
            details={**info, "source_id": source},
            dedupe_key=key,
        )
    except Exception:
        log.exception("event=alert_error kind=task_failure")


def _source_from_task(dag_id: str | None, task_id: str | None) -> str | None:
    """`ingest_<source>` DAGs name their source."""
    for name in (dag_id or "", task_id or ""):
        if name.startswith("ingest_"):
            return name.removeprefix("ingest_")
    return None

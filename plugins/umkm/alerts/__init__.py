"""Alerts of every DAG: task failures, validation results, stale sources, drift, recovery.

    notify("validation failed: shopee 2017-11-15", text, level="error", dedupe_key=...)
    notify_task_failure(context)          # a task failure, to every configured channel

Airflow notifiers (`umkm.alerts.notifiers`): `WebhookNotifier()` and `SmtpNotifier()`, for
`on_failure_callback=[...]` / `on_success_callback=[...]` of any DAG or task; the project's
DAGs get both through `umkm.orchestration.common.default_args`. A notifier sends through
its one connection (`send_to`): the failure alert, and after a success the recovery
message of a DAG that had failed (`notify_recovery`).

Channels (both optional, see `umkm.alerts.channels`): the Slack-compatible webhook of the
Airflow connection `umkm_alert_webhook` and SMTP email through `umkm_alert_smtp`. With
neither configured, the alert is written to the task log at WARNING.

Every alert carries the link to its runbook section (`docs/RUNBOOK.md#<kind>`,
`umkm.alerts.kinds`) and, where it has them, links built from the configured Airflow and
docs base URLs (`umkm.alerts.links`).

Guarantees:

* never raises (a failed delivery is retried, logged, and the pipeline goes on);
* one message per failure per run: a `dedupe_key` already sent (in this process, or recorded
  in `audit.alerts_sent` in the warehouse) is not sent again (a notifier's key is the
  alert's key and its connection: `<key>#<conn_id>`);
* no personal data: the text is scrubbed of e-mail addresses, phone numbers and national
  ID numbers before it leaves (the callers only put ids and counts in it anyway).
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from umkm.alerts import channels, kinds, links

log = logging.getLogger("umkm.alerts")

__all__ = [
    "describe_context",
    "notify",
    "notify_recovery",
    "notify_task_failure",
    "scrub",
    "send_to",
]

#: dedupe key -> when this process claimed it (the memory of `_claim`, and of the recovery
#: check when no warehouse is reachable)
_SENT: dict[str, datetime] = {}
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


def _claim(key: str, title: str, level: str, url: str | None, via: str | None = None) -> bool:
    """True when this alert has not been sent yet (and is now marked as sent)."""
    with _SENT_LOCK:
        if key in _SENT:
            return False
        _SENT[key] = datetime.now(UTC)
    target = _dedupe_url(url)
    if not target:
        return True
    try:
        from umkm.warehouse import connect

        with connect(target, autocommit=True, connect_timeout=3) as conn:
            row = conn.execute(
                "insert into audit.alerts_sent (dedupe_key, title, level, channels) "
                "values (%s, %s, %s, %s) on conflict (dedupe_key) do nothing returning 1",
                (key, title[:500], level, via or ",".join(channels.configured_channels()) or "log"),
            ).fetchone()
            return row is not None
    except Exception as exc:  # noqa: BLE001 - no marker: better a duplicate than no alert
        log.debug("alert dedupe marker unavailable: %s", exc)
        return True


def _prepare(title: str, text: str, kind: str | None, dedupe_key: str | None) -> tuple[str, str]:
    """Scrubbed title and text, the text ending with the runbook link of the alert's kind."""
    title, text = scrub(title), scrub(text)
    if "\nRunbook: " not in f"\n{text}":
        kind = kind or kinds.infer_kind(title, dedupe_key)
        text = f"{text.rstrip()}\nRunbook: {links.runbook_url(kind)}"
    return title, text


def notify(
    title: str,
    text: str,
    level: str = "error",
    details: dict | None = None,
    dedupe_key: str | None = None,
    *,
    url: str | None = None,
    kind: str | None = None,
) -> bool:
    """Send an alert to every configured channel (or the log). Returns True when it was
    delivered somewhere (the log counts when no channel is configured). Never raises.

    `kind` (`umkm.alerts.kinds.KINDS`) picks the runbook section linked at the end of the
    text; without it, it is inferred from the dedupe key or the title."""
    try:
        title, text = _prepare(title, text, kind, dedupe_key)
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


def _route(conn_id: str | None) -> str | None:
    """The dedupe-key suffix of a delivery: `#<conn_id>` through that connection, `#log`
    when no alert connection exists at all (the task log is the channel), `` for `notify`
    (conn_id None); None when this connection is missing but another one carries alerts."""
    if conn_id is None:
        return ""
    if channels.is_configured(conn_id):
        return f"#{conn_id}"
    return None if channels.configured_channels() else "#log"


def send_to(
    channel: str,
    title: str,
    text: str,
    level: str = "error",
    *,
    conn_id: str | None = None,
    dedupe_key: str | None = None,
    url: str | None = None,
    kind: str | None = None,
) -> bool:
    """Send through one channel (`webhook`, `email`) and connection only: what a notifier
    does. Its dedupe key is `<dedupe_key>#<conn_id>`, so each notifier of a DAG sends the
    alert once. With no alert connection configured at all, the alert is written to the
    task log once (`<dedupe_key>#log`, whichever notifier comes first); with this one
    missing but another configured, nothing is sent here (logged at INFO). Never raises."""
    try:
        conn_id = conn_id or channels.SENDERS[channel][0]
        title, text = _prepare(title, text, kind, dedupe_key)
        route = _route(conn_id)
        if route is None:
            log.info(
                "event=alert_skipped channel=%s conn_id=%s reason=not_configured", channel, conn_id
            )
            return False
        via = channel if route != "#log" else "log"
        if dedupe_key and not _claim(dedupe_key + route, title, level, url, via):
            log.info("event=alert_suppressed dedupe_key=%s%s title=%r", dedupe_key, route, title)
            return False
        if route == "#log":
            log.warning("ALERT [%s] %s\n%s", level, title, text)
            return True
        if channels.send(channel, title, text, level, conn_id):
            log.info("event=alert_sent channel=%s level=%s title=%r", channel, level, title)
            return True
        log.error("ALERT (undelivered) [%s] %s\n%s", level, title, text)
        return False
    except Exception:
        log.exception("event=alert_error channel=%s title=%r", channel, title)
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
        "log_url": None,
    }
    if info["dag_id"] and info["run_id"] and info["task_id"]:
        map_index = getattr(ti, "map_index", None)
        info["log_url"] = links.task_log_url(
            info["dag_id"],
            info["run_id"],
            info["task_id"],
            info["try_number"] if isinstance(info["try_number"], int) else None,
            map_index if isinstance(map_index, int) else None,
        )
    else:  # no task to point at: whatever Airflow offers
        info["log_url"] = getattr(ti, "log_url", None)
    try:
        from umkm.orchestration.snapshots import snapshot_from_context

        info["snapshot"] = snapshot_from_context(context).isoformat()
    except Exception:  # noqa: BLE001 - no snapshot for this run
        info["snapshot"] = None
    params = context.get("params") or {}
    if params.get("source_id"):
        info["source_id"] = params["source_id"]
    return info


def notify_task_failure(context, *, channel: str | None = None, conn_id: str | None = None) -> None:
    """A task failure: one alert per (dag, run, task), to every configured channel, or
    through one channel when a notifier calls it (`channel`, `conn_id`). Never raises."""
    try:
        info = describe_context(context)
        exc = context.get("exception")
        if type(exc).__name__ == "CriticalValidationError":
            log.info("task failed on critical validation: already alerted by the validation run")
            return
        kind = kinds.task_failure_kind(info.get("dag_id"), info.get("task_id"), exc)
        source = info.get("source_id") or _source_from_task(info.get("dag_id"), info.get("task_id"))
        lines = [
            f"Task failed: DAG {info.get('dag_id')}, task {info.get('task_id') or '-'}, "
            f"run {info.get('run_id')} (try {info.get('try_number')})",
            f"Alert: {kind}, {kinds.KINDS[kind]}",
            f"Snapshot: {info.get('snapshot') or '-'}",
        ]
        if source:
            lines.append(f"Source: {source}")
        if exc is not None:
            lines.append(f"Error: {type(exc).__name__}: {str(exc)[:800]}")
        elif context.get("reason"):  # a DAG-level callback
            lines.append(f"Reason: {context['reason']}")
        lines.append(f"Log: {info.get('log_url') or 'see the task log in Airflow'}")
        key = f"task_failure:{info.get('dag_id')}:{info.get('run_id')}:{info.get('task_id') or '-'}"
        title = f"task failed: {info.get('dag_id')}.{info.get('task_id') or '-'}"
        if channel:
            send_to(
                channel,
                title,
                "\n".join(lines),
                "error",
                conn_id=conn_id,
                dedupe_key=key,
                kind=kind,
            )
            return
        notify(
            title,
            "\n".join(lines),
            level="error",
            details={**info, "source_id": source},
            dedupe_key=key,
            kind=kind,
        )
    except Exception:
        log.exception("event=alert_error kind=task_failure")


# -- recovery ----------------------------------------------------------------------------


def _split_key(key: str) -> tuple[str, str]:
    """(the alert's key, its route suffix: `#<conn_id>`, `#log` or ``)."""
    base, sep, tail = key.rpartition("#")
    return (base, sep + tail) if sep else (key, "")


def _is_failure(base: str, dag_id: str, run_id: str | None = None) -> bool:
    """A failure alert of the DAG (of the run, when given): a task failure, or a critical
    validation failure (whose task failure is not alerted again)."""
    scope = f"{dag_id}:{run_id}:" if run_id else f"{dag_id}:"
    if base.startswith(f"task_failure:{scope}"):
        return True
    return base.startswith(f"validation:{scope}") and base.endswith(":failed")


def _alert_history(dag_id: str, url: str | None) -> list[tuple[str, datetime]]:
    """Every failure and recovery alert recorded for the DAG: `audit.alerts_sent` when the
    warehouse is reachable, else this process's memory."""
    prefixes = [f"task_failure:{dag_id}:", f"validation:{dag_id}:", f"recovered:{dag_id}:"]
    target = _dedupe_url(url)
    if target:
        try:
            from umkm.warehouse import connect

            with connect(target, autocommit=True, connect_timeout=3) as conn:
                rows = conn.execute(
                    "select dedupe_key, sent_at from audit.alerts_sent "
                    "where left(dedupe_key, length(%s)) = %s or left(dedupe_key, length(%s)) = %s"
                    " or left(dedupe_key, length(%s)) = %s",
                    [p for prefix in prefixes for p in (prefix, prefix)],
                ).fetchall()
                return [(key, at) for key, at in rows]
        except Exception as exc:  # noqa: BLE001 - fall back to this process's memory
            log.debug("alert history unavailable: %s", exc)
    with _SENT_LOCK:
        return [(key, at) for key, at in _SENT.items() if key.startswith(tuple(prefixes))]


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def notify_recovery(
    context,
    *,
    channel: str | None = None,
    conn_id: str | None = None,
    url: str | None = None,
) -> bool:
    """After a DAG run succeeded: when the DAG had failure alerts since the last recovery
    message (of this channel), send one `recovered` message (level info) naming the DAG and
    how long it was failing (since its first failure alert). Nothing when it had not, or
    when this very run alerted a failure (a run cleared after a failure, or another branch
    of it failed). Returns True when a message was sent. Never raises."""
    try:
        info = describe_context(context)
        dag_id, run_id = info.get("dag_id"), info.get("run_id")
        if not dag_id or not run_id:
            return False
        route = _route(conn_id or (channels.SENDERS[channel][0] if channel else None))
        if route is None:
            return False
        history = [(*_split_key(key), at) for key, at in _alert_history(dag_id, url)]
        recoveries = [
            at
            for base, suffix, at in history
            if base.startswith(f"recovered:{dag_id}:") and suffix == route
        ]
        since = max(recoveries, default=None)
        failures = sorted(
            (at, base)
            for base, _suffix, at in history
            if _is_failure(base, dag_id) and (since is None or at > since)
        )
        if not failures or any(_is_failure(base, dag_id, run_id) for _at, base in failures):
            return False
        first, last = failures[0], failures[-1]
        failing_for = _duration(datetime.now(UTC) - first[0])
        count = len({base for _at, base in failures})
        lines = [
            f"DAG {dag_id} succeeded again: run {run_id}.",
            f"It was failing for {failing_for}: first failure alert at "
            f"{first[0].astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, {count} failure alert(s) since "
            "the last recovery.",
            f"Last failure alert: {last[1]}",
            f"Run: {links.dag_run_url(dag_id, run_id)}",
        ]
        title = f"recovered: {dag_id} (failing for {failing_for})"
        key = f"recovered:{dag_id}:{run_id}"
        if channel:
            return send_to(
                channel, title, "\n".join(lines), "info",
                conn_id=conn_id, dedupe_key=key, url=url, kind="recovered",
            )  # fmt: skip
        return notify(title, "\n".join(lines), "info", info, key, url=url, kind="recovered")
    except Exception:
        log.exception("event=alert_error kind=recovered")
        return False


def _source_from_task(dag_id: str | None, task_id: str | None) -> str | None:
    """`ingest_<source>` DAGs name their source."""
    for name in (dag_id or "", task_id or ""):
        if name.startswith("ingest_"):
            return name.removeprefix("ingest_")
    return None

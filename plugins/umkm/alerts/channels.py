"""Alert channels: a Slack-compatible incoming webhook and SMTP email, with retries.

Both are configured through Airflow connections read by `umkm.connections.get_connection`:

* `umkm_alert_webhook`: its URL is the webhook (`AIRFLOW_CONN_UMKM_ALERT_WEBHOOK=
  https://hooks.example/services/...`). The message is POSTed as JSON `{"text": ...}`.
* `umkm_alert_smtp`: host, port, login, password; extra `from`, `to` (comma list),
  `starttls` (true/false), `ssl` (true/false), e.g. `AIRFLOW_CONN_UMKM_ALERT_SMTP=
  smtp://user:pass@mail.example:587?from=umkm@example.org&to=ops@example.org&starttls=true`.

A notifier (`umkm.alerts.notifiers`) may name another connection of the same shape.

Every delivery is tried `UMKM_ALERT_TRIES` times (default 3) with a short timeout and an
exponential backoff (`UMKM_ALERT_BACKOFF_S`, default 1 s), logged, and never raises.
"""

from __future__ import annotations

import logging
import os
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage
from urllib.parse import urlsplit

log = logging.getLogger("umkm.alerts")

WEBHOOK_CONN_ID = "umkm_alert_webhook"
SMTP_CONN_ID = "umkm_alert_smtp"
TIMEOUT_S = 5.0


def _tries() -> int:
    return max(1, int(os.environ.get("UMKM_ALERT_TRIES", "3")))


def _backoff() -> float:
    return float(os.environ.get("UMKM_ALERT_BACKOFF_S", "1"))


def _connection(conn_id: str):
    from umkm.connections import ConnectionNotConfigured, get_connection

    try:
        return get_connection(conn_id)
    except ConnectionNotConfigured:
        return None


def configured_channels() -> list[str]:
    return [
        name
        for name, conn_id in (("webhook", WEBHOOK_CONN_ID), ("email", SMTP_CONN_ID))
        if _connection(conn_id) is not None
    ]


def with_retries(channel: str, send: Callable[[], None]) -> bool:
    """Call `send` up to the configured number of tries; log each failure; never raise."""
    tries = _tries()
    for attempt in range(1, tries + 1):
        try:
            send()
            log.info("event=alert_delivered channel=%s attempt=%d", channel, attempt)
            return True
        except Exception as exc:  # noqa: BLE001 - delivery problems are logged, not raised
            log.warning(
                "event=alert_delivery_failed channel=%s attempt=%d/%d error=%s",
                channel,
                attempt,
                tries,
                type(exc).__name__ + ": " + str(exc)[:200],
            )
            if attempt < tries:
                time.sleep(_backoff() * 2 ** (attempt - 1))
    log.error("event=alert_undelivered channel=%s tries=%d", channel, tries)
    return False


def is_configured(conn_id: str) -> bool:
    return _connection(conn_id) is not None


def send_webhook(title: str, text: str, level: str, conn_id: str = WEBHOOK_CONN_ID) -> bool | None:
    """POST to the webhook; None when it is not configured."""
    conn = _connection(conn_id)
    if conn is None:
        return None
    import requests

    icon = {"error": ":rotating_light:", "warning": ":warning:"}.get(level, ":information_source:")
    payload = {
        "text": f"{icon} *{title}*\n{text}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
        ],
    }

    def send() -> None:
        response = requests.post(conn.base_url, json=payload, timeout=TIMEOUT_S)
        if response.status_code >= 300:
            raise RuntimeError(f"webhook answered HTTP {response.status_code}")

    return with_retries("webhook", send)


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def send_email(title: str, text: str, level: str, conn_id: str = SMTP_CONN_ID) -> bool | None:
    """Send by SMTP; None when it is not configured."""
    conn = _connection(conn_id)
    if conn is None:
        return None
    parts = urlsplit(conn.base_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 25
    extra = conn.extra or {}
    recipients = [a.strip() for a in str(extra.get("to", "")).split(",") if a.strip()]
    if not recipients:
        log.error("event=alert_undelivered channel=email reason='no recipients (extra to)'")
        return False
    message = EmailMessage()
    message["Subject"] = f"[umkm {level}] {title}"
    message["From"] = str(extra.get("from") or "umkm-alerts@localhost")
    message["To"] = ", ".join(recipients)
    message.set_content(text)

    def send() -> None:
        factory = smtplib.SMTP_SSL if _flag(extra.get("ssl", False)) else smtplib.SMTP
        with factory(host, port, timeout=TIMEOUT_S) as smtp:
            if _flag(extra.get("starttls", False)):
                smtp.starttls()
            if conn.login:
                smtp.login(conn.login, conn.password or "")
            smtp.send_message(message)

    return with_retries("email", send)


#: channel name -> (its default connection, its sender)
SENDERS: dict[str, tuple[str, Callable[..., bool | None]]] = {
    "webhook": (WEBHOOK_CONN_ID, send_webhook),
    "email": (SMTP_CONN_ID, send_email),
}


def send(channel: str, title: str, text: str, level: str, conn_id: str | None = None):
    """Send through one channel (`webhook`, `email`), its default connection unless
    `conn_id`; None when that connection is not configured. Never raises."""
    default, sender = SENDERS[channel]
    return sender(title, text, level, conn_id or default)

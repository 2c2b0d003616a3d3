"""Airflow notifiers for any DAG: a Slack-compatible webhook and SMTP email.

    from umkm.alerts.notifiers import SmtpNotifier, WebhookNotifier

    notifiers = [WebhookNotifier(), SmtpNotifier()]
    with DAG(..., default_args={"on_failure_callback": notifiers,
                                "on_success_callback": notifiers}):  # per task
    with DAG(..., on_failure_callback=notifiers, on_success_callback=notifiers):  # per run

Each is an Airflow 3 `BaseNotifier` (`airflow.sdk`) sending through the project's channel
code (`umkm.alerts.channels`: retries, timeouts; `umkm.alerts`: scrubbing of personal data,
one message per failure per run, the runbook link). What a call sends depends on what the
context says happened:

* a failure (a task's `on_failure_callback`, whose task instance is `failed`; a DAG's, whose
  reason is not `success`): the task-failure alert (`umkm.alerts.notify_task_failure`), with
  the log link on the configured Airflow base URL. Attached at both levels, the DAG's
  message is the task's (same dedupe key: sent once);
* a success of a DAG run (a DAG's `on_success_callback`, or a task's when the task has no
  downstream task, the run's end in a DAG with one last task): the recovery message when
  the DAG had alerted a failure since the last one (`umkm.alerts.notify_recovery`);
* anything else (a retry, a skip, a success in the middle of a run): nothing.

`WebhookNotifier(conn_id="umkm_alert_webhook")`, `SmtpNotifier(conn_id="umkm_alert_smtp")`:
another connection of the same shape may be named (see `umkm.alerts.channels`);
`recovery=False` leaves out the recovery message. A notifier never fails its task.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from airflow.sdk import BaseNotifier

from umkm import alerts
from umkm.alerts import channels

log = logging.getLogger("umkm.alerts")

__all__ = ["SmtpNotifier", "WebhookNotifier", "callback_event", "project_notifiers"]

_FAILED = {"failed", "upstream_failed"}


def _state(value) -> str:
    return str(getattr(value, "value", value) or "").lower()


def callback_event(context) -> str:
    """What the callback reports: `failure`, `success` (the run's end) or `other`."""
    reason = context.get("reason")
    if reason is not None:  # a DAG-level callback (dag processor, or dag.test)
        return "success" if str(reason) == "success" else "failure"
    ti = context.get("ti") or context.get("task_instance")
    state = _state(getattr(ti, "state", None))
    if state in _FAILED:
        return "failure"
    if state and state != "success":  # up_for_retry, skipped, ...
        return "other"
    if not state and context.get("exception") is not None:
        return "failure"
    task = context.get("task") or getattr(ti, "task", None)
    if getattr(task, "downstream_task_ids", None):
        return "other"  # a success in the middle of the run
    return "success"


class _Notifier(BaseNotifier):
    """Sends through one channel of `umkm.alerts.channels`."""

    channel: ClassVar[str]

    def __init__(self, conn_id: str | None = None, *, recovery: bool = True):
        super().__init__()
        self.conn_id = conn_id or channels.SENDERS[self.channel][0]
        self.recovery = recovery

    def render_template_fields(self, context, jinja_env=None) -> None:
        # Nothing to render (no template fields); skipping also spares dag.test's DAG-level
        # callbacks, whose context holds a SerializedDAG that has no template environment.
        if self.template_fields:
            super().render_template_fields(context, jinja_env)

    def notify(self, context) -> None:
        try:
            event = callback_event(context)
            if event == "failure":
                alerts.notify_task_failure(context, channel=self.channel, conn_id=self.conn_id)
            elif event == "success" and self.recovery:
                alerts.notify_recovery(context, channel=self.channel, conn_id=self.conn_id)
        except Exception:  # never fail the task for an alert
            log.exception("event=alert_error notifier=%s", type(self).__name__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r}, recovery={self.recovery!r})"


class WebhookNotifier(_Notifier):
    """A Slack-compatible incoming webhook (connection `umkm_alert_webhook` by default)."""

    channel = "webhook"


class SmtpNotifier(_Notifier):
    """E-mail by SMTP (connection `umkm_alert_smtp` by default: extra `from`, `to`)."""

    channel = "email"


def project_notifiers() -> list[_Notifier]:
    """The notifiers of the project's DAGs: both channels, each sending when configured."""
    return [WebhookNotifier(), SmtpNotifier()]

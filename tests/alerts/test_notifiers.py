"""The Airflow notifiers against the loopback webhook receiver and SMTP sink: called as
Airflow calls a callback (a task instance, its task in a real DAG, the exception), each
sends through its own channel; the recovery message follows a failure once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.alerts.conftest import WebhookReceiver
from umkm import alerts
from umkm.alerts.notifiers import SmtpNotifier, WebhookNotifier, callback_event
from umkm.warehouse.db import connect

RUN1 = "scheduled__2017-11-15T19:00:00+00:00"
RUN2 = "scheduled__2017-12-15T19:00:00+00:00"
RUN3 = "scheduled__2018-01-15T19:00:00+00:00"


def _dag(dag_id: str = "ingest_shopee"):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, start_date=datetime(2017, 1, 1, tzinfo=UTC)) as dag:
        EmptyOperator(task_id="extract_load") >> EmptyOperator(task_id="publish")
    return dag


def context(
    run_id: str,
    task_id: str,
    state: str,
    exception: BaseException | None = None,
    *,
    dag_id: str = "ingest_shopee",
    reason: str | None = None,
) -> dict:
    """What Airflow 3 hands a task's callback (a DAG's when `reason` is given)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.utils.state import TaskInstanceState

    dag = _dag(dag_id)
    task = dag.get_task(task_id)
    ti = RuntimeTaskInstance.model_construct(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        try_number=2,
        map_index=-1,
        state=TaskInstanceState(state) if state else None,
        task=task,
    )
    ctx = {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "run_id": run_id,
        "params": {"snapshot": "2017-11-15"},
        "logical_date": datetime(2017, 11, 15, 19, tzinfo=UTC),
        "exception": exception,
    }
    if reason is not None:
        ctx["reason"] = reason
    return ctx


def failure(run_id: str = RUN1, **kw) -> dict:
    exc = RuntimeError("shopee answered 503; contact siti@example.org 081234567890")
    return context(run_id, "extract_load", "failed", exc, **kw)


def success(run_id: str, task_id: str = "publish", **kw) -> dict:
    return context(run_id, task_id, "success", **kw)


@pytest.fixture(autouse=True)
def airflow_base(monkeypatch):
    monkeypatch.setenv("UMKM_AIRFLOW_BASE_URL", "https://airflow.example.org")


def test_the_notifiers_are_airflow_notifiers():
    from airflow.sdk import BaseNotifier

    assert isinstance(WebhookNotifier(), BaseNotifier)
    assert isinstance(SmtpNotifier(), BaseNotifier)
    assert repr(SmtpNotifier(recovery=False)) == (
        "SmtpNotifier(conn_id='umkm_alert_smtp', recovery=False)"
    )


def test_callback_events():
    assert callback_event(failure()) == "failure"
    assert callback_event(success(RUN2)) == "success"  # the last task
    assert callback_event(success(RUN2, "extract_load")) == "other"  # the middle of the run
    assert callback_event(context(RUN2, "extract_load", "up_for_retry", RuntimeError())) == (
        "other"
    )
    assert callback_event(success(RUN2, "extract_load", reason="success")) == "success"
    assert callback_event(failure(reason="task_failure")) == "failure"


def test_webhook_notifier_sends_through_the_webhook_only(webhook, smtp):
    WebhookNotifier()(failure())
    assert len(webhook.posts) == 1 and smtp.messages == []
    text = webhook.posts[0]["text"]
    assert "task failed: ingest_shopee.extract_load" in text
    assert (
        "Log: https://airflow.example.org/dags/ingest_shopee/runs/"
        "scheduled__2017-11-15T19%3A00%3A00%2B00%3A00/tasks/extract_load?try_number=2"
    ) in text
    assert "Snapshot: 2017-11-15" in text and "Source: shopee" in text
    assert text.endswith("Runbook: docs/RUNBOOK.md#ingest_failed")
    assert "siti@example.org" not in text and "081234567890" not in text


def test_smtp_notifier_sends_by_email_only(webhook, smtp):
    SmtpNotifier()(failure())
    assert webhook.posts == [] and len(smtp.messages) == 1
    mail = smtp.texts()[0]
    assert "Subject: [umkm error] task failed: ingest_shopee.extract_load" in mail
    assert "To: ops@example.org, data@example.org" in mail
    assert "https://airflow.example.org/dags/ingest_shopee/runs/" in mail
    assert "Runbook: docs/RUNBOOK.md#ingest_failed" in mail
    assert "siti@example.org" not in mail


def test_each_notifier_sends_once_per_failure_at_task_and_dag_level(webhook, smtp):
    notifiers = [WebhookNotifier(), SmtpNotifier()]
    for ctx in (failure(), failure(), failure(reason="task_failure")):
        for notifier in notifiers:
            notifier(ctx)
    assert len(webhook.posts) == 1 and len(smtp.messages) == 1


def test_no_connection_at_all_logs_the_alert_once(caplog, capsys):
    with caplog.at_level(logging.WARNING, logger="umkm.alerts"):
        WebhookNotifier()(failure())
        SmtpNotifier()(failure())
    logged = caplog.text + capsys.readouterr().out
    assert logged.count("ALERT [error] task failed: ingest_shopee.extract_load") == 1


def test_a_missing_connection_sends_nothing_when_another_is_configured(webhook, smtp, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_UMKM_ALERT_SMTP")
    SmtpNotifier()(failure())
    WebhookNotifier()(failure())
    assert len(webhook.posts) == 1 and smtp.messages == []


def test_another_connection_of_the_same_shape(webhook, monkeypatch):
    team = WebhookReceiver()
    monkeypatch.setenv("AIRFLOW_CONN_TEAM_B_HOOK", team.url)
    try:
        WebhookNotifier(conn_id="team_b_hook")(failure())
        WebhookNotifier()(failure())
        assert len(team.posts) == 1 and len(webhook.posts) == 1
    finally:
        team.stop()


def test_retries_skips_and_successes_mid_run_send_nothing(webhook):
    notifier = WebhookNotifier()
    notifier(context(RUN1, "extract_load", "up_for_retry", RuntimeError("503")))
    notifier(context(RUN1, "extract_load", "skipped"))
    notifier(success(RUN1, "extract_load"))
    assert webhook.posts == []


def _recoveries(receiver) -> list[str]:
    return [p["text"] for p in receiver.posts if "recovered: " in p["text"]]


def test_recovery_once_after_failure_then_success(webhook, smtp):
    notifiers = [WebhookNotifier(), SmtpNotifier()]
    for notifier in notifiers:
        notifier(failure(RUN1))
    # the failure was alerted 2 h 5 min ago
    for key in alerts._SENT:
        alerts._SENT[key] -= timedelta(hours=2, minutes=5)
    for ctx in (success(RUN2), success(RUN2, reason="success"), success(RUN3)):
        for notifier in notifiers:
            notifier(ctx)

    recovered = _recoveries(webhook)
    assert len(webhook.posts) == 2 and len(recovered) == 1
    text = recovered[0]
    assert text.startswith(
        ":information_source: *recovered: ingest_shopee (failing for 2 h 5 min)*"
    )
    assert f"DAG ingest_shopee succeeded again: run {RUN2}." in text
    assert "It was failing for 2 h 5 min" in text and "1 failure alert(s)" in text
    assert "Run: https://airflow.example.org/dags/ingest_shopee/runs/" in text
    assert text.endswith("Runbook: docs/RUNBOOK.md#recovered")
    mails = smtp.texts()
    assert len(mails) == 2
    assert "Subject: [umkm info] recovered: ingest_shopee (failing for 2 h 5 min)" in mails[1]


def test_no_recovery_after_success_then_success(webhook):
    notifier = WebhookNotifier()
    notifier(success(RUN1))
    notifier(success(RUN2))
    assert webhook.posts == []


def test_no_recovery_from_the_run_that_failed(webhook):
    """A run cleared to success after its failure alert: no recovery yet; the next run's."""
    notifier = WebhookNotifier()
    notifier(failure(RUN1))
    notifier(success(RUN1))
    assert _recoveries(webhook) == []
    notifier(success(RUN2))
    assert len(_recoveries(webhook)) == 1


def test_recovery_is_per_dag(webhook):
    notifier = WebhookNotifier()
    notifier(failure(RUN1, dag_id="ingest_shopee"))
    notifier(success(RUN2, dag_id="ingest_lazada"))
    assert _recoveries(webhook) == []
    notifier(success(RUN2, dag_id="ingest_shopee"))
    assert len(_recoveries(webhook)) == 1


def test_recovery_after_a_critical_validation_failure(webhook):
    """The task failure of a critical validation is not alerted again; the validation's
    alert (key `validation:<dag>:<run>:...:failed`) is the failure recovered from."""
    from tests.alerts.test_alerts import _context

    alerts.notify(
        "validation failed: kominfo 2017-11-15",
        "total_equals_parts failed",
        dedupe_key=f"validation:ingest_kominfo:{RUN1}:kominfo:2017-11-15:failed",
    )

    class CriticalValidationError(RuntimeError):
        pass

    ctx = _context(CriticalValidationError("total"))
    ctx["ti"].dag_id = "ingest_kominfo"
    WebhookNotifier()(ctx)
    assert len(webhook.posts) == 1  # the validation's alert only
    WebhookNotifier()(success(RUN2, dag_id="ingest_kominfo"))
    recovered = _recoveries(webhook)
    assert len(recovered) == 1 and "validation:ingest_kominfo:" in recovered[0]


def test_recovery_across_processes_through_the_warehouse(webhook, warehouse, monkeypatch):
    """Each callback as if in its own process (memory forgotten): the warehouse's
    `audit.alerts_sent` carries the failure to the recovery, and the recovery to the next
    success."""
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    with connect(warehouse) as conn:
        conn.execute("delete from audit.alerts_sent where dedupe_key like '%ingest_blibli%'")
    notifier = WebhookNotifier()
    for ctx in (
        failure(RUN1, dag_id="ingest_blibli"),
        success(RUN2, dag_id="ingest_blibli"),
        success(RUN2, dag_id="ingest_blibli"),
        success(RUN3, dag_id="ingest_blibli"),
    ):
        alerts._SENT.clear()
        notifier(ctx)
    assert len(webhook.posts) == 2 and len(_recoveries(webhook)) == 1
    with connect(warehouse) as conn:
        rows = conn.execute(
            "select dedupe_key, level, channels from audit.alerts_sent "
            "where dedupe_key like '%ingest_blibli%' order by sent_at"
        ).fetchall()
    assert rows == [
        (f"task_failure:ingest_blibli:{RUN1}:extract_load#umkm_alert_webhook", "error", "webhook"),
        (f"recovered:ingest_blibli:{RUN2}#umkm_alert_webhook", "info", "webhook"),
    ]
    # failing again, then well again: a second recovery
    for ctx in (failure(RUN3, dag_id="ingest_blibli"), success("r4", dag_id="ingest_blibli")):
        alerts._SENT.clear()
        notifier(ctx)
    assert len(_recoveries(webhook)) == 2


def test_the_project_dags_use_the_notifiers():
    from umkm.orchestration import common

    args = common.default_args("data-engineering", "extract")
    assert [type(n) for n in args["on_failure_callback"]] == [WebhookNotifier, SmtpNotifier]
    assert [type(n) for n in args["on_success_callback"]] == [WebhookNotifier, SmtpNotifier]

"""The notifier against a loopback webhook receiver and a loopback SMTP sink."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace

from tests.alerts.conftest import WebhookReceiver, free_port
from umkm import alerts


def _context(exc: Exception) -> dict:
    ti = SimpleNamespace(
        dag_id="ingest_shopee",
        task_id="extract_load",
        run_id="scheduled__2017-11-15T19:00:00+00:00",
        try_number=3,
        map_index=-1,
    )
    return {
        "ti": ti,
        "run_id": ti.run_id,
        "params": {},
        "logical_date": datetime(2017, 11, 15, 19, 0, tzinfo=UTC),
        "exception": exc,
    }


def test_no_channel_logs_a_warning(caplog, capsys):
    with caplog.at_level(logging.WARNING, logger="umkm.alerts"):
        assert alerts.notify("stale source: blanja", "no data for 2017-11-15", level="warning")
    # Airflow's structured logging, when imported by another test, writes to stdout instead
    logged = caplog.text + capsys.readouterr().out
    assert "ALERT [warning] stale source: blanja" in logged


def test_webhook_and_email_receive_the_task_failure(webhook, smtp, monkeypatch):
    monkeypatch.setenv("UMKM_AIRFLOW_BASE_URL", "https://airflow.example.org/")
    exc = RuntimeError("shopee answered 503 five times; owner siti@example.org 081234567890")
    alerts.notify_task_failure(_context(exc))
    assert len(webhook.posts) == 1 and len(smtp.messages) == 1
    text = webhook.posts[0]["text"]
    mail = smtp.texts()[0]
    for body in (text, mail):
        assert "ingest_shopee" in body and "extract_load" in body
        assert "scheduled__2017-11-15T19:00:00+00:00" in body
        assert "Snapshot: 2017-11-15" in body
        assert "Source: shopee" in body
        # the Airflow 3 UI's task instance page (its log tab), on the configured base URL
        assert (
            "Log: https://airflow.example.org/dags/ingest_shopee/runs/"
            "scheduled__2017-11-15T19%3A00%3A00%2B00%3A00/tasks/extract_load?try_number=3"
        ) in body
        assert "Alert: ingest_failed" in body
        assert "Runbook: docs/RUNBOOK.md#ingest_failed" in body
        assert "siti@example.org" not in body and "081234567890" not in body
    assert "ops@example.org, data@example.org" in mail


def test_one_message_per_failure_per_run(webhook):
    context = _context(RuntimeError("boom"))
    alerts.notify_task_failure(context)
    alerts.notify_task_failure(context)
    assert len(webhook.posts) == 1


def test_failed_delivery_is_retried(monkeypatch):
    receiver = WebhookReceiver(fail_first=2)
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_ALERT_WEBHOOK", receiver.url)
    try:
        assert alerts.notify("t", "x", dedupe_key="retry-test")
        assert receiver.requests == 3 and len(receiver.posts) == 1
    finally:
        receiver.stop()


def test_unreachable_channels_never_raise(monkeypatch, caplog, capsys):
    port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_ALERT_WEBHOOK", f"http://127.0.0.1:{port}/hook")
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_ALERT_SMTP", f"smtp://127.0.0.1:{port}?to=a%40b.c")
    with caplog.at_level(logging.WARNING, logger="umkm.alerts"):
        assert alerts.notify("t", "x") is False
    assert "alert_delivery_failed" in caplog.text + capsys.readouterr().out


def test_critical_validation_failure_is_not_alerted_twice(webhook):
    class CriticalValidationError(RuntimeError):
        pass

    alerts.notify_task_failure(_context(CriticalValidationError("volume")))
    assert webhook.posts == []


def test_scrub_masks_personal_data():
    text = "call +62 812-3456-7890 or 0812 3456 7890, mail a.b@c.co.id, NIK 3201123456789012"
    out = alerts.scrub(text)
    assert "7890" not in out and "a.b@c.co.id" not in out and "3201123456789012" not in out
    assert alerts.scrub("batch shopee-20171115T010203 had 1200 rows") == (
        "batch shopee-20171115T010203 had 1200 rows"
    )

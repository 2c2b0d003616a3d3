"""Validation alerts reach the loopback receivers; replay; suite files match the code."""

from __future__ import annotations

import argparse

import pytest

from tests.alerts.conftest import SmtpSink, WebhookReceiver
from tests.validation.conftest import SNAPSHOT
from tests.validation.fixtures import PII, make_batch, merchant
from umkm.sources import load_registry
from umkm.validation import CriticalValidationError, cli, quarantine, suites, validate_batch
from umkm.warehouse.db import connect


def test_committed_suites_match_the_code():
    for source_id in load_registry():
        assert suites.suite_path(source_id).read_text() == suites.render(source_id), (
            f"{source_id}: run `umkm validate --write-suites`"
        )


@pytest.fixture
def receivers(monkeypatch):
    hook, sink = WebhookReceiver(), SmtpSink()
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_ALERT_WEBHOOK", hook.url)
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_ALERT_SMTP", f"smtp://127.0.0.1:{sink.port}?to=o%40x.org")
    yield hook, sink
    hook.stop()
    sink.stop()


def test_validation_alert_content(wh, receivers):
    hook, sink = receivers
    rows = [(f"S{i:05d}", merchant("lazada", i)) for i in range(30)]
    rows[3][1]["city"] = "Atlantis"
    rows[4][1]["tier"] = "diamond"
    context = {"ti": None, "run_id": "manual__alert-test", "params": {"snapshot": "2017-11-15"}}
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "lazada", SNAPSHOT, "lazada-alert", rows)
    outcome = validate_batch("lazada", SNAPSHOT, "lazada-alert", url=wh, context=context)
    assert outcome.status == "warning"
    # the same run validated again: no second message
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "lazada", SNAPSHOT, "lazada-alert", rows)
    validate_batch("lazada", SNAPSHOT, "lazada-alert", url=wh, context=context)
    assert len(hook.posts) == 1 and len(sink.messages) == 1
    for body in (hook.posts[0]["text"], sink.texts()[0]):
        assert "lazada" in body and "2017-11-15" in body and "lazada-alert" in body
        assert "region_resolves: observed 1" in body and "tier_allowed: observed 1" in body
        assert "Rows quarantined: 2 of 30" in body
        assert "Data docs:" in body and "data_docs" in body
        for value in PII.values():
            assert value not in body


def test_critical_failure_alerts_and_raises(wh, receivers):
    hook, _ = receivers
    doc = {"tanggal": "2017-11-15", "total": 5, "rincian": [{"sumber": "Shopee", "jumlah": 4}]}
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "kominfo", SNAPSHOT, "kominfo-alert", [("2017-11-15", doc)])
    with pytest.raises(CriticalValidationError):
        validate_batch("kominfo", SNAPSHOT, "kominfo-alert", url=wh)
    assert len(hook.posts) == 1
    assert "total_equals_parts" in hook.posts[0]["text"]
    assert "NOT published" in hook.posts[0]["text"]


def _published_with_quarantine(conn) -> None:
    rows = [(f"S{i:05d}", merchant("tokopedia", i)) for i in range(10)]
    rows[2][1]["city"] = "Kota Narnia"
    make_batch(conn, "tokopedia", SNAPSHOT, "toko-replay", rows)
    with conn.transaction():
        conn.execute(
            "insert into audit.loads (source_id, snapshot, batch_id, mode, status, rows_fetched)"
            " values ('tokopedia', %s, 'toko-replay', 'full', 'running', 10)",
            (SNAPSHOT,),
        )


def test_replay_after_alias_added(wh):
    with connect(wh, autocommit=True) as conn:
        _published_with_quarantine(conn)
        outcome = validate_batch("tokopedia", SNAPSHOT, "toko-replay", url=wh, alert=False)
        assert outcome.rows_quarantined == 1
        # what publish does: copy the rest, count, close the attempt
        conn.execute("delete from raw.tokopedia where snapshot = %s", (SNAPSHOT,))
        conn.execute("insert into raw.tokopedia select * from raw.tokopedia__batch_20171115")
        conn.execute(
            "update audit.loads set status = 'success', rows_loaded = 9, rows_rejected = 1 "
            "where batch_id = 'toko-replay'"
        )
        before = quarantine.replay(conn, "tokopedia", SNAPSHOT)
        assert (before.candidates, before.replayed) == (1, 0)
        conn.execute("insert into public.umkm_region_aliases values ('narnia', '1101')")
        after = quarantine.replay(conn, "tokopedia", SNAPSHOT)
        assert after.replayed == 1
        fetched, loaded, rejected = conn.execute(
            "select rows_fetched, rows_loaded, rows_rejected from audit.loads "
            "where batch_id = 'toko-replay'"
        ).fetchone()
        assert (loaded, rejected) == (10, 0) and fetched == loaded + rejected
        assert (
            conn.execute(
                "select count(*) from raw.tokopedia where snapshot = %s", (SNAPSHOT,)
            ).fetchone()[0]
            == 10
        )
        shown = quarantine.show_quarantine(conn, "tokopedia", SNAPSHOT)
        assert shown and all("record" not in item for item in shown)
        listed = quarantine.list_quarantine(conn, "tokopedia", SNAPSHOT)
        assert listed[0]["replayed"] == 1


def test_cli_parser_has_the_commands():
    root = argparse.ArgumentParser()
    cli.add_parser(root.add_subparsers(dest="command"))
    args = root.parse_args(["validate", "shopee", "--snapshot", "2017-11-15"])
    assert args.func is cli.run_validate and str(args.snapshot) == "2017-11-15"
    args = root.parse_args(["quarantine", "show", "shopee", "--snapshot", "2017-11-15"])
    assert args.func is cli.run_quarantine and not args.raw

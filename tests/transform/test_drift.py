"""The bridge drift alert against a loopback webhook receiver.

The bridge mart is written by hand into a throwaway warehouse (no dbt run needed): what
`check_drift` reads is `marts.mart_reconciliation_bridge`.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.alerts.conftest import WebhookReceiver
from umkm import alerts
from umkm.bridge import STEP_IDS
from umkm.transform.drift import check_drift, compare
from umkm.warehouse.db import connect

STEPS = list(STEP_IDS)
#: steps 1..9 of a bridge that closes at 3,790 (scale 0.001 of the 2017 figures)
BASE = [4600, -200, -120, -300, -500, -40, -900, -700, 1950]


def bridge_rows(snapshot: date, values: list[int], end: int | None = None) -> list[tuple]:
    """Rows of the mart for steps 1..9 `values`; step 10 is their sum unless `end` is given."""
    rows, total = [], 0
    for order, (step_id, value) in enumerate(zip(STEPS, values, strict=False), start=1):
        total += value
        rows.append((snapshot, order, step_id, step_id, value, total))
    c = total if end is None else end
    rows.append((snapshot, 10, STEPS[9], STEPS[9], c, c))
    return rows


@pytest.fixture(scope="module")
def bridge_table(warehouse):
    with connect(warehouse) as conn:
        conn.execute(
            """
            create table if not exists marts.mart_reconciliation_bridge (
                snapshot date, step_order integer, step_id text, description text,
                value bigint, running_total bigint
            )
            """
        )
    return warehouse


@pytest.fixture
def load(bridge_table):
    def _load(*snapshots: list[tuple]) -> str:
        with connect(bridge_table) as conn:
            conn.execute("truncate marts.mart_reconciliation_bridge")
            conn.execute("delete from audit.alerts_sent where dedupe_key like 'bridge_drift:%'")
            with conn.cursor() as cur:
                for rows in snapshots:
                    cur.executemany(
                        "insert into marts.mart_reconciliation_bridge values "
                        "(%s, %s, %s, %s, %s, %s)",
                        rows,
                    )
        return bridge_table

    return _load


@pytest.fixture
def webhook(monkeypatch):
    receiver = WebhookReceiver()
    for name in ("AIRFLOW_CONN_UMKM_ALERT_SMTP", "UMKM_CONNECTIONS_FILE", "UMKM_DRIFT_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_ALERT_WEBHOOK", receiver.url)
    monkeypatch.setenv("UMKM_ALERT_BACKOFF_S", "0.01")
    alerts._SENT.clear()
    yield receiver
    receiver.stop()


D1, D2 = date(2017, 11, 15), date(2018, 6, 30)


def test_small_moves_send_nothing(load, webhook):
    later = [round(v * 1.05) for v in BASE]
    url = load(bridge_rows(D1, BASE), bridge_rows(D2, later))
    report = check_drift(D2, url=url)
    assert report.previous_snapshot == D1
    assert report.residual == 0
    assert not report.moved and not report.drifted and not report.alerted
    assert webhook.posts == []


def test_a_moved_step_sends_one_alert_with_the_numbers(load, webhook):
    later = list(BASE)
    later[1] = -600  # feed_recount_gap: -200 -> -600 (200%)
    later[6] = -1000  # dormant_accounts: -900 -> -1000 (11%)
    later[8] = BASE[8] + 500  # registry_only: 1,950 -> 2,450 (26%), C stays 3,790
    url = load(bridge_rows(D1, BASE), bridge_rows(D2, later))
    report = check_drift(D2, url=url)
    moved = {m.step_id for m in report.moved}
    assert moved == {"feed_recount_gap", "dormant_accounts", "registry_only"}
    assert report.residual == 0 and report.alerted
    assert len(webhook.posts) == 1
    text = webhook.posts[0]["text"]
    assert "2018-06-30" in text and "2017-11-15" in text
    assert "feed_recount_gap" in text and "-200" in text and "-600" in text
    assert "dormant_accounts" in text and "-1,000" in text
    # the same build checked again does not alert twice
    check_drift(D2, url=url)
    assert len(webhook.posts) == 1


def test_threshold_from_the_environment(load, webhook, monkeypatch):
    later = list(BASE)
    later[6] = -1000  # 11%
    later[8] = BASE[8] + 100
    url = load(bridge_rows(D1, BASE), bridge_rows(D2, later))
    monkeypatch.setenv("UMKM_DRIFT_THRESHOLD", "0.2")
    assert not check_drift(D2, url=url).drifted
    assert check_drift(D2, url=url, threshold=0.05).alerted
    assert len(webhook.posts) == 1


def test_a_residual_alerts_even_without_a_previous_snapshot(load, webhook):
    url = load(bridge_rows(D1, BASE, end=3791))
    report = check_drift(D1, url=url)
    assert report.previous_snapshot is None
    assert report.residual == 1 and report.drifted and report.alerted
    assert len(webhook.posts) == 1
    assert "residual" in webhook.posts[0]["text"].lower()


def test_missing_bridge_is_reported_not_alerted(load, webhook):
    url = load(bridge_rows(D1, BASE))
    report = check_drift(D2, url=url)
    assert not report.found and not report.alerted
    assert webhook.posts == []


def _as_read(rows: list[tuple]) -> list[tuple]:
    """(step_order, step_id, value, running_total), as check_drift reads them."""
    return [(r[1], r[2], r[4], r[5]) for r in rows]


def test_compare_treats_a_step_leaving_zero_as_moved():
    before = _as_read(bridge_rows(D1, [*BASE[:1], 0, *BASE[2:]]))
    after = _as_read(bridge_rows(D2, [*BASE[:1], -5, *BASE[2:8], BASE[8] + 5]))
    report = compare(D2, after, before, D1, 0.10)
    assert [m.step_id for m in report.moved] == ["feed_recount_gap"]
    assert report.residual == 0

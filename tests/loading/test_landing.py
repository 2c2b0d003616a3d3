"""Write, audit, publish: exact, idempotent, resumable raw loads on loopback servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from servers.feeds import SNAPSHOT, Fault
from servers.harness import (
    FAST,
    assert_resumed_exactly,
    loads,
    raw_ids,
    raw_rows,
    wait_for_committed_rows,
)

from umkm.connectors.errors import IngestError
from umkm.loading import discard, extract_load, publish


def full_load(url: str, source_id: str, snapshot: str = SNAPSHOT, **kwargs):
    result = extract_load(source_id, snapshot, url=url, policy=FAST, **kwargs)
    assert result.status == "loaded"
    publish(source_id, snapshot, result.batch_id, url=url)
    return result


def test_same_snapshot_twice_gives_identical_rows(wh, feed_server):
    feed_server("apikey-offset", "bukalapak")
    full_load(wh, "bukalapak")
    first = [(r[0], r[1], r[2]) for r in raw_rows(wh, "bukalapak", SNAPSHOT)]
    full_load(wh, "bukalapak")
    second = [(r[0], r[1], r[2]) for r in raw_rows(wh, "bukalapak", SNAPSHOT)]
    assert first == second
    assert [a["status"] for a in loads(wh, "bukalapak")] == ["success", "success"]


def test_failed_batch_leaves_published_rows_untouched(wh, feed_server):
    server = feed_server("oauth-cursor", "tokopedia")
    full_load(wh, "tokopedia")
    before = raw_rows(wh, "tokopedia", SNAPSHOT)
    server.faults.append(Fault("503", "/v1/merchants", times=99, retry_after="0"))
    with pytest.raises(IngestError):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    assert raw_rows(wh, "tokopedia", SNAPSHOT) == before
    statuses = [a["status"] for a in loads(wh, "tokopedia")]
    assert statuses == ["success", "failed"]


def test_discarded_batch_leaves_published_rows_untouched(wh, feed_server):
    feed_server("apikey-offset", "blibli")
    full_load(wh, "blibli")
    before = raw_rows(wh, "blibli", SNAPSHOT)
    result = extract_load("blibli", SNAPSHOT, url=wh, policy=FAST)
    discard("blibli", SNAPSHOT, result.batch_id, "validation: critical failure", url=wh)
    assert raw_rows(wh, "blibli", SNAPSHOT) == before
    assert loads(wh, "blibli")[-1]["status"] == "failed"


def test_interrupted_pull_resumes_without_loss_or_duplicates(wh, feed_server):
    """Exhausted retries mid-way keep the committed pages; the next attempt resumes."""
    server = feed_server("signed-page", "shopee", count=3500)
    server.faults.append(Fault("503", "/api/v2/merchants", times=FAST.max_attempts, after=2))
    with pytest.raises(IngestError):
        extract_load("shopee", SNAPSHOT, url=wh, policy=FAST)
    result = extract_load("shopee", SNAPSHOT, url=wh, policy=FAST)
    publish("shopee", SNAPSHOT, result.batch_id, url=wh)
    rows = raw_rows(wh, "shopee", SNAPSHOT)
    assert sorted(r[0] for r in rows) == sorted(server.expected_ids())
    assert sorted(r[2] for r in rows) == list(range(len(rows)))
    pages = [q for _m, p, q in server.requests if p == "/api/v2/merchants"]
    assert pages[0]["page"] == ["1"]
    # the resumed attempt did not start again at page 1
    assert [q["page"] for q in pages].count(["1"]) == 1


def test_killed_process_mid_pull_then_rerun_loads_exactly(wh, feed_server):
    """kill -9 of the loading process; the rerun resumes from the last committed page."""
    server = feed_server("apikey-offset", "bukalapak", count=9000, page_delay_s=0.3)
    env_var = next(k for k in os.environ if k == "AIRFLOW_CONN_UMKM_BUKALAPAK")
    code = textwrap.dedent(
        f"""
        from umkm.loading import extract_load
        extract_load("bukalapak", "{SNAPSHOT}", url="{wh}")
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], env={**os.environ, env_var: os.environ[env_var]}
    )
    try:
        wait_for_committed_rows(wh, "bukalapak", 2000)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    server.page_delay_s = 0
    result = extract_load("bukalapak", SNAPSHOT, url=wh, policy=FAST)
    publish("bukalapak", SNAPSHOT, result.batch_id, url=wh)
    assert_resumed_exactly(wh, server, SNAPSHOT)


def test_no_data_leaves_published_rows_and_records_state(wh, feed_server):
    feed_server("file-drop", "mataharimall", delimiter=";", crlf=True, snapshots=("2018-11-15",))
    result = extract_load("mataharimall", "2019-01-15", url=wh, policy=FAST)
    assert result.status == "no_data"
    assert raw_ids(wh, "mataharimall", "2019-01-15") == []
    assert loads(wh, "mataharimall")[-1]["status"] == "no_data"


def test_incremental_pull_carries_the_snapshot_forward(wh, feed_server):
    server = feed_server("oauth-cursor", "tokopedia", snapshots=(SNAPSHOT, "2017-12-15"))
    full_load(wh, "tokopedia")
    result = extract_load("tokopedia", "2017-12-15", url=wh, policy=FAST, mode="incremental")
    publish("tokopedia", "2017-12-15", result.batch_id, url=wh)
    assert raw_ids(wh, "tokopedia", "2017-12-15") == sorted(server.expected_ids("2017-12-15"))
    since = [q for _m, p, q in server.requests if p == "/v1/merchants" and "updated_since" in q]
    assert since, "the incremental pull did not send updated_since"
    [_, attempt] = loads(wh, "tokopedia")
    assert attempt["mode"] == "incremental"


def test_the_watermark_comes_from_published_rows_and_never_passes_the_snapshot(wh, feed_server):
    """One record dated in the future must not stop incremental pulls for good: the
    watermark is the latest `updated_at` published, capped at the snapshot day's end."""
    from datetime import datetime, timedelta, timezone

    from servers.feeds import merchant

    from umkm.loading import audit
    from umkm.warehouse.db import connect

    records = [merchant(i) for i in range(20)]
    records[3]["updated_at"] = "2031-01-01T00:00:00+07:00"
    feed_server("oauth-cursor", "tokopedia", served=records)
    full_load(wh, "tokopedia")
    with connect(wh) as db:
        mark = audit.get_watermark(db, "tokopedia")
    wib = timezone(timedelta(hours=7))
    assert mark == datetime(2017, 11, 16, tzinfo=wib)
    # without the future record: the latest published updated_at itself
    del records[3]
    feed_server("oauth-cursor", "tokopedia", served=records)
    with connect(wh) as db:
        db.execute("delete from audit.watermarks where source_id = 'tokopedia'")
    full_load(wh, "tokopedia")
    with connect(wh) as db:
        mark = audit.get_watermark(db, "tokopedia")
    latest = max(datetime.fromisoformat(r["updated_at"]) for r in records)
    assert mark == latest


def test_publish_again_after_a_lost_acknowledgement_changes_nothing(wh, feed_server):
    feed_server("apikey-offset", "bukalapak")
    result = extract_load("bukalapak", SNAPSHOT, url=wh, policy=FAST)
    first = publish("bukalapak", SNAPSHOT, result.batch_id, url=wh)
    rows = raw_rows(wh, "bukalapak", SNAPSHOT)
    again = publish("bukalapak", SNAPSHOT, result.batch_id, url=wh)
    assert again == first == len(rows)
    assert raw_rows(wh, "bukalapak", SNAPSHOT) == rows
    assert [a["status"] for a in loads(wh, "bukalapak")] == ["success"]


def test_a_second_load_of_the_snapshot_waits_for_the_first_and_takes_its_batch(wh, feed_server):
    """Two loads of one source and snapshot at once (two operators): the second waits for
    the first's lock instead of failing, then finds the pull finished and answers with the
    same batch, pulling nothing again; one publish serves both."""
    import threading

    server = feed_server("apikey-offset", "bukalapak", count=2000, page_delay_s=0.05)
    results: dict[str, object] = {}
    first = threading.Thread(
        target=lambda: results.update(
            first=extract_load("bukalapak", SNAPSHOT, url=wh, policy=FAST)
        )
    )
    first.start()
    deadline = time.monotonic() + 60
    while not loads(wh, "bukalapak"):
        assert time.monotonic() < deadline, "the first load never started"
        time.sleep(0.05)
    second = extract_load("bukalapak", SNAPSHOT, url=wh, policy=FAST)
    first.join(timeout=120)
    assert second.batch_id == results["first"].batch_id
    assert second.rows_loaded == results["first"].rows_loaded == 2000
    pages = [q for _m, p, q in server.requests if p == "/api/v2/merchants"]
    assert len(pages) == len(set(map(str, pages)))  # no page pulled twice
    assert [a["status"] for a in loads(wh, "bukalapak")] == ["running"]  # one attempt
    assert publish("bukalapak", SNAPSHOT, second.batch_id, url=wh) == 2000
    assert publish("bukalapak", SNAPSHOT, results["first"].batch_id, url=wh) == 2000
    assert [r[0] for r in raw_rows(wh, "bukalapak", SNAPSHOT)] == sorted(server.expected_ids())


def test_the_same_snapshot_twice_at_once_without_waiting_is_refused_then_same_result(
    wh, feed_server, monkeypatch
):
    """With `UMKM_LOAD_LOCK_WAIT=0` the second load is refused while the first runs, with a
    message naming the wait; run again afterwards (what its task's retry does) it publishes
    the same rows."""
    import threading

    from umkm.connectors.errors import BatchStateError

    monkeypatch.setenv("UMKM_LOAD_LOCK_WAIT", "0")
    server = feed_server("apikey-offset", "bukalapak", count=3000, page_delay_s=0.1)
    first = threading.Thread(target=full_load, args=(wh, "bukalapak"))
    first.start()
    deadline = time.monotonic() + 60
    while not loads(wh, "bukalapak"):
        assert time.monotonic() < deadline, "the first load never started"
        time.sleep(0.05)
    with pytest.raises(
        BatchStateError, match=r"another load or validation .* \(waited 0 s, UMKM_LOAD_LOCK_WAIT"
    ):
        extract_load("bukalapak", SNAPSHOT, url=wh, policy=FAST)
    first.join(timeout=120)
    published = raw_rows(wh, "bukalapak", SNAPSHOT)
    assert [r[0] for r in published] == sorted(server.expected_ids())
    server.page_delay_s = 0
    full_load(wh, "bukalapak")
    assert raw_rows(wh, "bukalapak", SNAPSHOT) == published


def test_the_load_lock_ends_with_the_load_not_with_its_connection(wh):
    """A publish right after a load must find the snapshot free: the load's lock is released
    explicitly, not left to the server ending the session (asynchronous, slow under load)."""
    from umkm.loading.extract import snapshot_lock
    from umkm.warehouse.db import connect

    with connect(wh, autocommit=True) as loader, connect(wh, autocommit=True) as other:
        probe = "select pg_try_advisory_xact_lock(hashtextextended(%s, 0))"
        key = f"umkm-ingest:bukalapak:{SNAPSHOT}"
        with snapshot_lock(loader, "bukalapak", SNAPSHOT), other.transaction():
            assert other.execute(probe, (key,)).fetchone()[0] is False
        # the loader's connection is still open: only an explicit unlock frees the key
        with other.transaction():
            assert other.execute(probe, (key,)).fetchone()[0] is True

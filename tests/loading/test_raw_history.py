"""History stored once (umkm.warehouse.raw_history): each snapshot reads back exactly as it
was delivered, while a record whose content did not change is stored once."""

from __future__ import annotations

import copy
import json
import threading

from servers.feeds import SNAPSHOT
from servers.harness import FAST

from umkm.loading import extract_load, publish
from umkm.warehouse import raw_history
from umkm.warehouse.db import connect

NEXT = "2017-12-15"


def _load(url: str, snapshot: str, mode: str = "full") -> None:
    result = extract_load("bukalapak", snapshot, url=url, policy=FAST, mode=mode)
    assert result.status == "loaded"
    publish("bukalapak", snapshot, result.batch_id, url=url)


def _published(url: str, snapshot: str) -> list[tuple[str, dict]]:
    """(record_id, record) of the snapshot in feed order, read through raw.bukalapak."""
    with connect(url) as db:
        return db.execute(
            "select record_id, record from raw.bukalapak where snapshot = %s "
            "order by feed_position",
            (snapshot,),
        ).fetchall()


def _stored(url: str) -> tuple[int, int]:
    with connect(url) as db:
        versions = db.execute("select count(*) from raw.bukalapak__versions").fetchone()[0]
        deliveries = db.execute("select count(*) from raw.bukalapak__deliveries").fetchone()[0]
    return versions, deliveries


def _delivered(records: list[dict]) -> list[tuple[str, dict]]:
    """What the server delivers (apikey-offset: ordered by store id, as strings)."""
    ordered = sorted(records, key=lambda r: str(r["store_id"]))
    return [(r["store_id"], json.loads(json.dumps(r))) for r in ordered]


def _next_month(records: list[dict]) -> list[dict]:
    """Every shop active again (its activity field changes), two renamed, one gone, two new."""
    month = copy.deepcopy(records)
    for i, record in enumerate(month):
        record["updated_at"] = f"2017-12-{1 + i % 14:02d}T08:00:00+07:00"
    month[3]["name"] = "Toko Ganti Nama"
    month[4]["address"]["street"] = "Jl. Baru No. 1"
    del month[10]
    for n in (900, 901):
        fresh = copy.deepcopy(month[0])
        fresh["store_id"], fresh["name"] = f"{n:06d}", f"Toko Baru {n}"
        month.append(fresh)
    return month


def test_each_snapshot_reads_back_as_delivered_and_unchanged_content_is_stored_once(
    wh, feed_server
):
    server = feed_server("apikey-offset", "bukalapak", snapshots=(SNAPSHOT, NEXT))
    first = copy.deepcopy(server.records)
    _load(wh, SNAPSHOT)
    assert _published(wh, SNAPSHOT) == _delivered(first)
    assert _stored(wh) == (len(first), len(first))

    server.records = _next_month(first)
    second = copy.deepcopy(server.records)
    _load(wh, NEXT)
    assert _published(wh, SNAPSHOT) == _delivered(first)
    assert _published(wh, NEXT) == _delivered(second)
    # a new activity date is kept per delivery: only the two changed and two new records
    # are new versions
    assert _stored(wh) == (len(first) + 4, len(first) + len(second))

    # the same delivery again: replaced in place, nothing new stored
    _load(wh, NEXT)
    assert _published(wh, NEXT) == _delivered(second)
    assert _stored(wh) == (len(first) + 4, len(first) + len(second))


def test_an_incremental_snapshot_carries_the_deliveries_forward(wh, feed_server):
    server = feed_server("apikey-offset", "bukalapak", snapshots=(SNAPSHOT, NEXT))
    first = copy.deepcopy(server.records)
    _load(wh, SNAPSHOT)
    changed = copy.deepcopy(first)
    changed[5]["name"] = "Toko Berubah"
    changed[5]["updated_at"] = "2017-12-01T08:00:00+07:00"
    server.records = changed
    _load(wh, NEXT, mode="incremental")
    with connect(wh) as db:
        mode = db.execute(
            "select mode from audit.loads where snapshot = %s order by load_id desc limit 1",
            (NEXT,),
        ).fetchone()[0]
    assert mode == "incremental"
    got = dict(_published(wh, NEXT))
    assert got == dict(_delivered(changed))
    assert _stored(wh) == (len(first) + 1, 2 * len(first))


def test_writes_through_the_view_keep_every_other_snapshot(wh, feed_server):
    """A replay, validation of a published snapshot or a hand fix writes through the view."""
    server = feed_server("apikey-offset", "bukalapak", snapshots=(SNAPSHOT, NEXT))
    _load(wh, SNAPSHOT)
    _load(wh, NEXT)
    before = _published(wh, SNAPSHOT)
    with connect(wh) as db:
        db.execute(
            "update raw.bukalapak set record = jsonb_set(record, '{name}', '\"Diperbaiki\"') "
            "where snapshot = %s and record_id = %s",
            (NEXT, server.records[0]["store_id"]),
        )
        db.execute(
            "delete from raw.bukalapak where snapshot = %s and record_id = %s",
            (NEXT, server.records[1]["store_id"]),
        )
        db.execute(
            "insert into raw.bukalapak select %s, '999999', record || '{\"store_id\": "
            '"999999"}\', batch_id, 999, loaded_at from raw.bukalapak '
            "where snapshot = %s and record_id = %s",
            (NEXT, NEXT, server.records[2]["store_id"]),
        )
    after = dict(_published(wh, NEXT))
    expected = dict(_delivered(server.records))
    expected[server.records[0]["store_id"]]["name"] = "Diperbaiki"
    del expected[server.records[1]["store_id"]]
    expected["999999"] = {**expected[server.records[2]["store_id"]], "store_id": "999999"}
    assert after == expected
    assert _published(wh, SNAPSHOT) == before


def test_writes_of_one_source_go_one_at_a_time(wh, feed_server):
    """Snapshots of a source share versions, so a publish waits for another transaction
    writing the same source's raw (a backfill's publish of another snapshot) instead of
    deadlocking with it."""
    feed_server("apikey-offset", "bukalapak", snapshots=(SNAPSHOT, NEXT))
    _load(wh, SNAPSHOT)
    result = extract_load("bukalapak", NEXT, url=wh, policy=FAST)
    done: list[int] = []
    with connect(wh) as holder:
        raw_history.lock_source(holder, "bukalapak")  # another writer, mid-transaction
        publisher = threading.Thread(
            target=lambda: done.append(publish("bukalapak", NEXT, result.batch_id, url=wh))
        )
        publisher.start()
        publisher.join(timeout=2.0)
        assert publisher.is_alive() and not done  # waiting for the other writer
        holder.commit()
    publisher.join(timeout=60)
    assert done and done[0] == len(_published(wh, NEXT)) > 0

"""Every protocol against its loopback server: the loaded ids are exactly the served ones."""

from __future__ import annotations

import json

import pytest
from servers.feeds import MISSING, SNAPSHOT
from servers.harness import FAST, loads, quarantined, raw_ids, raw_rows

from umkm.loading import extract_load, publish

CASES = [
    ("oauth-cursor", "tokopedia", {}),
    ("signed-page", "shopee", {}),
    ("apikey-offset", "bukalapak", {}),
    ("file-drop", "blanja", {}),
    ("file-drop", "mataharimall", {"delimiter": ";", "crlf": True}),
    ("ckan", "kemenkopukm", {}),
    ("xlsx", "kemenperin", {}),
    ("summary", "kominfo", {}),
    ("reference-csv", "bps", {"crlf": True}),
]


def load(url: str, source_id: str, snapshot: str = SNAPSHOT, **kwargs):
    result = extract_load(source_id, snapshot, url=url, policy=FAST, **kwargs)
    if result.status == "loaded":
        publish(source_id, snapshot, result.batch_id, url=url)
    return result


@pytest.mark.parametrize(("protocol", "source_id", "options"), CASES, ids=[c[1] for c in CASES])
def test_loads_exactly_the_served_ids(wh, feed_server, protocol, source_id, options):
    server = feed_server(protocol, source_id, **options)
    result = load(wh, source_id)
    expected = sorted(server.expected_ids())
    assert result.status == "loaded"
    assert raw_ids(wh, source_id, SNAPSHOT) == expected
    [attempt] = loads(wh, source_id)
    assert attempt["status"] == "success"
    assert attempt["rows_fetched"] == attempt["rows_loaded"] == len(expected)
    assert attempt["rows_rejected"] == 0


@pytest.mark.parametrize(("protocol", "source_id", "options"), CASES, ids=[c[1] for c in CASES])
def test_not_found_snapshot_is_no_data(wh, feed_server, protocol, source_id, options):
    snapshots = (MISSING,) if protocol == "reference-csv" else (SNAPSHOT,)
    if protocol == "xlsx":
        options = {**options, "xlsx_years": (2019,)}  # nothing up to 2017 published
    feed_server(protocol, source_id, snapshots=snapshots, **options)
    result = extract_load(
        source_id,
        SNAPSHOT if protocol in ("reference-csv", "xlsx") else MISSING,
        url=wh,
        policy=FAST,
    )
    assert result.status == "no_data"
    [attempt] = loads(wh, source_id)
    assert attempt["status"] == "no_data"
    assert attempt["error"]
    with __import__("umkm.warehouse.db", fromlist=["connect"]).connect(wh) as db:
        tables = db.execute(
            "select count(*) from pg_tables where schemaname = 'raw' and tablename like %s",
            (f"{source_id}__batch_%",),
        ).fetchone()[0]
    assert tables == 0


def test_records_are_kept_as_delivered(wh, feed_server):
    server = feed_server("oauth-cursor", "tokopedia")
    load(wh, "tokopedia")
    rows = raw_rows(wh, "tokopedia", SNAPSHOT)
    by_id = {r["shop_id"]: r for r in server.records}
    for record_id, record, _pos in rows:
        assert record == by_id[record_id]
    positions = sorted(r[2] for r in rows)
    assert positions == list(range(len(rows)))


def test_csv_rows_keep_quotes_newlines_and_strings(wh, feed_server):
    server = feed_server("file-drop", "mataharimall", delimiter=";", crlf=True)
    load(wh, "mataharimall")
    rows = {r[0]: r[1] for r in raw_rows(wh, "mataharimall", SNAPSHOT)}
    for rec in server.records:
        assert rows[rec["merchant_id"]] == {k: str(v) for k, v in rec.items()}


def test_xlsx_rows_keyed_by_header_with_integer_text_id(wh, feed_server):
    feed_server("xlsx", "kemenperin")
    load(wh, "kemenperin", snapshot="2019-06-15")  # 2019 not published: 2017 + 2018
    rows = {r[0]: r[1] for r in raw_rows(wh, "kemenperin", "2019-06-15")}
    assert len(rows) == 24
    assert rows["1"]["No"] == "1"
    assert rows["1"]["Nama IKM"] == "IKM 1"
    assert rows["1001"]["Tahun Pelatihan"] == 2018
    assert rows["2"]["Sentra IKM"] == "Sentra X"


def test_reference_rows(wh, feed_server):
    feed_server("reference-csv", "bps", crlf=True)
    load(wh, "bps")
    rows = {r[0]: r[1] for r in raw_rows(wh, "bps", SNAPSHOT)}
    assert rows["3171"] == {
        "level": "regency",
        "code": "3171",
        "parent_code": "31",
        "name": "KOTA JAKARTA, SELATAN",
    }
    assert rows["11"]["parent_code"] is None


def test_summary_is_one_row_per_snapshot(wh, feed_server):
    feed_server("summary", "kominfo")
    load(wh, "kominfo")
    [(rid, record, pos)] = raw_rows(wh, "kominfo", SNAPSHOT)
    assert rid == SNAPSHOT and record["total"] == 120 and pos == 0


@pytest.mark.parametrize(
    ("protocol", "source_id", "options"),
    [
        ("oauth-cursor", "tokopedia", {}),
        ("apikey-offset", "blibli", {}),
        ("file-drop", "blanja", {}),
        ("xlsx", "kemenperin", {}),
    ],
)
def test_unparseable_records_go_to_quarantine(wh, feed_server, protocol, source_id, options):
    server = feed_server(protocol, source_id, poison=True, **options)
    result = load(wh, source_id)
    assert raw_ids(wh, source_id, SNAPSHOT) == sorted(server.expected_ids())
    bad = quarantined(wh, source_id)
    assert bad and all(q[2] == "parseable" and q[1] and q[3] for q in bad)
    [attempt] = loads(wh, source_id)
    assert attempt["rows_fetched"] == attempt["rows_loaded"] + attempt["rows_rejected"]
    assert attempt["rows_rejected"] == len(bad) == result.rows_rejected


def test_never_sends_a_limit_above_the_maximum(wh, feed_server, monkeypatch):
    caps = {"tokopedia": 5000, "shopee": 1000, "bukalapak": 2000, "kemenkopukm": 32000}
    for source_id, proto in [
        ("tokopedia", "oauth-cursor"),
        ("shopee", "signed-page"),
        ("bukalapak", "apikey-offset"),
        ("kemenkopukm", "ckan"),
    ]:
        server = feed_server(proto, source_id)
        load(wh, source_id)
        sizes = [
            int(q.get("limit", q.get("page_size", ["0"]))[-1])
            for _m, _p, q in server.requests
            if "limit" in q or "page_size" in q
        ]
        assert sizes and max(sizes) <= caps[source_id]


def test_no_secret_in_requests_log_or_errors(wh, feed_server, caplog):
    server = feed_server("signed-page", "shopee")
    load(wh, "shopee")
    text = caplog.text + json.dumps(loads(wh, "shopee"), default=str)
    assert "partner-key" not in text
    assert all("partner_key" not in q for _m, _p, q in server.requests)

"""Property-based fuzzing of the parsers: they never crash; bad input is quarantined."""

from __future__ import annotations

import json

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers.feeds import SNAPSHOT
from servers.harness import FAST, loads, quarantined, raw_ids, reset_warehouse

from umkm.connectors.base import JsonRecords, record_id_text
from umkm.connectors.file_drop import _unparse, row_problem
from umkm.loading import extract_load, publish

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(st.lists(st.binary(max_size=60) | json_values.map(lambda v: json.dumps(v).encode())))
def test_json_split_accounts_for_every_item(items):
    raws = [msgspec.Raw(b) for b in items]
    rows, rejects = JsonRecords("shop_id").split(raws)
    assert len(rows) + len(rejects) == len(items)
    assert all(r.reason for r in rejects)
    assert all(isinstance(rid, str) and rid for _i, rid, _b in rows)


@given(json_values)
def test_ids_never_crash(value):
    rid = record_id_text(value)
    assert rid is None or isinstance(rid, str)


@given(st.lists(st.text(), max_size=6), st.integers(0, 6), st.sampled_from([",", ";"]))
def test_csv_row_checks_never_crash(values, width, delimiter):
    problem = row_problem(values, width, 0, "merchant_id") if width else "no header"
    text = _unparse(values, delimiter)
    assert "\x00" not in text
    assert problem is None or problem


merchant_text = st.text(max_size=40)
merchants = st.lists(
    st.fixed_dictionaries(
        {
            "merchant_id": st.text(min_size=0, max_size=8),
            "nama_toko": merchant_text,
            "kota": merchant_text,
            "tgl_bergabung": st.text(max_size=12),
        }
    ),
    min_size=1,
    max_size=25,
    unique_by=lambda m: m["merchant_id"],
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=merchants)
def test_hostile_csv_is_landed_or_quarantined_never_crashes(wh, feed_server, records):
    reset_warehouse(wh)
    server = feed_server("file-drop", "blanja", quote_all=True)
    server.records = records
    result = extract_load("blanja", SNAPSHOT, url=wh, policy=FAST)
    publish("blanja", SNAPSHOT, result.batch_id, url=wh)
    landed = raw_ids(wh, "blanja", SNAPSHOT)
    held = quarantined(wh, "blanja")
    [attempt] = loads(wh, "blanja")
    assert attempt["rows_fetched"] == len(landed) + len(held) == len(records)
    assert all(reason for _rid, _raw, _exp, reason in held)
    good = {r["merchant_id"] for r in records if r["merchant_id"].strip()}
    assert set(landed) <= good

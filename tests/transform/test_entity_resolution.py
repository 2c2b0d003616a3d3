"""Staging and entity resolution end to end: a hand-made raw world, `dbt build`, and the
businesses it must find (tests/transform/world.py holds the planted truth)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import pytest

from tests.transform.world import (
    BUILD_VARIABLES,
    PREVIOUS,
    RECORDS,
    SNAPSHOT,
    TRUTH,
    insert_world,
    record_id,
)
from umkm.transform.dbt import run_dbt, target_dir
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt

#: a third snapshot, before the world's two, holding two shops: T4 is then delivered in all
#: three snapshots, T5 in this one and the latest but not PREVIOUS (both are businesses of
#: one record, so their entity ids stay theirs)
EARLIER = date(2017, 9, 15)
EARLIER_RECORDS = {("tokopedia", "T4"), ("tokopedia", "T5")}


@pytest.fixture(scope="module")
def built(warehouse):
    with connect(warehouse) as conn:
        insert_world(conn)
        for position, (source_id, record, _business) in enumerate(RECORDS):
            rid = record_id(source_id, record)
            if (source_id, rid) in EARLIER_RECORDS:
                conn.execute(
                    f"insert into raw.{source_id} "
                    "(snapshot, record_id, record, batch_id, feed_position, loaded_at) "
                    "values (%s, %s, %s, 'test', %s, now())",
                    (EARLIER, rid, json.dumps(record), position),
                )
    run_dbt(
        [
            "build",
            "--select",
            "+map_record_to_entity",
            "+dim_umkm_entity",
            "--indirect-selection",
            "cautious",
        ],
        url=warehouse,
        variables=BUILD_VARIABLES,
        capture=True,
    )
    results = json.loads((target_dir() / "run_results.json").read_text())
    failed = [r["unique_id"] for r in results["results"] if r["status"] not in ("success", "pass")]
    assert not failed, failed
    return warehouse


def _mapping(url, snapshot=SNAPSHOT):
    with connect(url) as conn:
        rows = conn.execute(
            "select source_id, record_id, entity_id, match_rule "
            "from marts.map_record_to_entity where snapshot = %s",
            (snapshot,),
        ).fetchall()
    return {(s, r): (e, rule) for s, r, e, rule in rows}


def test_every_record_is_mapped(built):
    mapping = _mapping(built)
    assert set(mapping) == set(TRUTH)


def test_entities_match_the_planted_truth(built):
    mapping = _mapping(built)
    found = defaultdict(set)
    planted = defaultdict(set)
    for key, business in TRUTH.items():
        found[mapping[key][0]].add(key)
        planted[business].add(key)
    assert sorted(map(sorted, found.values())) == sorted(map(sorted, planted.values()))


def test_same_name_same_city_different_owner_stays_apart(built):
    mapping = _mapping(built)
    assert mapping[("tokopedia", "T4")][0] != mapping[("lazada", "Z3")][0]


def test_match_rules_name_the_evidence(built):
    mapping = _mapping(built)
    assert mapping[("blibli", "BB1")][1] == "licence"
    assert mapping[("shopee", "S1")][1] == "phone"
    assert mapping[("mataharimall", "H1")][1] == "email"
    assert mapping[("tokopedia", "T5")][1] == "unmatched"


def test_entity_ids_are_stable_across_snapshots(built):
    now, before = _mapping(built), _mapping(built, PREVIOUS)
    assert set(before) == {("shopee", "S1"), ("kemenperin", "1"), ("tokopedia", "T4")}
    for key, (entity, _rule) in before.items():
        assert now[key][0] == entity
    # named by the earliest record of the business
    assert now[("tokopedia", "T1")][0] in {"kemenperin:1", "shopee:S1"}


def test_the_record_map_is_stored_once_per_range_of_snapshots(built):
    with connect(built) as conn:
        snapshots = conn.execute(
            "select snapshot, snapshot_number, records from marts.dim_snapshot order by 1"
        ).fetchall()
        ranges = conn.execute(
            "select record_id, first_snapshot, last_snapshot "
            "from marts.map_record_to_entity_ranges "
            "where source_id = 'tokopedia' and record_id in ('T4', 'T5') order by 1, 2"
        ).fetchall()
        stored, staged = conn.execute(
            "select (select count(*) from marts.map_record_to_entity_ranges), "
            "(select count(*) from intermediate.int_records_unioned)"
        ).fetchone()
        # the view: every staged record of every snapshot once, with its cluster's business
        view_only, staged_only = (
            conn.execute(query).fetchone()[0]
            for query in (
                "select count(*) from (select snapshot, source_id, record_id, entity_id "
                "from marts.map_record_to_entity except all select u.snapshot, u.source_id, "
                "u.record_id, c.entity_id from intermediate.int_records_unioned u "
                "join intermediate.int_entity_clusters c using (source_id, record_id)) as d",
                "select count(*) from (select u.snapshot, u.source_id, u.record_id, c.entity_id "
                "from intermediate.int_records_unioned u join intermediate.int_entity_clusters c "
                "using (source_id, record_id) except all select snapshot, source_id, record_id, "
                "entity_id from marts.map_record_to_entity) as d",
            )
        )
        t5 = conn.execute(
            "select snapshot from marts.map_record_to_entity "
            "where source_id = 'tokopedia' and record_id = 'T5' order by 1"
        ).fetchall()
    assert [row[:2] for row in snapshots] == [(EARLIER, 1), (PREVIOUS, 2), (SNAPSHOT, 3)]
    assert snapshots[0][2] == 2 and snapshots[1][2] == 3
    assert ranges == [
        ("T4", EARLIER, SNAPSHOT),  # three snapshots, one row
        ("T5", EARLIER, EARLIER),  # missing from PREVIOUS: two ranges
        ("T5", SNAPSHOT, SNAPSHOT),
    ]
    # one row per record identity, and one more for T5's return
    assert stored == len(TRUTH) + 1 < staged == len(TRUTH) + 3 + 2
    assert (view_only, staged_only) == (0, 0)
    assert t5 == [(EARLIER,), (SNAPSHOT,)]


def test_dimension_describes_each_business(built):
    with connect(built) as conn:
        rows = conn.execute(
            "select d.entity_id, d.regency_code, d.platforms, d.in_registry, d.in_esmart, "
            "d.business_scale from marts.dim_umkm_entity d "
            "join marts.map_record_to_entity m using (entity_id) "
            "where m.source_id = 'tokopedia' and m.record_id = 'T1' and m.snapshot = %s",
            (SNAPSHOT,),
        ).fetchall()
    assert len(rows) == 1
    _, regency, platforms, in_registry, in_esmart, scale = rows[0]
    assert regency == "3273"  # "Bandung" / "Kota Bandung" / "Kodya Bandung": KOTA BANDUNG
    assert platforms == ["lazada", "shopee", "tokopedia"]
    assert in_registry and in_esmart and scale == "micro"


def test_staging_flags_follow_the_bridge_definitions(built):
    with connect(built) as conn:
        rows = conn.execute(
            "select source_id, record_id, regency_code, is_brand_store, is_closed, "
            "is_counted, is_dormant from intermediate.int_records_unioned where snapshot = %s",
            (SNAPSHOT,),
        ).fetchall()
    by_key = {(r[0], r[1]): r[2:] for r in rows}
    assert by_key[("tokopedia", "T5")][1:4] == (True, False, False)  # brand store
    assert by_key[("shopee", "S3")] == ("3471", False, True, False, True)  # Jogja, banned
    assert by_key[("bukalapak", "BL1")][0] == "3204"  # Kab. Bandung
    assert by_key[("tokopedia", "T3")][0] == "3171"  # Jaksel


def test_no_personal_data_in_clear_after_staging(built):
    with connect(built) as conn:
        text = " ".join(
            str(row)
            for table in (
                "intermediate.int_records_unioned",
                "marts.map_record_to_entity",
                "marts.dim_umkm_entity",
                "intermediate.int_entity_records",
            )
            for row in conn.execute(f"select * from {table}").fetchall()
        )
    for clear in ("Siti Aminah", "0812", "3273010101800001", "batikkeris", "Jl. "):
        assert clear.lower() not in text.lower()

"""Staging and entity resolution end to end: a hand-made raw world, `dbt build`, and the
businesses it must find (tests/transform/world.py holds the planted truth)."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from tests.transform.world import BUILD_VARIABLES, PREVIOUS, SNAPSHOT, TRUTH, insert_world
from umkm.transform.dbt import run_dbt, target_dir
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def built(warehouse):
    with connect(warehouse) as conn:
        insert_world(conn)
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

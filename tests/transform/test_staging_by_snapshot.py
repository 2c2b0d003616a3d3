"""Staging by snapshot and by version (issue 23): a build stages only what the published rows
changed since, and the result equals staging everything.

What is staged how: each distinct content of a record once (the staged versions, macros
stage_*_versions: a table per marketplace and list, keyed by version_id), a marketplace's
activity fields per record and snapshot (stage_marketplace_activity, incremental by
snapshot), and the staged models are views over them (stage_marketplace, stage_list).

On the hand-made world (two snapshots), with the pipeline's build (`build_and_publish`):
1. the first build stages everything;
2. after one record of tokopedia's latest snapshot changes (a new delivery), one record of
   bukalapak's leaves (validation of published rows), shopee's earlier snapshot goes from
   raw, and in the registry one record changes, one leaves and every other record is
   delivered again, unchanged, in the earlier snapshot, the next build rewrites exactly the
   three marketplace source-snapshots of activity and adds exactly the two changed
   contents' versions: every other staged row keeps its physical row version (`xmin`),
   though the BPS reference was reloaded meanwhile (same codes and names); the views show
   every delivery;
3. a change of the build's inputs (here: the recorded digest no longer matches) drops the
   staging tables and stages everything again, and the result equals what the incremental
   builds left, row for row, in staging and in the marts (the staged versions less those
   no delivery names any more);
4. each staging table is keyed in the warehouse (activity by (snapshot, record_id),
   versions by version_id), and the test `enforced_keys` fails without the key, which the
   next build puts back.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.transform.world import BUILD_VARIABLES, PREVIOUS, SNAPSHOT, insert_bps, insert_world
from umkm.transform import marts
from umkm.transform.dbt import DbtError, run_dbt
from umkm.warehouse.db import connect

pytestmark = pytest.mark.usefixtures("warehouse")

MARKETPLACES = ["tokopedia", "bukalapak", "shopee", "lazada", "blibli", "blanja", "mataharimall"]
#: the staging tables built one snapshot at a time: the marketplaces' activity (macro
#: stage_marketplace_activity)
INCREMENTAL = [f"stg_{sid}__merchant_activity" for sid in MARKETPLACES]
#: the staging tables built one version at a time (macros stage_*_versions), by source
VERSIONED = {sid: f"stg_{sid}__merchant_versions" for sid in MARKETPLACES} | {
    "kemenkopukm": "stg_kemenkopukm__registry_record_versions"
}
#: the staged models, views over those tables (macros stage_marketplace, stage_list)
VIEWS = [f"stg_{sid}__merchants" for sid in MARKETPLACES] + ["stg_kemenkopukm__registry_records"]
REGISTRY = "stg_kemenkopukm__registry_records"


def _staged_versions(url: str) -> dict[str, dict[str, str]]:
    """source -> {version_id: xmin} of its staged versions."""
    with connect(url) as conn:
        return {
            sid: dict(conn.execute(f"select version_id::text, xmin::text from staging.{model}"))
            for sid, model in VERSIONED.items()
        }


def _orphans(url: str) -> dict[str, set[str]]:
    """source -> its staged versions no delivery names any more."""
    with connect(url) as conn:
        return {
            sid: {
                v
                for (v,) in conn.execute(
                    f"select version_id::text from staging.{model} as s where not exists "
                    f"(select from raw.{sid}__deliveries as d where d.version_id = s.version_id)"
                )
            }
            for sid, model in VERSIONED.items()
        }


def _versions(url: str) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(model, snapshot) -> {(record_id, xmin)} of every incremental staging table."""
    found: dict[tuple[str, str], set[tuple[str, str]]] = {}
    with connect(url) as conn:
        for model in INCREMENTAL:
            for snap, rid, xmin in conn.execute(
                f"select snapshot::text, record_id, xmin::text from staging.{model}"
            ):
                found.setdefault((model, snap), set()).add((rid, xmin))
    return found


def _contents(url: str, schema: str, names: list[str]) -> dict[str, list[tuple]]:
    with connect(url) as conn:
        return {
            name: sorted(
                map(
                    tuple,
                    conn.execute(
                        f"select to_jsonb(t) - 'raw_loaded_at' from {schema}.{name} as t"
                    ).fetchall(),
                ),
                key=str,
            )
            for name in names
        }


def test_a_build_stages_only_the_changed_snapshots_and_equals_a_full_one(warehouse):
    url = warehouse
    with connect(url) as conn:
        insert_world(conn)
    marts.build_and_publish(BUILD_VARIABLES, url=url)
    with connect(url) as conn:
        kinds = dict(
            conn.execute(
                "select c.relname, c.relpersistence from pg_class c join pg_namespace n "
                "on n.oid = c.relnamespace where n.nspname = 'staging' and c.relkind = 'r'"
            ).fetchall()
        )
        assert conn.execute("select count(*) from audit.staging_inputs").fetchone()[0] == 1
    tables = [*INCREMENTAL, *VERSIONED.values()]
    assert set(tables) <= set(kinds) and {kinds[m] for m in tables} == {"u"}
    before, versions_before = _versions(url), _staged_versions(url)
    assert ("stg_shopee__merchant_activity", str(PREVIOUS)) in before

    # 2. three source-snapshots change; everything else stays as it was
    with connect(url) as conn:
        changed = conn.execute(
            "update raw.tokopedia set record = jsonb_set(record, '{shop_name}', "
            "'\"Toko Baru Sekali\"'), loaded_at = now() "
            "where snapshot = %s and record_id = (select min(record_id) from raw.tokopedia "
            "where snapshot = %s) returning record_id",
            (SNAPSHOT, SNAPSHOT),
        ).fetchone()[0]
        gone = conn.execute(
            "delete from raw.bukalapak where snapshot = %s and record_id = (select "
            "min(record_id) from raw.bukalapak where snapshot = %s) returning record_id",
            (SNAPSHOT, SNAPSHOT),
        ).fetchone()[0]
        conn.execute("delete from raw.shopee where snapshot = %s", (PREVIOUS,))
        # the registry: one record changes, one leaves, the rest are delivered again,
        # unchanged, in the earlier snapshot (through the raw view: as a replay writes)
        registry_ids = [
            rid
            for (rid,) in conn.execute(
                "select record_id from raw.kemenkopukm where snapshot = %s order by record_id",
                (SNAPSHOT,),
            )
        ]
        renamed, dropped = registry_ids[0], registry_ids[1]
        conn.execute(
            "update raw.kemenkopukm set record = jsonb_set(record, '{nama_usaha}', "
            "'\"Usaha Baru Sekali\"'), loaded_at = now() where snapshot = %s and record_id = %s",
            (SNAPSHOT, renamed),
        )
        conn.execute(
            "delete from raw.kemenkopukm where snapshot = %s and record_id = %s",
            (SNAPSHOT, dropped),
        )
        conn.execute(
            "insert into raw.kemenkopukm (snapshot, record_id, record, batch_id, feed_position, "
            "loaded_at) select %s, record_id, record, batch_id, feed_position, loaded_at "
            "from raw.kemenkopukm where snapshot = %s and record_id <> %s",
            (PREVIOUS, SNAPSHOT, renamed),
        )
        # the yearly reload of the BPS reference, with the same codes and names
        insert_bps(conn, snapshot=date(2018, 1, 1))
    marts.build_and_publish(BUILD_VARIABLES, url=url)
    after = _versions(url)
    rewritten = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert rewritten == {
        ("stg_tokopedia__merchant_activity", str(SNAPSHOT)),
        ("stg_bukalapak__merchant_activity", str(SNAPSHOT)),
        ("stg_shopee__merchant_activity", str(PREVIOUS)),
    }
    assert ("stg_shopee__merchant_activity", str(PREVIOUS)) not in after
    # the staged versions: the renamed shop's and the renamed registry record's new content
    # added, nothing else written
    versions_after = _staged_versions(url)
    added = {sid: versions_after[sid].keys() - versions_before[sid].keys() for sid in VERSIONED}
    assert {sid: len(new) for sid, new in added.items() if new} == {
        "tokopedia": 1,
        "kemenkopukm": 1,
    }
    assert all(versions_before[sid].items() <= versions_after[sid].items() for sid in VERSIONED)
    with connect(url) as conn:
        name = conn.execute(
            "select shop_name from staging.stg_tokopedia__merchants "
            "where snapshot = %s and record_id = %s",
            (SNAPSHOT, changed),
        ).fetchone()[0]
        left = conn.execute(
            "select count(*) from staging.stg_bukalapak__merchants where record_id = %s "
            "and snapshot = %s",
            (gone, SNAPSHOT),
        ).fetchone()[0]
    assert name == "Toko Baru Sekali" and left == 0
    # the registry's view shows every delivery of both snapshots
    with connect(url) as conn:
        delivered = conn.execute(
            "select snapshot, record_id, record from raw.kemenkopukm order by 1, 2"
        ).fetchall()
        staged = conn.execute(
            f"select snapshot, record_id, shop_name from staging.{REGISTRY} order by 1, 2"
        ).fetchall()
        added_name = conn.execute(
            "select shop_name from staging.stg_kemenkopukm__registry_record_versions "
            "where version_id = %s",
            (added["kemenkopukm"].pop(),),
        ).fetchone()[0]
    assert [(d, r) for d, r, _ in staged] == [(d, r) for d, r, _ in delivered]
    assert {d for d, _, _ in staged} == {PREVIOUS, SNAPSHOT}
    assert [n for _, _, n in staged] == [rec["nama_usaha"] for _, _, rec in delivered]
    assert added_name == "Usaha Baru Sekali" and (SNAPSHOT, dropped) not in {
        (d, r) for d, r, _ in staged
    }

    # 3. new inputs: everything staged again, and the same rows as the incremental builds
    watched = ["fct_umkm_entity_snapshots", "mart_reconciliation_bridge", "map_record_to_entity"]
    staging_models = [*INCREMENTAL, *VIEWS]
    staged = _contents(url, "staging", staging_models)
    published = _contents(url, "marts", watched)
    # the versions no delivery names any more (the renamed and removed records' old
    # contents) stay staged, as they stay in raw; a full restage leaves them out
    orphans = _orphans(url)
    assert len(orphans["kemenkopukm"]) == 2
    with connect(url) as conn:
        conn.execute("update audit.staging_inputs set digest = 'an older project'")
    marts.build_and_publish(BUILD_VARIABLES, url=url)
    full = _versions(url)
    assert all(full[key].isdisjoint(after[key]) for key in full)  # every row written again
    versions_full = _staged_versions(url)
    for sid in VERSIONED:
        assert set(versions_full[sid].items()).isdisjoint(versions_after[sid].items())
        assert versions_full[sid].keys() == versions_after[sid].keys() - orphans[sid]
    assert _contents(url, "staging", staging_models) == staged
    assert _contents(url, "marts", watched) == published

    # 4. keys the warehouse enforces (macro enforce_keys): every incremental staging table
    # is keyed by (snapshot, record_id); the test `enforced_keys` fails without the key, and
    # the next build puts it back
    with connect(url) as conn:
        keyed = conn.execute(
            "select c.conrelid::regclass::text, pg_get_constraintdef(c.oid) from pg_constraint c "
            "where c.conrelid::regclass::text like 'staging.%' and c.contype = 'p'"
        ).fetchall()
        not_null = conn.execute(
            "select attname from pg_attribute where attrelid = "
            "'staging.stg_tokopedia__merchant_versions'::regclass and attnotnull and attnum > 0"
        ).fetchall()
    assert {(f"staging.{m}", "PRIMARY KEY (snapshot, record_id)") for m in INCREMENTAL} <= set(
        keyed
    )
    assert {(f"staging.{m}", "PRIMARY KEY (version_id)") for m in VERSIONED.values()} <= set(keyed)
    assert {name for (name,) in not_null} >= {"version_id", "is_brand_store", "is_closed"}
    with connect(url) as conn:
        conn.execute(
            "alter table staging.stg_tokopedia__merchant_activity "
            "drop constraint stg_tokopedia__merchant_activity_pkey"
        )
    with pytest.raises(DbtError, match="enforced_keys_stg_tokopedia__merchant_activity"):
        run_dbt(
            ["test", "--select", "stg_tokopedia__merchant_activity,test_name:enforced_keys"],
            url=url,
            capture=True,
        )
    marts.build_and_publish(BUILD_VARIABLES, url=url)
    run_dbt(
        ["test", "--select", "stg_tokopedia__merchant_activity,test_name:enforced_keys"],
        url=url,
        capture=True,
    )

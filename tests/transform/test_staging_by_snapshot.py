"""Staging by snapshot (issue 23, item 1): a build stages only the snapshots whose published
rows changed, and the result equals staging everything.

On the hand-made world (two snapshots), with the pipeline's build (`build_and_publish`):
1. the first build stages everything;
2. after one record of tokopedia's latest snapshot changes (a new delivery), one record of
   bukalapak's leaves (validation of published rows), and shopee's earlier snapshot goes
   from raw, the next build rewrites exactly those three source-snapshots in staging: every
   other staged row keeps its physical row version (`xmin`), though the BPS reference was
   reloaded meanwhile (same codes and names);
3. a change of the build's inputs (here: the recorded digest no longer matches) drops the
   staging tables and stages everything again, and the result equals what the incremental
   builds left, row for row, in staging and in the marts;
4. each staging table is keyed by (snapshot, record_id) in the warehouse, and the test
   `enforced_keys` fails without the key, which the next build puts back.

The registry is staged by version (dbt macro `staging_by_version`): in step 2 one of its
records changes, one leaves, and every record is delivered again, unchanged, in the earlier
snapshot; its staged versions gain exactly the changed record's new content (no staged row
is rewritten), and its staged model (a view) shows both snapshots as delivered.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.transform.world import BUILD_VARIABLES, PREVIOUS, SNAPSHOT, insert_bps, insert_world
from umkm.transform import marts
from umkm.transform.dbt import DbtError, run_dbt
from umkm.warehouse.db import connect

pytestmark = pytest.mark.usefixtures("warehouse")

#: the incremental staging models (macros stage_marketplace and stage_list)
INCREMENTAL = [
    "stg_tokopedia__merchants",
    "stg_bukalapak__merchants",
    "stg_shopee__merchants",
    "stg_lazada__merchants",
    "stg_blibli__merchants",
    "stg_blanja__merchants",
    "stg_mataharimall__merchants",
]
#: the lists staged by version (macro stage_list): the versions table, the view over it
VERSIONED, REGISTRY = (
    "stg_kemenkopukm__registry_record_versions",
    "stg_kemenkopukm__registry_records",
)


def _registry_versions(url: str) -> dict[str, str]:
    """version_id -> xmin of the registry's staged versions."""
    with connect(url) as conn:
        return dict(conn.execute(f"select version_id::text, xmin::text from staging.{VERSIONED}"))


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
    tables = [*INCREMENTAL, VERSIONED]
    assert set(tables) <= set(kinds) and {kinds[m] for m in tables} == {"u"}
    before, registry_before = _versions(url), _registry_versions(url)
    assert ("stg_shopee__merchants", str(PREVIOUS)) in before

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
        ("stg_tokopedia__merchants", str(SNAPSHOT)),
        ("stg_bukalapak__merchants", str(SNAPSHOT)),
        ("stg_shopee__merchants", str(PREVIOUS)),
    }
    assert ("stg_shopee__merchants", str(PREVIOUS)) not in after
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
    # the registry's staged versions: the renamed record's new content added, nothing else
    # written; its view shows every delivery of both snapshots
    registry_after = _registry_versions(url)
    added = registry_after.keys() - registry_before.keys()
    assert len(added) == 1 and registry_before.items() <= registry_after.items()
    with connect(url) as conn:
        delivered = conn.execute(
            "select snapshot, record_id, record from raw.kemenkopukm order by 1, 2"
        ).fetchall()
        staged = conn.execute(
            f"select snapshot, record_id, shop_name from staging.{REGISTRY} order by 1, 2"
        ).fetchall()
        added_name = conn.execute(
            f"select shop_name from staging.{VERSIONED} where version_id = %s", (added.pop(),)
        ).fetchone()[0]
    assert [(d, r) for d, r, _ in staged] == [(d, r) for d, r, _ in delivered]
    assert {d for d, _, _ in staged} == {PREVIOUS, SNAPSHOT}
    assert [n for _, _, n in staged] == [rec["nama_usaha"] for _, _, rec in delivered]
    assert added_name == "Usaha Baru Sekali" and (SNAPSHOT, dropped) not in {
        (d, r) for d, r, _ in staged
    }

    # 3. new inputs: everything staged again, and the same rows as the incremental builds
    watched = ["fct_umkm_entity_snapshots", "mart_reconciliation_bridge", "map_record_to_entity"]
    staging_models = [*INCREMENTAL, REGISTRY]
    staged = _contents(url, "staging", staging_models)
    with connect(url) as conn:
        # the versions no delivery names any more (the renamed record's old content, the
        # dropped record's) stay staged, as they stay in raw; a full restage leaves them out
        orphans = {
            v
            for (v,) in conn.execute(
                f"select version_id::text from staging.{VERSIONED} as s where not exists "
                "(select from raw.kemenkopukm__deliveries as d where d.version_id = s.version_id)"
            )
        }
    assert len(orphans) == 2
    published = _contents(url, "marts", watched)
    with connect(url) as conn:
        conn.execute("update audit.staging_inputs set digest = 'an older project'")
    marts.build_and_publish(BUILD_VARIABLES, url=url)
    full = _versions(url)
    assert all(full[key].isdisjoint(after[key]) for key in full)  # every row written again
    registry_full = _registry_versions(url)
    assert set(registry_full.items()).isdisjoint(registry_after.items())
    assert registry_full.keys() == registry_after.keys() - orphans
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
            "'staging.stg_tokopedia__merchants'::regclass and attnotnull and attnum > 0"
        ).fetchall()
    assert {(f"staging.{m}", "PRIMARY KEY (snapshot, record_id)") for m in INCREMENTAL} <= set(
        keyed
    )
    assert (f"staging.{VERSIONED}", "PRIMARY KEY (version_id)") in keyed
    assert {name for (name,) in not_null} >= {"source_id", "is_brand_store", "is_closed"}
    with connect(url) as conn:
        conn.execute(
            "alter table staging.stg_tokopedia__merchants "
            "drop constraint stg_tokopedia__merchants_pkey"
        )
    with pytest.raises(DbtError, match="enforced_keys_stg_tokopedia__merchants"):
        run_dbt(
            ["test", "--select", "stg_tokopedia__merchants,test_name:enforced_keys"],
            url=url,
            capture=True,
        )
    marts.build_and_publish(BUILD_VARIABLES, url=url)
    run_dbt(
        ["test", "--select", "stg_tokopedia__merchants,test_name:enforced_keys"],
        url=url,
        capture=True,
    )

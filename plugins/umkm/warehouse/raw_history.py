"""History stored once: how raw keeps every delivered snapshot (issue 23, item 2).

`raw.<source_id>` is a view with the columns every reader knows (snapshot, record_id, record,
batch_id, feed_position, loaded_at): one row per record per delivered snapshot, exactly as
delivered. Underneath, a record is stored in two parts:

- its **version**, the record without its activity fields, once per distinct content in
  `raw.<source_id>__versions`, keyed by `version_id`, the md5 of its text. The activity
  fields are the top-level keys of the registry's `last_active` and `updated` paths: a shop
  seen again next month changes them and usually nothing else;
- its **delivery**, a narrow row per (snapshot, record_id) in `raw.<source_id>__deliveries`:
  the version id, the activity fields (`volatile`, a jsonb object, null when the record has
  none of them), the batch's key in `raw.delivery_batches` (`batch_key`: the batch id's
  text, 44 bytes, once per batch instead of once per row), feed_position and loaded_at.

The view joins them back: `version || volatile` is the delivered record (jsonb is canonical:
the same keys and values are the same jsonb, whatever the order they came in), and the
batch key gives `batch_id`. A record not a JSON object is its own version. Both joins are
left joins on a unique key, so a query that reads neither `record` nor `batch_id` (row
counts, the latest snapshot, loaded_at) reads the deliveries only.

Publish writes both tables set-wise (`insert_sql`). Any other write through the view (a
replay, validation of a published snapshot, a hand fix) goes through the row trigger
`public.umkm_raw_write` (functions/07_raw_history.sql), which stores the whole record as the
version. Both take the source's raw lock (`lock_source`) for their transaction. A version
no delivery refers to any more (a corrected record, a deleted snapshot) stays in
`__versions`: nothing reads it, and it is what was once delivered.
"""

from __future__ import annotations

from psycopg import sql

from umkm.sources import ACTIVITY_FIELDS, Source


def versions_table(source_id: str) -> str:
    return f"{source_id}__versions"


def deliveries_table(source_id: str) -> str:
    return f"{source_id}__deliveries"


def storage_idents(source_id: str) -> list[sql.Identifier]:
    """The two tables that hold `raw.<source_id>` (to truncate or size them)."""
    return [
        sql.Identifier("raw", versions_table(source_id)),
        sql.Identifier("raw", deliveries_table(source_id)),
    ]


def lock_source(db, source_id: str) -> None:
    """Take the source's raw lock for the current transaction, waiting for another writer
    (SQL function `public.umkm_raw_lock`, which the view's write trigger takes too).
    Snapshots of one source share versions: two publishes of different snapshots at once (a
    backfill) would each wait on the other's new versions and deadlock, so the writes of one
    source go one at a time."""
    db.execute("select public.umkm_raw_lock(%s)", (source_id,))


def volatile_keys(source: Source) -> list[str]:
    """The top-level keys of the source's activity fields (registry `last_active` and
    `updated`), kept per delivery instead of in the stored version."""
    paths = [source.fields.get(name) for name in ACTIVITY_FIELDS]
    return sorted({path.split(".")[0] for path in paths if path})


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def split_exprs(source: Source, column: str) -> tuple[str, str]:
    """SQL expressions over the jsonb `column`: (its version, its volatile part)."""
    keys = volatile_keys(source)
    if not keys:
        return column, "null::jsonb"
    is_object = f"jsonb_typeof({column}) = 'object'"
    array = "array[" + ", ".join(_literal(k) for k in keys) + "]::text[]"
    version = f"case when {is_object} then {column} - {array} else {column} end"
    parts = " || ".join(
        f"case when {column} ? {_literal(k)} then jsonb_build_object({_literal(k)}, "
        f"{column} -> {_literal(k)}) else '{{}}'::jsonb end"
        for k in keys
    )
    volatile = f"case when {is_object} then nullif({parts}, '{{}}'::jsonb) end"
    return version, volatile


def insert_sql(source: Source, origin: str, *, upsert: bool = False) -> str:
    """One statement storing the rows of `origin` (a relation with the view's columns): new
    versions, then a delivery per row. `upsert`: a delivery already there for (snapshot, record_id)
    is replaced (incremental publish); else such a row is a unique violation."""
    sid = source.source_id
    version, volatile = split_exprs(source, "o.record")
    conflict = (
        " on conflict (snapshot, record_id) do update set version_id = excluded.version_id,"
        " volatile = excluded.volatile, batch_key = excluded.batch_key,"
        " feed_position = excluded.feed_position, loaded_at = excluded.loaded_at"
        if upsert
        else ""
    )
    return (
        "with delivered as (select o.snapshot, o.record_id, s.version, "
        "md5(s.version::text)::uuid as version_id, s.volatile, o.batch_id, o.feed_position, "
        f"o.loaded_at from {origin} as o, lateral (select {version} as version, "
        f"{volatile} as volatile) as s), "
        # each batch id keyed once (publish: one batch; an older warehouse moved in: a few)
        "batches as materialized (select ids.batch_id, public.umkm_batch_key(ids.batch_id) "
        f"as batch_key from (select distinct batch_id from {origin}) as ids), "
        f"stored as (insert into raw.{versions_table(sid)} (version_id, record) "
        "select version_id, version from delivered on conflict do nothing) "
        f"insert into raw.{deliveries_table(sid)} (snapshot, record_id, version_id, volatile, "
        "batch_key, feed_position, loaded_at) select d.snapshot, d.record_id, d.version_id, "
        "d.volatile, b.batch_key, d.feed_position, d.loaded_at from delivered as d "
        f"inner join batches as b on b.batch_id = d.batch_id{conflict}"
    )


_TABLES_DDL = """
create table if not exists raw.{versions} (
    version_id uuid primary key,
    record jsonb not null
);
comment on table raw.{versions} is
    'Each distinct content of a {sid} record (without its activity fields), stored once; '
    'read it through the view raw.{sid}.';
create table if not exists raw.{deliveries} (
    snapshot date not null,
    record_id text not null,
    version_id uuid not null,
    volatile jsonb,
    batch_key integer not null,
    feed_position bigint not null,
    loaded_at timestamptz not null,
    primary key (snapshot, record_id)
);
comment on table raw.{deliveries} is
    'One row per {sid} record per delivered snapshot: its version, its activity fields and '
    'where it came from; read it through the view raw.{sid}.';
do $history$
begin
    if exists (
        select from information_schema.columns
        where table_schema = 'raw' and table_name = '{deliveries}' and column_name = 'batch_id'
    ) then
        -- a warehouse from before raw.delivery_batches (V060): each row's batch id becomes
        -- its key, in one rewrite of the table; the view is made again below
        insert into raw.delivery_batches (batch_id)
        select distinct d.batch_id from raw.{deliveries} as d order by d.batch_id
        on conflict do nothing;
        drop view if exists raw.{sid};
        alter table raw.{deliveries}
            alter column batch_id type integer using public.umkm_batch_key(batch_id);
        alter table raw.{deliveries} rename column batch_id to batch_key;
    end if;
    if exists (
        select from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'raw' and c.relname = '{sid}' and c.relkind = 'r'
    ) then
        -- a warehouse from before history stored once: its rows move in, once
        {convert};
        drop table raw.{sid};
    end if;
    if to_regclass('raw.{sid}') is null then
        create view raw.{sid} as
        select
            d.snapshot,
            d.record_id,
            case when d.volatile is null then v.record else v.record || d.volatile end
                as record,
            b.batch_id,
            d.feed_position,
            d.loaded_at
        from raw.{deliveries} as d
        left join raw.{versions} as v on v.version_id = d.version_id
        left join raw.delivery_batches as b on b.batch_key = d.batch_key;
        comment on view raw.{sid} is
            'The published {sid} records, one row per record per snapshot, exactly as '
            'delivered.';
        create trigger {sid}_write instead of insert or update or delete on raw.{sid}
        for each row execute function public.umkm_raw_write();
    end if;
end
$history$;
"""


def tables_sql(source: Source) -> str:
    """The DDL of `raw.<source_id>`: both tables, the move of an older warehouse's rows,
    the view and its write trigger. Safe to run again."""
    sid = source.source_id
    return _TABLES_DDL.format(
        sid=sid,
        versions=versions_table(sid),
        deliveries=deliveries_table(sid),
        convert=insert_sql(source, f"raw.{sid}"),
    )

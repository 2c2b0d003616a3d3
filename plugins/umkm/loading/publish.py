"""`publish` and `discard`: the last step of write-audit-publish.

`publish` moves a checked batch into `raw.<source_id>` in ONE transaction; a failure at any
point leaves the published data as it was. `discard` drops a failed batch.

Full mode replaces the snapshot's rows. Incremental mode (see docs/INGESTION.md) builds the
snapshot as the latest published snapshot carried forward plus the batch's changes,
upserted by record_id.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import psycopg
from psycopg import sql

from umkm.connectors.errors import BatchStateError
from umkm.loading import audit
from umkm.loading.batch import (
    batch_exists,
    drop_batch,
    fingerprint,
    quarantine_ident,
    raw_ident,
)
from umkm.loading.extract import take_load_lock
from umkm.naming import batch_ident, parse_snapshot, snapshot_end
from umkm.sources import get_source
from umkm.warehouse import connect, raw_history, warehouse_url

log = logging.getLogger("umkm.loading")


def _state_error(source_id: str, snap: date, problem: str, hint: str) -> BatchStateError:
    return BatchStateError(source_id, snap.isoformat(), "", problem, hint)


def publish(source_id: str, snapshot: str | date, batch_id: str, *, url: str | None = None) -> int:
    """Publish the batch into `raw.<source_id>`; returns the rows published from the batch.

    In one transaction: quarantine duplicate record ids (first delivery kept), replace (full)
    or upsert into (incremental) the snapshot, check rows_fetched = rows_loaded +
    rows_rejected (rejected recomputed from the quarantine, so rows validation moved there
    count), raise the high-water mark, drop the batch table, clear the checkpoint and mark
    the attempt `success`. Idempotent: a batch published already (a retry after a lost
    acknowledgement) returns its published rows again and changes nothing.
    """
    source = get_source(source_id)
    snap = parse_snapshot(snapshot)
    with connect(url or warehouse_url(), autocommit=True) as db, db.transaction():
        take_load_lock(db, source_id, snap, transaction=True)
        done = audit.published_rows(db, batch_id)
        if done is not None:
            # published already (its acknowledgement lost): the same answer again, no change
            log.info(
                "event=already_published source=%s snapshot=%s batch_id=%s rows_loaded=%d",
                source_id,
                snap,
                batch_id,
                done,
            )
            return done
        attempt, checkpoint = _awaiting_publish(db, source_id, snap, batch_id)
        load_id, mode, _ = attempt
        rows_fetched = checkpoint.rows_fetched
        loaded = _apply(db, source_id, snap, batch_id, mode)
        rejected = int(
            db.execute(
                sql.SQL("select count(*) from {} where snapshot = %s and batch_id = %s").format(
                    quarantine_ident(source_id)
                ),
                (snap, batch_id),
            ).fetchone()[0]
        )
        if rows_fetched != loaded + rejected:
            raise _state_error(
                source_id,
                snap,
                f"counts do not add up: fetched {rows_fetched} != loaded {loaded} + rejected "
                f"{rejected}",
                "rows removed from the batch must be moved to the quarantine; nothing was "
                "published",
            )
        high_water = _published_high_water(db, source, snap)
        if source.updated_since and high_water is not None:
            audit.put_watermark(db, source_id, high_water)
        drop_batch(db, source_id, snap)
        audit.clear_checkpoint(db, source_id, snap, batch_id)
        audit.update_counts(
            db,
            load_id,
            rows_fetched=rows_fetched,
            rows_loaded=loaded,
            rows_rejected=rejected,
            pages=int(checkpoint.position.get("pages", 0)),
            retries=audit.get_retries(db, load_id),
        )
        audit.finish_attempt(db, load_id, "success")
        if source.kind == "reference":
            _refresh_region_lookup(db)
    log.info(
        "event=published source=%s snapshot=%s batch_id=%s mode=%s rows_loaded=%d rows_rejected=%d",
        source_id,
        snap,
        batch_id,
        mode,
        loaded,
        rejected,
    )
    return loaded


def _published_high_water(db, source, snap: date) -> datetime | None:
    """The incremental watermark: the latest `updated` of the rows this batch publishes
    (the batch table after validation moved failing rows to the quarantine), never later
    than the end of the snapshot's day in WIB. Delivered rows would count quarantined ones,
    and one future-dated record would stop incremental pulls for good."""
    path = source.fields.get("updated")
    if not source.updated_since or not path:
        return None
    latest = db.execute(
        sql.SQL("select max(public.umkm_try_timestamptz(record #>> %s)) from {}").format(
            batch_ident(source.source_id, snap)
        ),
        (path.split("."),),
    ).fetchone()[0]
    if latest is None:
        return None
    return min(latest, snapshot_end(snap))


def _awaiting_publish(db, source_id: str, snap: date, batch_id: str):
    """Check (under the snapshot's load lock, taken by the caller's transaction) that the
    batch is complete and unpublished; returns (attempt, checkpoint)."""
    attempt = audit.running_attempt(db, batch_id)
    checkpoint = audit.get_checkpoint(db, source_id, snap)
    if attempt is None or checkpoint is None or checkpoint.batch_id != batch_id:
        raise _state_error(
            source_id,
            snap,
            f"batch {batch_id} is not awaiting publish",
            "run extract_load (umkm ingest) for this snapshot first",
        )
    if not checkpoint.done:
        raise _state_error(
            source_id,
            snap,
            f"batch {batch_id} is incomplete",
            "run extract_load again to finish the pull, then publish",
        )
    if not batch_exists(db, source_id, snap):
        raise _state_error(
            source_id,
            snap,
            f"batch table of {batch_id} is missing",
            "discard the batch and load the snapshot again",
        )
    return attempt, checkpoint


def skip_if_unchanged(
    source_id: str, snapshot: str | date, batch_id: str, *, url: str | None = None
) -> str | None:
    """Close a landed batch that delivered exactly what is already published.

    Call it before validation (which moves rows out of the batch). When the snapshot's latest
    successful load was a full load with the same fingerprint (or, incremental, the pull
    brought no change), the batch is dropped without validation or publish, in one
    transaction: its attempt becomes `success` with `unchanged_of` naming the batch whose
    rows stay published, and its counts are that load's. Returns that batch id, or None
    when the batch must go on to validation and publish.
    """
    get_source(source_id)
    snap = parse_snapshot(snapshot)
    with connect(url or warehouse_url(), autocommit=True) as db, db.transaction():
        take_load_lock(db, source_id, snap, transaction=True)
        closed = audit.closed_batch(db, batch_id)
        if closed is not None:
            # another run holding the same batch closed it meanwhile (published, or found
            # unchanged): its answer stands, and validation and publish find it done
            return closed[1]
        attempt, checkpoint = _awaiting_publish(db, source_id, snap, batch_id)
        load_id, mode, _ = attempt
        mark = audit.get_fingerprint(db, load_id)
        if mark is None:  # landed by an older version: take it now (nothing moved yet)
            mark = fingerprint(db, source_id, snap, batch_id)
            audit.set_fingerprint(db, load_id, mark)
        previous = audit.latest_success(db, source_id, snap)
        if previous is None:
            return None
        origin = previous["published_batch"]
        fetched, loaded = previous["rows_fetched"], previous["rows_loaded"]
        rejected = previous["rows_rejected"]
        if mode == "full":
            same = previous["mode"] == "full" and previous["fingerprint"] == mark
        else:  # incremental: nothing changed since the high-water mark
            same = checkpoint.rows_fetched == 0
        if not same:
            return None
        published = db.execute(
            sql.SQL("select exists (select 1 from {} where snapshot = %s)").format(
                raw_ident(source_id)
            ),
            (snap,),
        ).fetchone()[0]
        if loaded > 0 and not published:
            return None
        # the unparseable items of this delivery are the earlier load's, already quarantined
        db.execute(
            sql.SQL("delete from {} where snapshot = %s and batch_id = %s").format(
                quarantine_ident(source_id)
            ),
            (snap, batch_id),
        )
        drop_batch(db, source_id, snap)
        audit.clear_checkpoint(db, source_id, snap, batch_id)
        audit.update_counts(
            db,
            load_id,
            rows_fetched=int(fetched),
            rows_loaded=int(loaded),
            rows_rejected=int(rejected),
            pages=int(checkpoint.position.get("pages", 0)),
            retries=audit.get_retries(db, load_id),
        )
        audit.set_unchanged_of(db, load_id, origin)
        audit.finish_attempt(db, load_id, "success")
    log.info(
        "event=unchanged source=%s snapshot=%s batch_id=%s mode=%s published_batch=%s",
        source_id,
        snap,
        batch_id,
        mode,
        origin,
    )
    return str(origin)


def _refresh_region_lookup(db) -> None:
    """New region codes: rebuild the lookup the region checks and staging use (V010)."""
    exists = db.execute(
        "select to_regprocedure('public.umkm_refresh_region_lookup()') is not null"
    ).fetchone()[0]
    if exists:
        db.execute("select public.umkm_refresh_region_lookup()")


def _apply(db, source_id: str, snap: date, batch_id: str, mode: str) -> int:
    """Write the batch into raw; duplicates are quarantined first when the fast path fails."""
    try:
        with db.transaction():
            return _write(db, source_id, snap, mode)
    except (psycopg.errors.UniqueViolation, psycopg.errors.CardinalityViolation):
        moved = _quarantine_duplicates(db, source_id, snap, batch_id)
        log.warning(
            "event=duplicates source=%s snapshot=%s batch_id=%s quarantined=%d",
            source_id,
            snap,
            batch_id,
            moved,
        )
        return _write(db, source_id, snap, mode)


def _write(db, source_id: str, snap: date, mode: str) -> int:
    """Store the batch's rows in raw (raw_history: new versions and a delivery per row)."""
    source = get_source(source_id)
    deliveries = sql.Identifier("raw", raw_history.deliveries_table(source_id))
    batch = batch_ident(source_id, snap).as_string(db)
    raw_history.lock_source(db, source_id)
    if mode == "full":
        db.execute(sql.SQL("delete from {} where snapshot = %s").format(deliveries), (snap,))
        return db.execute(raw_history.insert_sql(source, batch)).rowcount
    # incremental: carry the latest earlier snapshot forward when this one is not there yet
    # (its delivery rows only: the versions are shared)
    present = db.execute(
        sql.SQL("select exists (select 1 from {} where snapshot = %s)").format(deliveries),
        (snap,),
    ).fetchone()[0]
    if not present:
        base = db.execute(
            sql.SQL("select max(snapshot) from {} where snapshot < %s").format(deliveries),
            (snap,),
        ).fetchone()[0]
        if base is not None:
            db.execute(
                sql.SQL(
                    "insert into {} (snapshot, record_id, version_id, volatile, batch_key, "
                    "feed_position, loaded_at) select %s, record_id, version_id, volatile, "
                    "batch_key, feed_position, loaded_at from {} where snapshot = %s"
                ).format(deliveries, deliveries),
                (snap, base),
            )
    return db.execute(raw_history.insert_sql(source, batch, upsert=True)).rowcount


def _quarantine_duplicates(db, source_id: str, snap: date, batch_id: str) -> int:
    batch, quarantine = batch_ident(source_id, snap), quarantine_ident(source_id)
    db.execute(
        sql.SQL(
            "create temporary table _dups on commit drop as "
            "select ctid as row_ref, record_id, feed_position, record from ("
            "  select ctid, record_id, feed_position, record, row_number() over "
            "  (partition by record_id order by feed_position) as n from {}) ranked "
            "where n > 1"
        ).format(batch)
    )
    db.execute(
        sql.SQL(
            "insert into {} (snapshot, batch_id, record_id, feed_position, record, expectation,"
            " reason) select %s, %s, record_id, feed_position, record, 'unique_record_id', "
            "'record_id delivered more than once in the feed (first delivery kept)' from _dups"
        ).format(quarantine),
        (snap, batch_id),
    )
    cur = db.execute(
        sql.SQL("delete from {} where ctid in (select row_ref from _dups)").format(batch)
    )
    db.execute("drop table _dups")
    return cur.rowcount


def discard(
    source_id: str, snapshot: str | date, batch_id: str, error: str, *, url: str | None = None
) -> None:
    """A failed batch: drop its table, clear its checkpoint, mark its attempt `failed`.

    Published data is untouched. When the batch table now belongs to a newer batch, only the
    attempt is marked.
    """
    get_source(source_id)
    snap = parse_snapshot(snapshot)
    with connect(url or warehouse_url(), autocommit=True) as db, db.transaction():
        checkpoint = audit.get_checkpoint(db, source_id, snap)
        if checkpoint is None or checkpoint.batch_id == batch_id:
            drop_batch(db, source_id, snap)
            audit.clear_checkpoint(db, source_id, snap, batch_id)
        audit.fail_running(db, source_id, snap, error or "discarded", batch_id)
    log.warning(
        "event=discarded source=%s snapshot=%s batch_id=%s error=%r",
        source_id,
        snap,
        batch_id,
        error,
    )

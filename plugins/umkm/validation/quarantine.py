"""Quarantine: rows failing row-level checks leave the batch for `quarantine.<source_id>`.

The full set of failing rows comes from our own SQL (the suites' row predicates, evaluated
in one pass), not from GX's sample. Each quarantined row keeps its batch, record id, feed
position, the record as delivered, the first failing expectation and the reasons of all
the checks it failed. Duplicated record ids keep their first delivery (lowest
feed_position); later copies are quarantined.

`replay` re-checks the quarantined rows of a published snapshot against the current rules
(for example after an alias was added to `public.umkm_region_aliases`) and publishes the
rows that now pass, keeping `rows_fetched = rows_loaded + rows_rejected` in `audit.loads`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from psycopg import sql

from umkm.loading import audit
from umkm.validation import suites

log = logging.getLogger("umkm.validation")

_BAD_TABLE = "_umkm_bad_rows"


@dataclass
class QuarantineResult:
    rows_failing: int
    rows_moved: int
    by_expectation: dict[str, int]


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _failed_array(checks: list[suites.Check]) -> str:
    """SQL array of the names of the row checks a row `t` fails (duplicates via copy_no)."""
    items = []
    for check in checks:
        if check.kind == "duplicates":
            items.append(f"case when t.copy_no > 1 then {_lit(check.name)} end")
        elif check.kind == "row":
            items.append(f"case when {check.predicate} then {_lit(check.name)} end")
    return "array_remove(array[" + ", ".join(items) + "]::text[], null)"


def _reason_sql(checks: list[suites.Check], names: str) -> str:
    cases = " ".join(f"when {_lit(c.name)} then {_lit(c.reason)}" for c in checks if c.quarantines)
    return f"array_to_string(array(select case n {cases} end from unnest({names}) as n), '; ')"


def bad_rows_query(
    source_id: str,
    target: sql.Composable,
    where: sql.Composable,
    only: set[str] | None = None,
    *,
    keyed: bool = False,
) -> sql.Composed:
    """The select of the rows of `target` failing the source's row checks, each with the
    names of the checks it fails (`failed`). `only`: the checks to evaluate (None: all).
    `keyed`: `target` is a published `raw.<source_id>` (a view: its rows are named by
    snapshot and record id, unique there), not a batch table (rows named by ctid)."""
    checks = [
        c
        for c in suites.checks_for(source_id)
        if c.quarantines and (only is None or c.name in only)
    ]
    if any(c.kind == "duplicates" for c in checks):
        copy_no = sql.SQL("row_number() over (partition by x.record_id order by x.feed_position)")
    else:
        copy_no = sql.SQL("1::bigint")
    return sql.SQL(
        "select q.* from (select t.ref, t.snapshot, t.batch_id, t.record_id, "
        "t.feed_position, t.record, {failed} as failed from ("
        "select {ref} as ref, x.*, {copy_no} as copy_no "
        "from {target} as x {where}) as t) as q where cardinality(q.failed) > 0"
    ).format(
        failed=sql.SQL(_failed_array(checks) if checks else "array[]::text[]"),
        copy_no=copy_no,
        ref=sql.SQL("null::tid" if keyed else "x.ctid"),
        target=target,
        where=where,
    )


def find_bad_rows(
    conn,
    source_id: str,
    target: sql.Composable,
    where: sql.Composable,
    only: set[str] | None = None,
    *,
    keyed: bool = False,
) -> int:
    """Create the temporary table of failing rows of `target`; returns how many there are.

    `only`: the names of the row checks to evaluate (None: all of them). The runner passes
    the checks Great Expectations found failing on the same rows a moment before, so a
    check no row fails costs no second scan; the duplicate numbering (a sort by record id)
    runs only when the duplicates check is among them.
    Runs inside the caller's transaction; the table is dropped at commit.
    """
    conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(_BAD_TABLE)))
    conn.execute(
        sql.SQL("create temporary table {bad} on commit drop as {query}").format(
            bad=sql.Identifier(_BAD_TABLE),
            query=bad_rows_query(source_id, target, where, only, keyed=keyed),
        )
    )
    return int(
        conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(_BAD_TABLE))
        ).fetchone()[0]
    )


def counts_by_expectation(conn) -> dict[str, int]:
    rows = conn.execute(
        sql.SQL("select n, count(*) from {}, unnest(failed) as n group by n order by n").format(
            sql.Identifier(_BAD_TABLE)
        )
    ).fetchall()
    return {str(name): int(count) for name, count in rows}


def move_bad_rows(conn, source_id: str, target: sql.Composable, *, keyed: bool = False) -> int:
    """Insert the rows of the temporary table into the quarantine and delete them from
    `target`; returns the rows moved."""
    checks = [c for c in suites.checks_for(source_id) if c.quarantines]
    conn.execute(
        sql.SQL(
            "insert into {quarantine} (snapshot, batch_id, record_id, feed_position, record, "
            "expectation, reason) select b.snapshot, b.batch_id, b.record_id, b.feed_position, "
            "b.record, b.failed[1], {reason} from {bad} as b order by b.feed_position "
            "on conflict do nothing"
        ).format(
            quarantine=sql.Identifier("quarantine", source_id),
            reason=sql.SQL(_reason_sql(checks, "b.failed")),
            bad=sql.Identifier(_BAD_TABLE),
        )
    )
    cur = conn.execute(
        sql.SQL("delete from {target} where {row} in (select {ref} from {bad})").format(
            target=target,
            row=sql.SQL("(snapshot, record_id)" if keyed else "ctid"),
            ref=sql.SQL("snapshot, record_id" if keyed else "ref"),
            bad=sql.Identifier(_BAD_TABLE),
        )
    )
    return cur.rowcount


def quarantine_rows(
    conn,
    source_id: str,
    target: sql.Composable,
    where: sql.Composable | None = None,
    *,
    move: bool = True,
    only: set[str] | None = None,
    keyed: bool = False,
) -> QuarantineResult:
    """Find the rows of `target` failing row-level checks and (if `move`) quarantine them.

    `only`: evaluate just these row checks (see find_bad_rows); an empty set finds nothing
    without reading the table. `keyed`: see bad_rows_query.
    """
    if only is not None and not only:
        return QuarantineResult(0, 0, {})
    with conn.transaction():
        failing = find_bad_rows(conn, source_id, target, where or sql.SQL(""), only, keyed=keyed)
        by_expectation = counts_by_expectation(conn) if failing else {}
        moved = move_bad_rows(conn, source_id, target, keyed=keyed) if (move and failing) else 0
    return QuarantineResult(failing, moved, by_expectation)


# --- inspection ----------------------------------------------------------------------------


def list_quarantine(conn, source_id: str | None = None, snapshot: date | None = None) -> list[dict]:
    """Counts per source, snapshot, batch and expectation (pending and replayed)."""
    from umkm.sources import load_registry

    out: list[dict] = []
    for sid in load_registry():
        if source_id and sid != source_id:
            continue
        rows = conn.execute(
            sql.SQL(
                "select snapshot, batch_id, expectation, count(*) filter (where replayed_at is "
                "null), count(*) filter (where replayed_at is not null) from {} "
                "where (%s::date is null or snapshot = %s::date) "
                "group by 1, 2, 3 order by 1, 2, 3"
            ).format(sql.Identifier("quarantine", sid)),
            (snapshot, snapshot),
        ).fetchall()
        for snap, batch_id, expectation, pending, replayed in rows:
            out.append(
                {
                    "source_id": sid,
                    "snapshot": snap.isoformat(),
                    "batch_id": batch_id,
                    "expectation": expectation,
                    "pending": int(pending),
                    "replayed": int(replayed),
                }
            )
    return out


def show_quarantine(
    conn, source_id: str, snapshot: date, *, limit: int = 50, raw: bool = False
) -> list[dict]:
    """Quarantined rows of a snapshot: ids, expectation and reason (record only if `raw`)."""
    rows = conn.execute(
        sql.SQL(
            "select quarantine_id, batch_id, record_id, feed_position, expectation, reason, "
            "replayed_at, record, raw_text from {} where snapshot = %s "
            "order by quarantine_id limit %s"
        ).format(sql.Identifier("quarantine", source_id)),
        (snapshot, limit),
    ).fetchall()
    out = []
    for qid, batch_id, record_id, position, expectation, reason, replayed, record, text in rows:
        item = {
            "quarantine_id": qid,
            "batch_id": batch_id,
            "record_id": record_id,
            "feed_position": position,
            "expectation": expectation,
            "reason": reason,
            "replayed_at": replayed.isoformat() if replayed else None,
        }
        if raw:
            item["record"] = record if record is not None else text
        out.append(item)
    return out


# --- replay --------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    source_id: str
    snapshot: str
    batch_ids: list[str]
    candidates: int
    replayed: int
    still_failing: int


def replay(conn, source_id: str, snapshot: date, batch_id: str | None = None) -> ReplayResult:
    """Re-check pending quarantined rows of a published snapshot; publish those that pass.

    Only batches that were published (`audit.loads` status success) are replayed: an
    unpublished batch is re-validated with `umkm validate` instead. Rows without a parsed
    record (`parseable` rejects) cannot be replayed. A replayed row whose record id is
    already published for the snapshot stays quarantined (unique per snapshot).
    """
    checks = [c for c in suites.checks_for(source_id) if c.kind == "row"]
    quarantine = sql.Identifier("quarantine", source_id)
    raw = sql.Identifier("raw", source_id)
    with conn.transaction():
        batch_ids = audit.successful_batches(conn, source_id, snapshot, batch_id)
        if not batch_ids:
            raise ValueError(
                f"no published batch of {source_id} for {snapshot}"
                + (f" with id {batch_id}" if batch_id else "")
                + ": replay applies to published snapshots (validate pending batches instead)"
            )
        conn.execute("drop table if exists _umkm_replay")
        row_checks = " or ".join(f"({c.predicate})" for c in checks) or "1 = 0"
        conn.execute(
            sql.SQL(
                "create temporary table _umkm_replay on commit drop as "
                "select q.quarantine_id, q.snapshot, q.batch_id, q.record_id, q.feed_position, "
                "q.record, not ({row_checks}) and not exists (select 1 from {raw} as p "
                "where p.snapshot = q.snapshot and p.record_id = q.record_id) "
                "and q.quarantine_id = (select min(d.quarantine_id) from {quarantine} as d "
                "where d.snapshot = q.snapshot and d.record_id = q.record_id "
                "and d.replayed_at is null and d.record is not null) as passes "
                "from {quarantine} as q, lateral (select q.snapshot, q.record_id, q.record, "
                "q.batch_id, q.feed_position) as t "
                "where q.snapshot = %s and q.batch_id = any(%s) and q.replayed_at is null "
                "and q.record is not null"
            ).format(row_checks=sql.SQL(row_checks), raw=raw, quarantine=quarantine),
            (snapshot, batch_ids),
        )
        candidates, passing = conn.execute(
            "select count(*), count(*) filter (where passes) from _umkm_replay"
        ).fetchone()
        conn.execute(
            sql.SQL(
                "insert into {raw} (snapshot, record_id, record, batch_id, feed_position, "
                "loaded_at) select snapshot, record_id, record, batch_id, feed_position, now() "
                "from _umkm_replay where passes"
            ).format(raw=raw)
        )
        conn.execute(
            sql.SQL(
                "update {quarantine} set replayed_at = now() where quarantine_id in "
                "(select quarantine_id from _umkm_replay where passes)"
            ).format(quarantine=quarantine)
        )
        per_batch = conn.execute(
            "select batch_id, count(*) from _umkm_replay where passes group by batch_id"
        ).fetchall()
        for bid, count in per_batch:
            audit.add_replayed_rows(conn, bid, count)
    log.info(
        "event=replayed source=%s snapshot=%s candidates=%d replayed=%d",
        source_id,
        snapshot,
        candidates,
        passing,
    )
    return ReplayResult(
        source_id,
        snapshot.isoformat(),
        batch_ids,
        int(candidates),
        int(passing),
        int(candidates) - int(passing),
    )

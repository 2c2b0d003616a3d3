"""Bookkeeping in `audit`: load attempts (`audit.loads`), checkpoints, high-water marks,
warehouse builds (`audit.builds`) and validation results (`audit.validation_results`).

This module is the one place that reads and writes the audit tables: the loader, publish,
validation, the quarantine replay, the build gate and state, `umkm run`'s summary and the
report call its functions instead of running their own SQL on `audit`.

All functions take an open psycopg connection and run inside the caller's transaction (or
autocommit): the loader commits a page's rows and its checkpoint together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

#: error text kept in audit.loads (the full message is in the task log)
MAX_ERROR_CHARS = 4000
#: observed / expected text kept in audit.validation_results
MAX_RESULT_CHARS = 2000


@dataclass
class Checkpoint:
    """Where an unfinished (or finished, unpublished) batch stands."""

    batch_id: str
    position: dict[str, Any]
    rows_fetched: int

    @property
    def done(self) -> bool:
        return bool(self.position.get("done"))


def latest_loads(conn, snapshot: date) -> dict[str, dict[str, Any]]:
    """The latest attempt of each source for a snapshot: source_id -> its `audit.loads` row
    (load_id, batch_id, mode, status, unchanged_of, rows_fetched, rows_loaded,
    rows_rejected, started_at, finished_at). The one reading of "where does each source
    stand" that the build gate, `umkm run`'s summary, `umkm validate`, the report and the
    benchmark use."""
    rows = conn.execute(
        """
        select distinct on (source_id)
            source_id, load_id, batch_id, mode, status, unchanged_of, rows_fetched,
            rows_loaded, rows_rejected, started_at, finished_at
        from audit.loads
        where snapshot = %s
        order by source_id, load_id desc
        """,
        (snapshot,),
    )
    names = [column.name for column in rows.description]
    return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in rows.fetchall()}


def start_attempt(conn, source_id: str, snapshot: date, batch_id: str, mode: str) -> int:
    """A new `running` attempt; returns its load_id."""
    row = conn.execute(
        """
        insert into audit.loads (source_id, snapshot, batch_id, mode, status)
        values (%s, %s, %s, %s, 'running') returning load_id
        """,
        (source_id, snapshot, batch_id, mode),
    ).fetchone()
    return int(row[0])


def running_attempt(conn, batch_id: str) -> tuple[int, str, int] | None:
    """(load_id, mode, rows_fetched) of the batch's latest running attempt."""
    row = conn.execute(
        """
        select load_id, mode, rows_fetched from audit.loads
        where batch_id = %s and status = 'running' order by load_id desc limit 1
        """,
        (batch_id,),
    ).fetchone()
    return (int(row[0]), str(row[1]), int(row[2])) if row else None


def latest_attempt(conn, batch_id: str) -> tuple[str, str | None] | None:
    """(status, error) of the batch's latest attempt, or None when it has none."""
    row = conn.execute(
        "select status, error from audit.loads where batch_id = %s order by load_id desc limit 1",
        (batch_id,),
    ).fetchone()
    return (str(row[0]), row[1]) if row else None


def closed_batch(conn, batch_id: str) -> tuple[int, str | None] | None:
    """(rows_loaded, unchanged_of) of the batch's latest successful attempt, or None when
    none succeeded. `unchanged_of` names the batch it found its delivery equal to (None when
    it published its own rows)."""
    row = conn.execute(
        "select rows_loaded, unchanged_of from audit.loads where batch_id = %s "
        "and status = 'success' order by load_id desc limit 1",
        (batch_id,),
    ).fetchone()
    return (int(row[0]), row[1]) if row else None


def published_rows(conn, batch_id: str) -> int | None:
    """The rows a batch published when one of its attempts succeeded, else None."""
    closed = closed_batch(conn, batch_id)
    return closed[0] if closed else None


def latest_success(conn, source_id: str, snapshot: date) -> dict[str, Any] | None:
    """The source's latest successful load for a snapshot, or None: its `audit.loads` row
    (load_id, batch_id, published_batch, mode, fingerprint, rows_fetched, rows_loaded,
    rows_rejected). `published_batch` is the batch whose rows it left published: the one it
    matched (`unchanged_of`), else its own."""
    cur = conn.execute(
        """
        select load_id, batch_id, coalesce(unchanged_of, batch_id) as published_batch, mode,
               fingerprint, rows_fetched, rows_loaded, rows_rejected
        from audit.loads
        where source_id = %s and snapshot = %s and status = 'success'
        order by load_id desc limit 1
        """,
        (source_id, snapshot),
    )
    row = cur.fetchone()
    return _as_dict(cur, row) if row else None


def published_batches(conn) -> list[tuple[str, date, str]]:
    """(source_id, snapshot, published batch) of every source and snapshot with a successful
    load, in that order: the latest successful load's `unchanged_of`, else its batch_id."""
    return conn.execute(
        """
        select source_id, snapshot, coalesce(unchanged_of, batch_id)
        from (
            select distinct on (source_id, snapshot) source_id, snapshot, unchanged_of,
                   batch_id
            from audit.loads
            where status = 'success'
            order by source_id, snapshot, load_id desc
        ) as latest
        order by source_id, snapshot
        """
    ).fetchall()


def successful_batches(
    conn, source_id: str, snapshot: date, batch_id: str | None = None
) -> list[str]:
    """The distinct batch ids of the source's successful loads for a snapshot (only
    `batch_id`, when given)."""
    rows = conn.execute(
        "select distinct batch_id from audit.loads where source_id = %s and snapshot = %s "
        "and status = 'success' and (%s::text is null or batch_id = %s::text)",
        (source_id, snapshot, batch_id, batch_id),
    ).fetchall()
    return [row[0] for row in rows]


def sources_loaded_by(conn, snapshot: date, source_ids: list[str]) -> list[str]:
    """Those of `source_ids` with a successful load at or before the snapshot."""
    rows = conn.execute(
        """
        select distinct source_id from audit.loads
        where snapshot <= %s and status = 'success' and source_id = any(%s)
        """,
        (snapshot, source_ids),
    ).fetchall()
    return [row[0] for row in rows]


def load_mode(conn, batch_id: str) -> str | None:
    """The mode (full / incremental) of the batch's latest attempt, None without one."""
    row = conn.execute(
        "select mode from audit.loads where batch_id = %s order by load_id desc limit 1",
        (batch_id,),
    ).fetchone()
    return row[0] if row else None


def update_counts(
    conn,
    load_id: int,
    *,
    rows_fetched: int,
    rows_loaded: int,
    rows_rejected: int,
    pages: int,
    retries: int,
) -> None:
    conn.execute(
        """
        update audit.loads set rows_fetched = %s, rows_loaded = %s, rows_rejected = %s,
               pages = %s, retries = %s
        where load_id = %s
        """,
        (rows_fetched, rows_loaded, rows_rejected, pages, retries, load_id),
    )


def set_fingerprint(conn, load_id: int, fingerprint: str) -> None:
    """What the attempt delivered (`batch.fingerprint`), taken when its pull is complete."""
    conn.execute(
        "update audit.loads set fingerprint = %s where load_id = %s", (fingerprint, load_id)
    )


def get_fingerprint(conn, load_id: int) -> str | None:
    row = conn.execute("select fingerprint from audit.loads where load_id = %s", (load_id,))
    found = row.fetchone()
    return found[0] if found else None


def get_retries(conn, load_id: int) -> int:
    """The retries counted so far for the attempt."""
    return int(
        conn.execute("select retries from audit.loads where load_id = %s", (load_id,)).fetchone()[0]
    )


def set_unchanged_of(conn, load_id: int, batch_id: str) -> None:
    """The attempt delivered what `batch_id` already published: those rows stay."""
    conn.execute("update audit.loads set unchanged_of = %s where load_id = %s", (batch_id, load_id))


def set_rejected(conn, load_id: int, rejected: int) -> None:
    """A load's rows now quarantined: rows_loaded follows (fetched = loaded + rejected)."""
    conn.execute(
        "update audit.loads set rows_rejected = %s, rows_loaded = rows_fetched - %s "
        "where load_id = %s",
        (rejected, rejected, load_id),
    )


def add_replayed_rows(conn, batch_id: str, count: int) -> None:
    """`count` quarantined rows of the batch were replayed into raw: they move from
    rows_rejected to rows_loaded of the batch's latest successful load."""
    conn.execute(
        "update audit.loads set rows_loaded = rows_loaded + %s, "
        "rows_rejected = rows_rejected - %s where load_id = (select max(load_id) "
        "from audit.loads where batch_id = %s and status = 'success')",
        (count, count, batch_id),
    )


def finish_attempt(conn, load_id: int, status: str, error: str | None = None) -> None:
    """Close an attempt as success / failed / no_data."""
    conn.execute(
        """
        update audit.loads set status = %s, finished_at = now(), error = %s
        where load_id = %s
        """,
        (status, (error or None) and error[:MAX_ERROR_CHARS], load_id),
    )


def fail_running(conn, source_id: str, snapshot: date, error: str, batch_id: str | None = None):
    """Mark attempts left `running` (killed processes) as failed."""
    query = """
        update audit.loads set status = 'failed', finished_at = now(), error = %s
        where source_id = %s and snapshot = %s and status = 'running'
    """
    params: list[Any] = [error, source_id, snapshot]
    if batch_id is not None:
        query += " and batch_id = %s"
        params.append(batch_id)
    conn.execute(query, params)


def get_checkpoint(conn, source_id: str, snapshot: date) -> Checkpoint | None:
    row = conn.execute(
        """
        select batch_id, position, rows_fetched from audit.checkpoints
        where source_id = %s and snapshot = %s
        """,
        (source_id, snapshot),
    ).fetchone()
    return Checkpoint(row[0], dict(row[1]), int(row[2])) if row else None


def put_checkpoint(
    conn, source_id: str, snapshot: date, batch_id: str, position: dict[str, Any], fetched: int
) -> None:
    conn.execute(
        """
        insert into audit.checkpoints (source_id, snapshot, batch_id, position, rows_fetched)
        values (%s, %s, %s, %s, %s)
        on conflict (source_id, snapshot) do update
        set batch_id = excluded.batch_id, position = excluded.position,
            rows_fetched = excluded.rows_fetched, updated_at = now()
        """,
        (source_id, snapshot, batch_id, Jsonb(position), fetched),
    )


def clear_checkpoint(conn, source_id: str, snapshot: date, batch_id: str | None = None) -> None:
    query = "delete from audit.checkpoints where source_id = %s and snapshot = %s"
    params: list[Any] = [source_id, snapshot]
    if batch_id is not None:
        query += " and batch_id = %s"
        params.append(batch_id)
    conn.execute(query, params)


def get_watermark(conn, source_id: str) -> datetime | None:
    row = conn.execute(
        "select high_water from audit.watermarks where source_id = %s", (source_id,)
    ).fetchone()
    return row[0] if row else None


def put_watermark(conn, source_id: str, high_water: datetime) -> None:
    """Raise the source's high-water mark (never lowers it)."""
    conn.execute(
        """
        insert into audit.watermarks (source_id, high_water) values (%s, %s)
        on conflict (source_id) do update
        set high_water = greatest(audit.watermarks.high_water, excluded.high_water),
            updated_at = now()
        """,
        (source_id, high_water),
    )


def latest_build(conn, snapshot: date) -> tuple[str, str] | None:
    """(status, detail) of the snapshot's latest warehouse build (`audit.builds`), or None."""
    return conn.execute(
        "select status, detail from audit.builds where snapshot = %s "
        "order by build_id desc limit 1",
        (snapshot,),
    ).fetchone()


def last_successful_build(conn) -> tuple[date, str] | None:
    """(snapshot, state) of the latest successful build of any snapshot, or None."""
    return conn.execute(
        "select snapshot, state from audit.builds where status = 'success' "
        "order by build_id desc limit 1"
    ).fetchone()


def unlogged_tables_reset(conn) -> bool:
    """Whether a crash emptied the unlogged tables since the latest successful build: its
    build id is no longer in the unlogged audit.build_sentinel (migration V058)."""
    row = conn.execute(
        "select not exists (select 1 from audit.build_sentinel s where s.build_id = "
        "(select max(build_id) from audit.builds where status = 'success'))"
    ).fetchone()
    return bool(row and row[0])


def record_build(conn, snapshot: date, state: str, status: str, detail: str) -> int:
    """A build decision (status running or skipped, detail its reason); returns build_id."""
    row = conn.execute(
        "insert into audit.builds (snapshot, state, status, detail) values (%s, %s, %s, %s) "
        "returning build_id",
        (snapshot, state, status, detail),
    ).fetchone()
    return int(row[0])


def mark_build_success(conn, build_id: int) -> None:
    """The build ran to the end (and its id goes in the unlogged sentinel, see V058).

    Two builds decided at once (two operators' runs) finish in the order of the build lock,
    not of their ids: the sentinel keeps every id from the latest successful build's up, so
    the earlier id finishing last does not push the latest one out (which read as a crash
    and rebuilt everything on the next run)."""
    conn.execute(
        "update audit.builds set status = 'success', recorded_at = now() where build_id = %s",
        (build_id,),
    )
    conn.execute(
        "insert into audit.build_sentinel (build_id) values (%s) on conflict do nothing",
        (build_id,),
    )
    conn.execute(
        "delete from audit.build_sentinel where build_id < "
        "(select max(build_id) from audit.builds where status = 'success')"
    )


def insert_validation_results(
    conn, run_id: str, source_id: str, snapshot: date, batch_id: str, results: list[dict[str, Any]]
) -> None:
    """One `audit.validation_results` row per expectation of a validation run (`results`:
    name, severity, success, observed, expected, unexpected_count); a run's expectation
    recorded again is updated. Observed and expected texts are cut at MAX_RESULT_CHARS."""
    for item in results:
        conn.execute(
            """
            insert into audit.validation_results (run_id, source_id, snapshot, batch_id,
                expectation, severity, success, observed, expected, unexpected_count)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (run_id, expectation) do update set success = excluded.success,
                observed = excluded.observed, unexpected_count = excluded.unexpected_count
            """,
            (
                run_id,
                source_id,
                snapshot,
                batch_id,
                item["name"],
                item["severity"],
                item["success"],
                item["observed"][:MAX_RESULT_CHARS],
                item["expected"][:MAX_RESULT_CHARS],
                item["unexpected_count"],
            ),
        )


def latest_validation_results(conn, snapshot: date) -> list[dict[str, Any]]:
    """The last result of each source's expectations for a snapshot, by source and
    expectation: dicts of source_id, expectation, severity, success, unexpected_count,
    run_at."""
    cur = conn.execute(
        """
        select distinct on (source_id, expectation) source_id, expectation, severity, success,
               unexpected_count, run_at
        from audit.validation_results where snapshot = %s
        order by source_id, expectation, run_at desc
        """,
        (snapshot,),
    )
    return [_as_dict(cur, row) for row in cur.fetchall()]


def _as_dict(cur, row: tuple) -> dict[str, Any]:
    return dict(zip([column.name for column in cur.description], row, strict=True))

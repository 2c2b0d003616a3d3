"""Load bookkeeping in `audit`: attempts (`audit.loads`), checkpoints, high-water marks.

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
    stand" that the build gate, `umkm run`'s summary, `umkm validate` and the benchmark use."""
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

"""The batch table `raw.<source_id>__batch_<yyyymmdd>` and landing pages into it.

The batch table has the columns of `raw.<source_id>` (no primary key: duplicates are
handled at publish) and is UNLOGGED: it skips the write-ahead log, which roughly halves the
cost of landing. That is safe because the batch is never the published copy: publish
inserts its rows into the logged `raw.<source_id>` in one transaction. After a PostgreSQL
crash an unlogged table comes back empty; the loader notices (the checkpoint's landed count
no longer matches the table) and pulls the snapshot again from the start.

A page lands with one `COPY` (snapshot, batch_id and loaded_at come from column defaults)
plus its quarantine rows and its checkpoint, in one transaction.
"""

from __future__ import annotations

import logging
from datetime import date

import psycopg
from psycopg import sql

from umkm.connectors.base import Page, Reject
from umkm.naming import batch_ident, batch_table_name

log = logging.getLogger("umkm.loading")

COLUMNS = ("snapshot", "record_id", "record", "batch_id", "feed_position", "loaded_at")


def raw_ident(source_id: str) -> sql.Identifier:
    return sql.Identifier("raw", source_id)


def quarantine_ident(source_id: str) -> sql.Identifier:
    return sql.Identifier("quarantine", source_id)


def batch_exists(conn, source_id: str, snapshot: date) -> bool:
    name = f"raw.{batch_table_name(source_id, snapshot)}"
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def drop_batch(conn, source_id: str, snapshot: date) -> None:
    conn.execute(sql.SQL("drop table if exists {}").format(batch_ident(source_id, snapshot)))


def create_batch(conn, source_id: str, snapshot: date, batch_id: str) -> None:
    """(Re)create the empty batch table with defaults for the per-batch columns."""
    table = batch_ident(source_id, snapshot)
    drop_batch(conn, source_id, snapshot)
    conn.execute(
        sql.SQL(
            "create unlogged table {} (snapshot date not null default {}, "
            "record_id text not null, record jsonb not null, "
            "batch_id text not null default {}, feed_position bigint not null, "
            "loaded_at timestamptz not null default now())"
        ).format(table, sql.Literal(snapshot), sql.Literal(batch_id))
    )


def count_batch(conn, source_id: str, snapshot: date) -> int:
    table = batch_ident(source_id, snapshot)
    return int(conn.execute(sql.SQL("select count(*) from {}").format(table)).fetchone()[0])


def fingerprint(conn, source_id: str, snapshot: date, batch_id: str) -> str:
    """What a batch delivered, whatever the order: its rows and an order-free sum of 64-bit
    hashes of (record_id, record), then the same for the items quarantined as unparseable.

    Two deliveries with the same fingerprint hold the same records (jsonb equality: a
    different key order counts as the same record). The record is hashed as jsonb, seeded
    with its id's hash (twice as fast as hashing its text: 3.0 s against 6.8 s for 4M
    registry rows).
    """
    rows = conn.execute(
        sql.SQL(
            "select count(*), coalesce(sum(jsonb_hash_extended("
            "record, hashtextextended(record_id, 0))::numeric), 0) from {}"
        ).format(batch_ident(source_id, snapshot))
    ).fetchone()
    rejects = conn.execute(
        sql.SQL(
            "select count(*), coalesce(sum(hashtextextended("
            "coalesce(record_id, '') || chr(31) || coalesce(raw_text, ''), 0)::numeric), 0) "
            "from {} where snapshot = %s and batch_id = %s and expectation = 'parseable'"
        ).format(quarantine_ident(source_id)),
        (snapshot, batch_id),
    ).fetchone()
    return f"{rows[0]}:{rows[1]}:{rejects[0]}:{rejects[1]}"


def _escape(value: bytes) -> bytes:
    """Escape for COPY's text format (backslash, tab, newline, carriage return)."""
    if b"\\" in value or b"\t" in value or b"\n" in value or b"\r" in value:
        value = (
            value.replace(b"\\", b"\\\\")
            .replace(b"\t", b"\\t")
            .replace(b"\n", b"\\n")
            .replace(b"\r", b"\\r")
        )
    return value


def copy_buffer(page: Page, base_position: int) -> bytes:
    """The page's rows as COPY text: record_id, record, feed_position."""
    esc = _escape
    return b"".join(
        b"%s\t%s\t%d\n" % (esc(rid.encode()), esc(body), base_position + index)
        for index, rid, body in page.rows
    )


def land_page(conn, source_id: str, snapshot: date, batch_id: str, page: Page, base: int) -> int:
    """COPY the page's rows and quarantine its rejects; returns rows landed.

    Runs inside the caller's transaction. If PostgreSQL refuses the COPY (a record that is
    valid JSON for the source but not for jsonb, a NUL byte), the page is landed row by row
    and the refused rows join the quarantine with PostgreSQL's reason.
    """
    table = batch_ident(source_id, snapshot)
    copy_sql = sql.SQL("copy {} (record_id, record, feed_position) from stdin").format(table)
    rejects = list(page.rejects)
    landed = len(page.rows)
    if page.rows:
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.write(copy_buffer(page, base))
        except psycopg.DataError as exc:
            log.warning(
                "event=copy_refused source=%s snapshot=%s reason=%r: landing row by row",
                source_id,
                snapshot,
                str(exc).splitlines()[0],
            )
            landed = _land_rows(conn, table, page, base, rejects)
    if rejects:
        quarantine(conn, source_id, snapshot, batch_id, rejects, base)
    return landed


def _land_rows(conn, table: sql.Identifier, page: Page, base: int, rejects: list[Reject]) -> int:
    insert = sql.SQL(
        "insert into {} (record_id, record, feed_position) values (%s, %s::jsonb, %s)"
    ).format(table)
    landed = 0
    for index, rid, body in page.rows:
        text = body.decode("utf-8", "replace")
        try:
            with conn.transaction():
                conn.execute(insert, (rid, text, base + index))
            landed += 1
        except psycopg.DataError as exc:
            reason = f"refused by PostgreSQL: {str(exc).splitlines()[0]}"
            rejects.append(Reject(index, rid.replace("\x00", ""), text, reason))
    return landed


def quarantine(
    conn,
    source_id: str,
    snapshot: date,
    batch_id: str,
    rejects: list[Reject],
    base: int,
    expectation: str = "parseable",
) -> None:
    """Rows that cannot be parsed at all: raw text and reason, record left null."""
    insert = sql.SQL(
        "insert into {} (snapshot, batch_id, record_id, feed_position, raw_text, expectation,"
        " reason) values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing"
    ).format(quarantine_ident(source_id))
    with conn.cursor() as cur:
        cur.executemany(
            insert,
            [
                (
                    snapshot,
                    batch_id,
                    r.record_id,
                    base + r.index,
                    r.raw_text.replace("\x00", "\\u0000"),
                    expectation,
                    r.reason,
                )
                for r in rejects
            ],
        )

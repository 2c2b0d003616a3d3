"""Snapshot dates and batch-table names: one definition for the loader, validation,
orchestration, the CLI and the benchmarks.

A snapshot is a calendar date (YYYY-MM-DD); a batch lands in `raw.<source_id>__batch_<YYYYMMDD>`
before it is validated and published into `raw.<source_id>`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from psycopg import sql

#: Western Indonesia Time: a snapshot is a calendar day in WIB (UTC+7).
WIB = timezone(timedelta(hours=7), name="WIB")


def parse_snapshot(value: str | date) -> date:
    """A snapshot from a date, a datetime or YYYY-MM-DD text; ValueError names the format."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"snapshot must be a date YYYY-MM-DD, got {value!r}") from None


def snapshot_end(snapshot: str | date) -> datetime:
    """The end of the snapshot's day in WIB (midnight after it), an aware datetime."""
    return datetime.combine(parse_snapshot(snapshot) + timedelta(days=1), time(0), WIB)


def batch_table_name(source_id: str, snapshot: str | date) -> str:
    """The landing table of a source's batch for a snapshot (in schema raw)."""
    return f"{source_id}__batch_{parse_snapshot(snapshot):%Y%m%d}"


def batch_table(source_id: str, snapshot: str | date) -> str:
    """`raw.<batch table>`, as text (for to_regclass and messages)."""
    return f"raw.{batch_table_name(source_id, snapshot)}"


def batch_ident(source_id: str, snapshot: str | date) -> sql.Identifier:
    """The batch table as a psycopg identifier (for composed SQL)."""
    return sql.Identifier("raw", batch_table_name(source_id, snapshot))

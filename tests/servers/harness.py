"""Fixtures shared by tests/connectors and tests/loading (imported by their conftests).

`feed_server(protocol, source_id, **options)` starts a `FeedServer`, points the source's
`AIRFLOW_CONN_*` at it and stops it after the test. `clean_warehouse` empties the landing
and audit tables after every test so tests never resume each other's batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from psycopg import sql

from servers.feeds import FeedServer
from umkm.connectors.http import RetryPolicy
from umkm.sources import get_source, load_registry
from umkm.warehouse import raw_history
from umkm.warehouse.db import connect

#: quick retries for tests (waits of milliseconds; Retry-After still honoured)
FAST = RetryPolicy(
    connect_timeout_s=2,
    read_timeout_s=5,
    max_attempts=6,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
    file_fetches=3,
)


@pytest.fixture
def feed_server(monkeypatch) -> Iterator[Callable[..., FeedServer]]:
    started: list[FeedServer] = []

    def start(protocol: str, source_id: str, **options) -> FeedServer:
        server = FeedServer(protocol, **options).start()
        started.append(server)
        monkeypatch.setenv(get_source(source_id).env_var, server.conn_uri())
        return server

    yield start
    for server in started:
        server.stop()


def reset_warehouse(url: str) -> None:
    with connect(url, autocommit=True) as db:
        batches = db.execute(
            "select tablename from pg_tables where schemaname = 'raw' and tablename like "
            "'%\\_\\_batch\\_%'"
        ).fetchall()
        for (name,) in batches:
            db.execute(sql.SQL("drop table {}").format(sql.Identifier("raw", name)))
        tables = [t for s in load_registry() for t in raw_history.storage_idents(s)]
        tables += [sql.Identifier("quarantine", s) for s in load_registry()]
        audit_tables = ("loads", "checkpoints", "watermarks", "builds")
        tables += [sql.Identifier("audit", t) for t in audit_tables]
        db.execute(sql.SQL("truncate {}").format(sql.SQL(", ").join(tables)))


@pytest.fixture
def wh(warehouse) -> Iterator[str]:
    """The module's test warehouse, emptied after each test."""
    yield warehouse
    reset_warehouse(warehouse)


def raw_rows(url: str, source_id: str, snapshot: str) -> list[tuple]:
    with connect(url) as db:
        return db.execute(
            sql.SQL(
                "select record_id, record, feed_position from {} where snapshot = %s "
                "order by record_id"
            ).format(sql.Identifier("raw", source_id)),
            (snapshot,),
        ).fetchall()


def raw_ids(url: str, source_id: str, snapshot: str) -> list[str]:
    return [r[0] for r in raw_rows(url, source_id, snapshot)]


def loads(url: str, source_id: str) -> list[dict]:
    with connect(url) as db:
        cur = db.execute(
            "select * from audit.loads where source_id = %s order by load_id", (source_id,)
        )
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def quarantined(url: str, source_id: str) -> list[tuple]:
    with connect(url) as db:
        return db.execute(
            sql.SQL("select record_id, raw_text, expectation, reason from {}").format(
                sql.Identifier("quarantine", source_id)
            )
        ).fetchall()


def wait_for_committed_rows(url: str, source_id: str, at_least: int, timeout: float = 60) -> None:
    """Poll `audit.checkpoints` until a pull of `source_id` has committed `at_least` rows."""
    deadline = time.monotonic() + timeout
    while True:
        with connect(url) as db:
            row = db.execute(
                "select rows_fetched from audit.checkpoints where source_id = %s", (source_id,)
            ).fetchone()
        if row and row[0] >= at_least:
            return
        assert time.monotonic() < deadline, f"the pull of {source_id} never committed a page"
        time.sleep(0.1)


def assert_resumed_exactly(url: str, server, snapshot: str) -> None:
    """After an interrupted bukalapak pull and one more attempt (published): raw holds the
    served ids once each, in feed positions 0..n-1, the attempt resumed (offset 0 asked for
    once) and the last attempt succeeded with none left running."""
    rows = raw_rows(url, "bukalapak", snapshot)
    assert [r[0] for r in rows] == sorted(server.expected_ids())
    assert sorted(r[2] for r in rows) == list(range(len(rows)))
    offsets = [int(q["offset"][0]) for _m, p, q in server.requests if p == "/api/stores"]
    assert offsets.count(0) == 1, "the later attempt started again from the beginning"
    statuses = [a["status"] for a in loads(url, "bukalapak")]
    assert statuses[-1] == "success" and "running" not in statuses, statuses

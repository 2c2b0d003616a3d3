"""Shared fixtures: a real PostgreSQL for every test that needs one.

By default the embedded warehouse (started if needed); with `WAREHOUSE_URL` set, the server
it names (e.g. the PostgreSQL 15 at 127.0.0.1:5432). Each test module that asks gets its
own throwaway database, bootstrapped, dropped afterwards, so tests never touch the demo's
`umkm` database.
"""

from __future__ import annotations

import functools
import itertools
import os
import socket
import tempfile

import pytest

from umkm import settings
from umkm.warehouse.bootstrap import bootstrap, ensure_database
from umkm.warehouse.db import connect, with_database

_counter = itertools.count()

# Airflow objects built by tests (DagBag) must not touch a developer's Airflow home.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="umkm-test-airflow-"))
# The tests' worlds are made up: the public development pseudonymisation key is fine (the
# pipeline refuses it outside this mode). Subprocesses (Airflow, dbt) inherit it.
os.environ.setdefault("UMKM_DEV_MODE", "1")

SECOND_TARGET_URL = os.environ.get(
    "UMKM_SECOND_WAREHOUSE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@functools.cache
def server_admin_url() -> str:
    """A URL to the maintenance database of the warehouse server under test.

    Found once per session: some fixtures later point `UMKM_STATE_DIR` elsewhere, and the
    embedded server must still be the one started first.
    """
    configured = settings.configured_warehouse_url()
    if configured:
        return with_database(configured, "postgres")
    from umkm.warehouse import embedded

    embedded.start()
    return embedded.url("postgres")


def reachable(url: str) -> bool:
    from umkm.warehouse.db import parse_url

    parts = parse_url(url)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parts.host, parts.port)) == 0


def create_test_database(admin_url: str, label: str) -> str:
    name = f"t_{label}_{os.getpid()}_{next(_counter)}"
    ensure_database(admin_url, name)
    url = with_database(admin_url, name)
    with connect(url) as conn:
        bootstrap(conn)
    return url


def drop_test_database(admin_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def admin_url() -> str:
    return server_admin_url()


@pytest.fixture(scope="module")
def warehouse(admin_url, request) -> str:
    """URL of a fresh, bootstrapped database for this test module."""
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    url = create_test_database(admin_url, label)
    yield url
    drop_test_database(admin_url, url)

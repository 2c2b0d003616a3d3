"""The embedded warehouse: starts once, reports itself, accepts psycopg and psql URLs."""

import subprocess

import pytest

from umkm import settings
from umkm.warehouse import embedded
from umkm.warehouse.db import connect, parse_url, redact, with_database

pytestmark = pytest.mark.skipif(
    settings.configured_warehouse_url() is not None, reason="WAREHOUSE_URL set: not embedded"
)


def test_start_is_idempotent_and_status_reports_it():
    first = embedded.start()
    second = embedded.start()
    assert first.running and second.pid == first.pid
    assert embedded.status().running
    with connect(first.url) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == "umkm"
        version = conn.execute("show server_version_num").fetchone()[0]
    assert int(version) >= 180000


def test_psql_accepts_the_url():
    url = embedded.start().url
    out = subprocess.run(
        [str(embedded.psql_path()), url, "-Atc", "select 41 + 1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "42"


def test_url_helpers():
    url = "postgresql://loader:s3cret@db.example:6543/wh"
    parts = parse_url(url)
    assert (parts.host, parts.port, parts.user, parts.dbname) == (
        "db.example",
        6543,
        "loader",
        "wh",
    )
    assert "s3cret" not in redact(url)
    assert with_database(url, "postgres").endswith("/postgres")
    assert parse_url("postgres://u@h/db").dbname == "db"

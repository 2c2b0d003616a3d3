"""Fixtures for the validation tests: one throwaway warehouse per session with BPS regencies.

The BPS reference rows are read from the shared folder at test time (never copied into the
repository). The normalisation functions come from the warehouse's own migrations.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import create_test_database, drop_test_database, server_admin_url
from umkm import settings
from umkm.warehouse.db import connect

SNAPSHOT = date(2017, 11, 15)
PREVIOUS = date(2017, 10, 15)


@pytest.fixture(scope="session")
def admin() -> str:
    """The server's admin URL, found before the state folder is redirected."""
    return server_admin_url()


@pytest.fixture(scope="package")
def state_dir(admin):
    path = Path(tempfile.mkdtemp(prefix="umkm-validation-state-"))
    old = os.environ.get("UMKM_STATE_DIR")
    os.environ["UMKM_STATE_DIR"] = str(path)
    os.environ["UMKM_ALERT_BACKOFF_S"] = "0.05"
    yield path
    if old is None:
        os.environ.pop("UMKM_STATE_DIR", None)
    else:
        os.environ["UMKM_STATE_DIR"] = old


def load_regencies(url: str) -> None:
    """The BPS regencies into raw.bps, as the reference source lands them."""
    regencies = settings.wilayah_dir() / "regencies.csv"
    with (
        connect(url, autocommit=True) as conn,
        open(regencies, newline="") as handle,
        conn.cursor() as cur,
        cur.copy(
            "copy raw.bps (snapshot, record_id, record, batch_id, feed_position, loaded_at) "
            "from stdin"
        ) as copy,
    ):
        for i, (code, province, name) in enumerate(csv.reader(handle)):
            record = {
                "level": "regency",
                "code": code,
                "parent_code": province,
                "name": name,
            }
            copy.write_row((SNAPSHOT, code, json.dumps(record), "bps-test", i, "2017-11-15"))


@pytest.fixture(scope="package")
def wh(admin, state_dir) -> str:
    """URL of a bootstrapped throwaway database with the BPS regencies in raw.bps."""
    url = create_test_database(admin, "validation")
    load_regencies(url)
    yield url
    drop_test_database(admin, url)

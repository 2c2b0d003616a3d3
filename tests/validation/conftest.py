"""Fixtures for the validation tests: one throwaway warehouse per session with BPS regencies.

The BPS reference rows are read from the shared folder at test time (never copied into the
repository). When the normalisation functions of migration V010 are not in the warehouse
yet, simple stand-ins with the same signatures are created in the test database only.
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

STAND_INS = r"""
create table if not exists public.umkm_region_aliases (alias text primary key, regency_code text);
create or replace function public.umkm_normalise_city(city text) returns text
language sql immutable as $$
    select nullif(btrim(regexp_replace(regexp_replace(lower(coalesce(city, '')),
        '^(kabupaten|kab\.?|kota|kodya)\s+', ''), '\s+', ' ', 'g')), '')
$$;
create or replace function public.umkm_regency_code(city text, province text) returns text
language sql stable as $$
    select coalesce(
        (select a.regency_code from public.umkm_region_aliases a
         where a.alias = public.umkm_normalise_city(city)),
        (select min(b.record->>'code') from raw.bps b where b.record->>'level' = 'regency'
         and public.umkm_normalise_city(b.record->>'name') = public.umkm_normalise_city(city)))
$$;
create or replace function public.umkm_phone_e164(phone text) returns text
language sql immutable as $$
    select case when d ~ '^(62|0)8[0-9]{7,11}$' then '+62' || regexp_replace(d, '^(62|0)', '')
                when d ~ '^(62|0)[1-79][0-9]{6,9}$' then '+62' || regexp_replace(d, '^(62|0)', '')
           end
    from (select regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') as d) s
$$;
"""


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


@pytest.fixture(scope="package")
def wh(admin, state_dir) -> str:
    """URL of a bootstrapped throwaway database with the BPS regencies in raw.bps."""
    url = create_test_database(admin, "validation")
    regencies = settings.wilayah_dir() / "regencies.csv"
    with connect(url, autocommit=True) as conn:
        missing = conn.execute(
            "select to_regprocedure('public.umkm_regency_code(text, text)') is null"
        ).fetchone()[0]
        if missing:
            conn.execute(STAND_INS)
        with (
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
    yield url
    drop_test_database(admin, url)

"""Proof by a new source (issue 20, item 2): a twelfth marketplace is its registry entry.

`lapakita` is a marketplace the repository does not have: its own field names (nested
address), `dd/mm/yyyy` dates, its own tier and status words, on the contract's apikey-offset
protocol, served by a loopback `FeedServer`. The test writes a registry with its entry, runs
the documented commands into copies (`umkm sources generate`, `umkm validate
--write-suites`), points the pipeline at them (`UMKM_SOURCE_REGISTRY`, `UMKM_DBT_PROJECT_DIR`,
`UMKM_EXPECTATIONS_DIR`), ingests it with the real ingest service beside tokopedia (some of
whose shops are the same businesses) and the region reference, builds the marts with dbt,
and checks that it is validated, staged, resolved and counted. No code knows its name.

Expected values come from the world written here, never from the pipeline's output.
"""

from __future__ import annotations

from datetime import date

import pytest
from servers.feeds import FeedServer

from tests.sources.new_source import (
    OWNERS,
    SHOPS,
    SNAPSHOT,
    new_source_world,
    phone,
    rows,
    tokopedia_shop,
)
from umkm import settings

pytestmark = pytest.mark.dbt

NEW = "lapakita"

#: The new marketplace's registry entry: nothing else in the repository names it.
ENTRY = f"""
  {NEW}:
    name: Lapakita.id
    kind: marketplace
    protocol: apikey-offset
    conn_id: umkm_{NEW}
    updated_since: false
    id_field: kode_lapak
    founded: "2016-01-01"
    page_size: 7
    fields:
      id: kode_lapak
      shop_name: nama_lapak
      owner_name: pemilik
      phone: no_wa
      email: surel
      street: lokasi.jalan
      city: lokasi.kabkota
      province: lokasi.provinsi
      tier: kelas
      category: kategori_utama
      product_count: jumlah_barang
      licence: nib
      opened: tgl_buka
      last_active: tgl_aktif
      status: kondisi
    formats: {{opened: dd/mm/yyyy, last_active: dd/mm/yyyy}}
    values:
      tier: {{reguler: regular, unggulan: regular, toko_resmi: brand_owner}}
      status: {{buka: active, cuti: active, tutup: closed}}
"""

SHARED = range(0, 8)  # a tokopedia shop and a lapakita shop each
NEW_ONLY = range(8, 26)  # lapakita only, counted
BRAND = 26  # lapakita `toko_resmi`: a brand-owner store, not counted
CLOSED = 27  # lapakita `tutup`
INVALID = 28  # lapakita, a status word its registry entry does not know: quarantined
TOKO_ONLY = range(29, 34)  # tokopedia only


def _lapakita(i: int, *, kelas: str = "reguler", kondisi: str = "buka") -> dict:
    return {
        "kode_lapak": f"LK-{i:04d}",
        "nama_lapak": SHOPS[i].upper() if i % 3 == 0 else SHOPS[i],
        "pemilik": OWNERS[i],
        "no_wa": "+62 " + phone(i)[1:4] + "-" + phone(i)[4:],
        "surel": None,
        "lokasi": {
            "jalan": f"Jl. Kemang Raya No. {i + 1}",
            "kabkota": "Jakarta Selatan" if i % 2 else "Kota Jakarta Selatan",
            "provinsi": "DKI Jakarta",
        },
        "kelas": kelas,
        "kategori_utama": "Fashion Wanita",
        "jumlah_barang": 10 + i,
        "nib": None,
        "tgl_buka": f"{1 + i % 27:02d}/03/2016",
        "tgl_aktif": f"{1 + i % 12:02d}/11/2017",
        "kondisi": kondisi,
    }


LAPAKITA = [
    *(_lapakita(i) for i in [*SHARED, *NEW_ONLY]),
    _lapakita(BRAND, kelas="toko_resmi"),
    _lapakita(CLOSED, kondisi="tutup"),
    _lapakita(INVALID, kondisi="dibekukan"),
]
TOKOPEDIA = [tokopedia_shop(i) for i in [*SHARED, *TOKO_ONLY]]


def _id(i: int) -> str:
    return f"LK-{i:04d}"


@pytest.fixture(scope="module")
def world(admin_url, tmp_path_factory):
    """The registry with the new entry, the generated copies, a fresh warehouse, the three
    loopback feeds, everything ingested and the marts built."""
    servers = {
        "bps": FeedServer("reference-csv").start(),
        "tokopedia": FeedServer("oauth-cursor", served=TOKOPEDIA).start(),
        NEW: FeedServer("apikey-offset", served=LAPAKITA).start(),
    }
    select = ["+mart_umkm_by_platform", "+mart_platform_overlap", "+map_record_to_entity"]
    with new_source_world(
        admin_url, tmp_path_factory.mktemp("new_marketplace"), ENTRY, servers, select
    ) as built:
        yield built


def test_only_generated_files_were_added(world):
    _url, _results, project, expectations = world
    folder = project / "models" / "staging" / NEW
    assert sorted(p.name for p in folder.iterdir()) == [
        f"_{NEW}__models.yml",
        f"_{NEW}__sources.yml",
        f"stg_{NEW}__merchant_activity.sql",
        f"stg_{NEW}__merchant_versions.sql",
        f"stg_{NEW}__merchants.sql",
    ]
    assert (expectations / "expectations" / f"raw_{NEW}.json").is_file()
    # the repository's own files are untouched
    assert not (settings.DBT_PROJECT_DIR / "models" / "staging" / NEW).exists()
    assert not (settings.EXPECTATIONS_DIR / "expectations" / f"raw_{NEW}.json").exists()


def test_ingested_and_validated_with_the_invalid_record_quarantined(world):
    url, results, _project, _expectations = world
    assert {sid: r.status for sid, r in results.items()} == {
        "bps": "success",
        "tokopedia": "success",
        NEW: "success",
    }
    assert results[NEW].rows_fetched == len(LAPAKITA)
    assert results[NEW].rows_loaded == len(LAPAKITA) - 1
    landed = rows(url, f"select record_id from raw.{NEW} where snapshot = %s", SNAPSHOT)
    assert sorted(r[0] for r in landed) == sorted(
        _id(i) for i in [*SHARED, *NEW_ONLY, BRAND, CLOSED]
    )
    assert rows(url, f"select record_id, expectation, reason from quarantine.{NEW}") == [
        (_id(INVALID), "status_allowed", "status not in the allowed set")
    ]
    loads = rows(
        url,
        "select status, rows_fetched, rows_loaded, rows_rejected from audit.loads "
        "where source_id = %s",
        NEW,
    )
    assert loads == [("success", len(LAPAKITA), len(LAPAKITA) - 1, 1)]


def test_staged_with_its_own_words_and_dates(world):
    url, *_ = world
    staged = {
        r[0]: r[1:]
        for r in rows(
            url,
            "select record_id, source_id, is_brand_store, is_closed, regency_code, "
            f"opened_on, last_active_on, is_dormant from staging.stg_{NEW}__merchants",
        )
    }
    assert set(staged) == {_id(i) for i in [*SHARED, *NEW_ONLY, BRAND, CLOSED]}
    assert staged[_id(BRAND)][:3] == (NEW, True, False)
    assert staged[_id(CLOSED)][:3] == (NEW, False, True)
    assert staged[_id(9)] == (
        NEW,
        False,
        False,
        "3171",
        date(2016, 3, 10),
        date(2017, 11, 10),
        False,
    )


def test_its_businesses_are_resolved_with_tokopedias(world):
    url, *_ = world
    entity = {
        (r[0], r[1]): r[2]
        for r in rows(
            url,
            "select source_id, record_id, entity_id from marts.map_record_to_entity "
            "where snapshot = %s",
            SNAPSHOT,
        )
    }
    new_records = [_id(i) for i in [*SHARED, *NEW_ONLY, BRAND, CLOSED]]
    assert {rid for sid, rid in entity if sid == NEW} == set(new_records)
    for i in SHARED:
        assert entity[(NEW, _id(i))] == entity[("tokopedia", f"{900000 + i}")], SHOPS[i]
    # every lapakita shop is a business of its own
    assert len({entity[(NEW, rid)] for rid in new_records}) == len(new_records)


def test_counted_by_platform(world):
    url, *_ = world
    by_platform = {
        r[0]: r[1:]
        for r in rows(
            url,
            "select platform, accounts_served, brand_owner_stores, closed_accounts, accounts, "
            "businesses, umkm, active_umkm from marts.mart_umkm_by_platform where snapshot = %s",
            SNAPSHOT,
        )
    }
    counted = len(SHARED) + len(NEW_ONLY)
    assert by_platform[NEW] == (counted + 2, 1, 1, counted, counted, counted, counted)
    toko = len(SHARED) + len(TOKO_ONLY)
    assert by_platform["tokopedia"] == (toko, 0, 0, toko, toko, toko, toko)


def test_overlap_with_the_linked_marketplace(world):
    url, *_ = world
    pairs = {
        (r[0], r[1]): r[2]
        for r in rows(
            url,
            "select platform_a, platform_b, businesses from marts.mart_platform_overlap "
            "where snapshot = %s",
            SNAPSHOT,
        )
    }
    assert pairs == {
        tuple(sorted(("tokopedia", NEW))): len(SHARED),
        ("tokopedia", "tokopedia"): len(SHARED) + len(TOKO_ONLY),
        (NEW, NEW): len(SHARED) + len(NEW_ONLY),
    }

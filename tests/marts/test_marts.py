"""The marts on a small hand-made world: `dbt build` into a throwaway warehouse.

The raw rows are shaped as the feeds deliver them (`/work/shared/feeds/CONTRACT.md`); the
BPS regions are read from the shared reference copy at test time (never copied here).

The world at 2018-06-30 (Kominfo publishes 20):

| business | records | bridge |
|---|---|---|
| B1 batik | 3 tokopedia + 1 shopee shops, registry record, e-Smart 2017 | active, registered |
| B2 kopi | tokopedia shop + a lazada `official` store | large enterprise |
| B3 keripik | shopee shop, last active 2018-01-02 | dormant |
| B4 rotan | bukalapak shop | active, not in registry |
| B5 sambal | active registry record only | registry only |
| B6 meubel | registry record `nonaktif` | not counted |
| B7 tas | closed tokopedia shop, active registry record | registry only |
| B8 elektronik | bukalapak shop, 15,000 products, category names no commodity | large enterprise |
| B9 jamu | e-Smart 2018 only | ministry list |
"""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest

from umkm.transform.dbt import run_dbt
from umkm.warehouse.db import connect, parse_url

pytestmark = pytest.mark.dbt

D = date(2018, 6, 30)
WILAYAH = Path(os.environ.get("UMKM_WILAYAH_DIR", "/work/shared/reference/wilayah"))

WIB = "+07:00"


def _toko(
    shop_id,
    name,
    owner,
    phone,
    city,
    province,
    *,
    tier="regular",
    status="active",
    products=20,
    last_active="2018-06-20",
    nib=None,
):
    return {
        "shop_id": shop_id,
        "shop_name": name,
        "owner_name": owner,
        "phone": phone,
        "email": None,
        "address": None,
        "city": city,
        "province": province,
        "tier": tier,
        "category": "Fashion Wanita",
        "product_count": products,
        "nib": nib,
        "joined_at": f"2015-03-01T10:00:00{WIB}",
        "last_active_at": f"{last_active}T09:00:00{WIB}",
        "status": status,
        "updated_at": f"{last_active}T09:00:00{WIB}",
    }


def _shopee(shopid, name, owner, phone, city, province, *, last_active="2018-06-20", nib=None):
    unix = int(datetime.fromisoformat(f"{last_active}T09:00:00{WIB}").timestamp())
    return {
        "shopid": shopid,
        "shop_name": name,
        "owner_name": owner,
        "phone": phone,
        "email": None,
        "address": None,
        "city": city,
        "province": province,
        "shop_type": "normal",
        "category": "Makanan Ringan",
        "item_count": 12,
        "business_license": nib,
        "ctime": 1420070400,
        "last_active": unix,
        "status": "NORMAL",
    }


def _bukalapak(
    store_id, name, owner, phone, city, *, products=15, nib=None, category="Perlengkapan Rumah"
):
    return {
        "store_id": store_id,
        "name": name,
        "owner": owner,
        "phone": phone,
        "email": None,
        "address": {"street": "Jl. Merdeka No. 1", "city": city, "province": None},
        "level": "basic",
        "category": category,
        "products": products,
        "nib": nib,
        "created_at": f"2014-01-01T08:00:00{WIB}",
        "last_login_at": f"2018-06-25T08:00:00{WIB}",
        "state": "open",
        "updated_at": f"2018-06-25T08:00:00{WIB}",
    }


def _registry(id_umkm, name, owner, phone, regency, *, status="aktif", nib=None):
    return {
        "id_umkm": id_umkm,
        "nama_usaha": name,
        "nama_pemilik": owner,
        "nik_pemilik": None,
        "no_hp": phone,
        "email": None,
        "alamat": "Jl. Pahlawan No. 2",
        "kode_kabupaten": regency,
        "skala_usaha": "mikro",
        "nib": nib,
        "tanggal_daftar": "2016-05-01",
        "platform_online": "Tokopedia, Instagram",
        "status": status,
    }


def _esmart(no, name, owner, phone, city, province, commodity, year):
    return {
        "No": str(no),
        "Nama IKM": name,
        "Nama Pemilik": owner,
        "No. Telp": phone,
        "Alamat": "Jl. Industri No. 3",
        "Kabupaten/Kota": city,
        "Provinsi": province,
        "Komoditas": commodity,
        "Sentra IKM": None,
        "Tahun Pelatihan": year,
        "Marketplace": "Tokopedia",
    }


B1 = ("Batik Sekar Arum", "Sri Wahyuni", "0812-1111-0001", "Kota Surakarta", "Jawa Tengah")
B1_NIB = "9120001110001"

WORLD: dict[str, list[tuple[str, dict]]] = {
    "tokopedia": [
        ("t1", _toko("t1", "Batik Sekar Arum", *B1[1:], nib=B1_NIB)),
        ("t2", _toko("t2", "Batik Sekar Arum Solo", *B1[1:], nib=B1_NIB)),
        ("t3", _toko("t3", "Batik Sekar Arum 2", *B1[1:], nib=B1_NIB)),
        (
            "t4",
            _toko(
                "t4",
                "Kopi Gayo Mandiri",
                "Teuku Rahman",
                "0813-2222-0002",
                "Kota Medan",
                "Sumatera Utara",
                nib="9120002220002",
            ),
        ),
        (
            "t5",
            _toko(
                "t5",
                "Tas Anyaman Lombok",
                "Baiq Nurul",
                "0817-7777-0007",
                "Kota Mataram",
                "Nusa Tenggara Barat",
                status="closed",
                nib="9120007770007",
            ),
        ),
    ],
    "lazada": [
        (
            "l1",
            _toko(
                "l1",
                "Kopi Gayo Mandiri",
                "Teuku Rahman",
                "0813-2222-0002",
                "Kota Medan",
                "Sumatera Utara",
                tier="official",
                nib="9120002220002",
            ),
        ),
    ],
    "shopee": [
        ("s1", _shopee("s1", "Batik Sekar Arum", *B1[1:], nib=B1_NIB)),
        (
            "s2",
            _shopee(
                "s2",
                "Keripik Tempe Bu Darmi",
                "Darmi Susanti",
                "0815-3333-0003",
                "Kota Malang",
                "Jawa Timur",
                last_active="2018-01-02",
            ),
        ),
    ],
    "bukalapak": [
        (
            "b1",
            _bukalapak(
                "b1", "Rotan Indah Cirebon", "Asep Hidayat", "0816-4444-0004", "Kota Cirebon"
            ),
        ),
        (
            "b2",
            _bukalapak(
                "b2",
                "Elektronik Raya Grosir",
                "Hendra Wijaya",
                "0818-8888-0008",
                "Kota Surabaya",
                products=15000,
                category="Serba Ada Grosir",  # names no commodity
            ),
        ),
    ],
    "kemenkopukm": [
        ("R1", _registry("R1", "Batik Sekar Arum", "Sri Wahyuni", B1[2], "3372", nib=B1_NIB)),
        ("R2", _registry("R2", "Sambal Roa Manado", "Jeane Lumowa", "0819-5555-0005", "7171")),
        (
            "R3",
            _registry(
                "R3",
                "Meubel Jati Jepara",
                "Slamet Riyadi",
                "0821-6666-0006",
                "3320",
                status="nonaktif",
            ),
        ),
        (
            "R4",
            _registry(
                "R4",
                "Tas Anyaman Lombok",
                "Baiq Nurul",
                "0817-7777-0007",
                "5271",
                nib="9120007770007",
            ),
        ),
    ],
    "kemenperin": [
        (
            "1",
            _esmart(
                1,
                "Batik Sekar Arum",
                "Sri Wahyuni",
                B1[2],
                "Kota Surakarta",
                "Jawa Tengah",
                "Fesyen",
                2017,
            ),
        ),
        (
            "2",
            _esmart(
                2,
                "Jamu Sehat Lestari",
                "Lestari Handayani",
                "0822-9999-0009",
                "Kota Yogyakarta",
                "DI Yogyakarta",
                "Herbal",
                2018,
            ),
        ),
    ],
}
KOMINFO_TOTAL = 20

#: hand-computed from the world above (docs/BRIDGE.md)
EXPECTED_BRIDGE = [
    ("kominfo_published", 20, 20),
    ("feed_recount_gap", -10, 10),  # R = 8 counted accounts + 2 e-Smart records
    ("ministry_list_records", -2, 8),
    ("same_platform_duplicate_shops", -2, 6),  # B1's three tokopedia shops
    ("cross_platform_duplicates", -1, 5),  # B1 on tokopedia and shopee
    ("large_enterprises", -2, 3),  # B2 (official store on lazada), B8 (15,000 products)
    ("dormant_accounts", -1, 2),  # B3
    ("not_in_registry", -1, 1),  # B4
    ("registry_only", 2, 3),  # R2 (B5), R4 (B7, closed shop only)
    ("kemenkopukm_registry", 3, 3),  # R1, R2, R4
]


def chapman(n1: int, n2: int, m: int) -> tuple[float, float]:
    estimate = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    variance = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    matching = (estimate * 0.003) ** 2  # var population_matching_error
    return estimate, variance + matching


def _bps_rows() -> list[tuple[str, dict]]:
    rows = []
    with (WILAYAH / "provinces.csv").open(newline="", encoding="utf-8") as fh:
        for code, name in csv.reader(fh):
            rows.append(
                (code, {"code": code, "name": name, "level": "province", "parent_code": None})
            )
    with (WILAYAH / "regencies.csv").open(newline="", encoding="utf-8") as fh:
        for code, province, name in csv.reader(fh):
            rows.append(
                (code, {"code": code, "name": name, "level": "regency", "parent_code": province})
            )
    return rows


def _insert(conn, source: str, rows: list[tuple[str, dict]], snapshot: date = D) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            f"insert into raw.{source} (snapshot, record_id, record, batch_id, feed_position, "
            "loaded_at) values (%s, %s, %s, %s, %s, now())",
            [
                (snapshot, rid, json.dumps(record), f"{source}-test", i)
                for i, (rid, record) in enumerate(rows)
            ],
        )


@pytest.fixture(scope="module")
def built(warehouse):
    if not (WILAYAH / "regencies.csv").exists():
        pytest.skip(f"BPS reference not found in {WILAYAH}")
    with connect(warehouse) as conn:
        for source, rows in WORLD.items():
            _insert(conn, source, rows)
        _insert(conn, "bps", _bps_rows())
        summary = {
            "tanggal": D.isoformat(),
            "total": KOMINFO_TOTAL,
            "rincian": [
                {"sumber": "Tokopedia", "jumlah": 10},
                {"sumber": "Shopee", "jumlah": 5},
                {"sumber": "Kementerian/Lembaga", "jumlah": 5},
            ],
        }
        _insert(conn, "kominfo", [(D.isoformat(), summary)])
    run_dbt(["build"], url=warehouse, capture=True)
    return warehouse


def test_bridge_matches_the_hand_computed_steps(built):
    with connect(built) as conn:
        rows = conn.execute(
            "select step_order, step_id, value, running_total "
            "from marts.mart_reconciliation_bridge where snapshot = %s order by step_order",
            (D,),
        ).fetchall()
    assert [(r[1], r[2], r[3]) for r in rows] == EXPECTED_BRIDGE
    assert [r[0] for r in rows] == list(range(1, 11))
    values = {r[1]: r[2] for r in rows}
    residual = values["kemenkopukm_registry"] - sum(r[2] for r in rows[:9])
    assert residual == 0


def test_chapman_estimate_matches_python(built):
    # marketplaces: active UMKM B1, B4; registry: B1, B5, B7; both: B1
    estimate, variance = chapman(2, 3, 1)
    with connect(built) as conn:
        row = conn.execute(
            "select estimate, ci_low, ci_high, listed from marts.mart_online_umkm_population "
            "where snapshot = %s and method = 'chapman_2list'",
            (D,),
        ).fetchone()
        observed = conn.execute(
            "select estimate from marts.mart_online_umkm_population "
            "where snapshot = %s and method = 'observed'",
            (D,),
        ).fetchone()[0]
    assert row[0] == round(estimate)
    assert row[2] == math.ceil(estimate + 1.959964 * math.sqrt(variance))
    assert row[1] == max(4, math.floor(estimate - 1.959964 * math.sqrt(variance)))
    assert row[3] == 4
    # on any list: B1, B4, B5, B7, B9 (B3 dormant and only on a marketplace, B2/B8 large)
    assert observed == 5


def test_counts_and_agency_figures(built):
    with connect(built) as conn:
        platforms = dict(
            conn.execute(
                "select platform, accounts from marts.mart_umkm_by_platform where snapshot = %s",
                (D,),
            ).fetchall()
        )
        per_business = dict(
            conn.execute(
                "select platform_count, businesses from marts.mart_platforms_per_business "
                "where snapshot = %s",
                (D,),
            ).fetchall()
        )
        regions = conn.execute(
            "select regency_code, regency_name, province_name, active_umkm "
            "from marts.mart_umkm_by_region where snapshot = %s order by regency_code",
            (D,),
        ).fetchall()
        figures = {
            r[0]: r[1:]
            for r in conn.execute(
                "select figure_id, published_value, warehouse_recount "
                "from marts.mart_agency_figures"
            ).fetchall()
        }
        progress = conn.execute(
            "select online_umkm, active_online_umkm, kominfo_published, target "
            "from marts.mart_progress_toward_target where snapshot = %s",
            (D,),
        ).fetchone()
        history = conn.execute(
            "select count(*), count(*) filter (where is_current) from marts.fct_shop_status_history"
        ).fetchone()
    assert platforms == {"tokopedia": 4, "shopee": 2, "bukalapak": 2, "lazada": 0}
    assert per_business == {1: 1, 2: 1}  # B4 on one marketplace, B1 on two
    # the active online UMKM: B1 in Kota Surakarta, B4 in Kota Cirebon
    assert [(r[0], r[1], r[3]) for r in regions] == [
        ("3274", "KOTA CIREBON", 1),
        ("3372", "KOTA SURAKARTA", 1),
    ]
    assert figures["kominfo_umkm_online"] == (4_600_000, 10)
    assert figures["kemenkopukm_ukm_online"] == (3_790_000, 3)
    assert figures["regencies_and_cities"] == (514, 514)
    assert figures["esmart_ikm_target_2018"] == (4270, 1)
    assert figures["kampus_shopee_sellers_trained"][1] is None
    # the target at the feeds' scale: 8M * 20 / 4.6M
    assert progress == (5, 2, 20, round(8_000_000 * 20 / 4_600_000))
    assert history == (10, 10)  # one stretch per shop: a single snapshot


def test_commodities_unmapped_categories_and_thresholds(built):
    with connect(built) as conn:
        by_commodity = dict(
            conn.execute(
                "select commodity, active_umkm from marts.mart_umkm_by_commodity "
                "where snapshot = %s",
                (D,),
            ).fetchall()
        )
        unmapped = conn.execute(
            "select source_id, category_text, records, source_records, share_of_source "
            "from marts.mart_unmapped_categories where snapshot = %s",
            (D,),
        ).fetchall()
        coverage = {
            r[0]: r[1:]
            for r in conn.execute(
                "select source_id, records, records_priority_commodity, records_lainnya, "
                "records_unmapped, unmapped_share from marts.mart_commodity_coverage "
                "where snapshot = %s",
                (D,),
            ).fetchall()
        }
        thresholds = conn.execute(
            "select threshold_variant, min_products, large_enterprises, step_value "
            "from marts.mart_large_enterprise_thresholds where snapshot = %s order by factor",
            (D,),
        ).fetchall()
    # B1: three tokopedia "Fashion Wanita" shops, a shopee "Makanan Ringan" one and the
    # e-Smart "Fesyen" record: Fesyen; B4's bukalapak "Perlengkapan Rumah": Lainnya
    assert by_commodity == {"Fesyen": 1, "Lainnya": 1}
    assert unmapped == [("bukalapak", "Serba Ada Grosir", 1, 2, 0.5)]
    assert coverage["bukalapak"] == (2, 0, 1, 1, 0.5)
    assert coverage["tokopedia"] == (5, 5, 0, 0, 0.0)
    assert coverage["kemenperin"] == (2, 2, 0, 0, 0.0)  # Fesyen, Herbal
    # B2 has a brand-owner store (large at any threshold); B8 lists 15,000 products
    assert thresholds == [
        ("half", 5000, 2, -2),
        ("current", 10000, 2, -2),
        ("twice", 20000, 1, -1),
    ]


def test_large_enterprise_threshold_is_one_var(built):
    """dbt var large_enterprise_min_products moves the bridge's step 6 and the threshold
    mart together (nothing else holds the number); the default build is restored after."""
    # the view with its ranges: a table rebuilt in place drops the views on it (dbt's
    # table materialisation drops the old table with cascade)
    models = ["fct_umkm_entity_snapshot_ranges", "fct_umkm_entity_snapshots"]
    models.append("mart_reconciliation_bridge")
    models.append("mart_large_enterprise_thresholds")

    def step6_and_current():
        with connect(built) as conn:
            return conn.execute(
                "select b.value, t.min_products, t.step_value "
                "from marts.mart_reconciliation_bridge as b "
                "join marts.mart_large_enterprise_thresholds as t using (snapshot) "
                "where b.step_id = 'large_enterprises' and t.threshold_variant = 'current' "
                "and b.snapshot = %s",
                (D,),
            ).fetchone()

    assert step6_and_current() == (-2, 10000, -2)  # B2 (brand store), B8 (15,000 products)
    try:
        run_dbt(
            ["run", "--select", *models],
            url=built,
            variables={"large_enterprise_min_products": 20000},
            capture=True,
        )
        assert step6_and_current() == (-1, 20000, -1)  # B8 is no longer large
    finally:
        run_dbt(["run", "--select", *models], url=built, capture=True)
    assert step6_and_current() == (-2, 10000, -2)


def _login_url(url: str, user: str, password: str) -> str:
    p = parse_url(url)
    return f"postgresql://{user}:{password}@{p.host}:{p.port}/{p.dbname}"


def test_analyst_reads_marts_only(built):
    user, password = f"t_analyst_{os.getpid()}", "analyst-test-only"
    with psycopg.connect(built, autocommit=True) as admin:
        admin.execute(f'drop role if exists "{user}"')
        admin.execute(f"create role \"{user}\" login password '{password}' in role umkm_analyst")
    try:
        with psycopg.connect(_login_url(built, user, password), autocommit=True) as conn:
            for relation in (
                "marts.mart_reconciliation_bridge",
                "marts.mart_agency_figures",
                "marts.mart_online_umkm_population",
                "marts.mart_umkm_by_region",
                "marts.mart_progress_toward_target",
            ):
                conn.execute(f"select count(*) from {relation}").fetchone()
            for relation in (
                "raw.tokopedia",
                "raw.kemenkopukm",
                "quarantine.tokopedia",
                "staging.stg_kemenkopukm__registry_records",
                "intermediate.int_records_unioned",
                "audit.loads",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"select count(*) from {relation}")
    finally:
        with psycopg.connect(built, autocommit=True) as admin:
            admin.execute(f'drop role if exists "{user}"')

"""A small hand-made raw world for the staging and entity-resolution tests.

A few dozen records across the marketplaces, the registry and the e-Smart list, written
the way sellers and ministries write them (Kab./Kota, Jakarta shorthands, 08/+62 phones,
CV./C.V., emoji, typos), with the planted truth: `TRUTH` maps (source_id, record_id) to the
business it belongs to. BPS regions are read from the shared reference folder at test time.
"""

from __future__ import annotations

import csv
import json
from datetime import date

from umkm import settings

SNAPSHOT = date(2017, 11, 15)
PREVIOUS = date(2017, 10, 15)

#: dbt vars of a build of this world. It holds some twenty records, too few for the model's
#: estimates (u from its random pairs says a shared licence is as common as not), so its
#: true links score 0.84-0.97: the default link threshold (er_match_probability 0.98,
#: chosen for national scale) would split them. The tests here check the plumbing, with
#: the threshold the model had before.
BUILD_VARIABLES = {"unit_tests_with_reference": True, "er_match_probability": 0.9}
BPS_SNAPSHOT = date(2017, 11, 1)


def _oauth(
    shop_id,
    name,
    owner,
    phone,
    city,
    province=None,
    tier="regular",
    status="active",
    category="Makanan & Minuman",
    products=12,
    nib=None,
    email=None,
    joined="2016-03-01T09:00:00+07:00",
    active="2017-11-10T20:00:00+07:00",
):
    return {
        "shop_id": shop_id,
        "shop_name": name,
        "owner_name": owner,
        "phone": phone,
        "email": email,
        "address": "Jl. Merdeka No. 1",
        "city": city,
        "province": province,
        "tier": tier,
        "category": category,
        "product_count": products,
        "nib": nib,
        "joined_at": joined,
        "last_active_at": active,
        "status": status,
        "updated_at": "2017-11-10T20:00:00+07:00",
    }


def _shopee(
    shopid,
    name,
    owner,
    phone,
    city,
    province=None,
    shop_type="normal",
    status="NORMAL",
    category="Makanan",
    items=8,
    licence=None,
    ctime=1467331200,
    last_active=1510300000,
):
    return {
        "shopid": shopid,
        "shop_name": name,
        "owner_name": owner,
        "phone": phone,
        "email": None,
        "address": "Jl. Sudirman 5",
        "city": city,
        "province": province,
        "shop_type": shop_type,
        "category": category,
        "item_count": items,
        "business_license": licence,
        "ctime": ctime,
        "last_active": last_active,
        "status": status,
    }


def _apikey(
    store_id,
    name,
    owner,
    phone,
    city,
    province=None,
    level="basic",
    state="open",
    category="Fashion",
    products=30,
    nib=None,
    email=None,
    last_login="2017-11-01T08:00:00+07:00",
):
    return {
        "store_id": store_id,
        "name": name,
        "owner": owner,
        "phone": phone,
        "email": email,
        "address": {"street": "Jl. Asia Afrika 8", "city": city, "province": province},
        "level": level,
        "category": category,
        "products": products,
        "nib": nib,
        "created_at": "2015-06-01T10:00:00+07:00",
        "last_login_at": last_login,
        "state": state,
        "updated_at": "2017-11-01T08:00:00+07:00",
    }


def _filedrop(
    merchant_id,
    name,
    owner,
    phone,
    city,
    province=None,
    tipe="umum",
    status="aktif",
    category="Fashion",
    products="5",
    nib=None,
    email=None,
    joined="01/02/2016",
    active="05/11/2017",
):
    return {
        "merchant_id": merchant_id,
        "nama_toko": name,
        "nama_pemilik": owner,
        "telepon": phone,
        "email": email,
        "alamat": "Jl. Slamet Riyadi 10",
        "kota": city,
        "provinsi": province,
        "tipe": tipe,
        "kategori": category,
        "jumlah_produk": products,
        "nib": nib,
        "tgl_bergabung": joined,
        "aktif_terakhir": active,
        "status": status,
    }


def _registry(
    id_umkm,
    name,
    owner,
    regency,
    scale="mikro",
    phone=None,
    nik=None,
    nib=None,
    email=None,
    status="aktif",
    platforms="Tokopedia, Instagram; WA",
):
    return {
        "id_umkm": id_umkm,
        "nama_usaha": name,
        "nama_pemilik": owner,
        "nik_pemilik": nik,
        "no_hp": phone,
        "email": email,
        "alamat": "Jl. Braga 1",
        "kode_kabupaten": regency,
        "skala_usaha": scale,
        "nib": nib,
        "tanggal_daftar": "2017-02-01",
        "platform_online": platforms,
        "status": status,
    }


def _esmart(
    no, name, owner, phone, city, province, commodity="Makanan", year=2017, marketplace="Tokopedia"
):
    return {
        "No": no,
        "Nama IKM": name,
        "Nama Pemilik": owner,
        "No. Telp": phone,
        "Alamat": "Jl. Industri 3",
        "Kabupaten/Kota": city,
        "Provinsi": province,
        "Komoditas": commodity,
        "Sentra IKM": None,
        "Tahun Pelatihan": year,
        "Marketplace": marketplace,
    }


# (source_id, record, business) ; record ids are the sources' own id fields
RECORDS: list[tuple[str, dict, str]] = [
    # B1: a Bandung snack maker on three marketplaces, in the registry and in e-Smart
    (
        "tokopedia",
        _oauth("T1", "Toko Berkah Jaya", "Siti Aminah", "0812-1111-2222", "Bandung", "Jawa Barat"),
        "B1",
    ),
    (
        "shopee",
        _shopee("S1", "Berkah Jaya 🎉", "SITI AMINAH", "+62 812 1111 2222", "Kota Bandung"),
        "B1",
    ),
    (
        "lazada",
        _oauth("Z1", "BERKAH JAYA", "Siti Aminah", "6281211112222", "Kodya Bandung", "Jabar"),
        "B1",
    ),
    (
        "kemenkopukm",
        _registry(
            "K1",
            "UD Berkah Jaya",
            "Siti Aminah",
            "3273",
            phone="081211112222",
            nik="3273010101800001",
        ),
        "B1",
    ),
    (
        "kemenperin",
        _esmart("1", "Berkah Jaya", "Siti Aminah", "0812 1111 2222", "Kota Bandung", "Jawa Barat"),
        "B1",
    ),
    # B2: CV Maju Mundur, Kabupaten Bandung, same licence everywhere, phones differ
    (
        "bukalapak",
        _apikey(
            "BL1",
            "CV. Maju Mundur",
            "Budi Santoso",
            "0813-2222-3333",
            "Kab. Bandung",
            "Jawa Barat",
            nib="9120001234567",
        ),
        "B2",
    ),
    (
        "blibli",
        _apikey(
            "BB1",
            "C.V. MAJU MUNDUR",
            "Budi Santoso",
            "0857 4444 5555",
            "Kabupaten Bandung",
            nib="9120001234567",
        ),
        "B2",
    ),
    (
        "kemenkopukm",
        _registry(
            "K2", "CV Maju Mundur", "Budi Santoso", "3204", scale="kecil", nib="9120001234567"
        ),
        "B2",
    ),
    # B3: a Jakarta Selatan coffee shop with two Tokopedia shops and a Lazada shop
    (
        "tokopedia",
        _oauth(
            "T2",
            "Warung Kopi Senja",
            "Andi Wijaya",
            "(021) 7654321",
            "Jakarta Selatan",
            "DKI Jakarta",
            category="Kopi",
        ),
        "B3",
    ),
    (
        "tokopedia",
        _oauth(
            "T3",
            "Warung Kopi Senja Cabang 2",
            "Andi Wijaya",
            "021-7654321",
            "Jaksel",
            category="Kopi",
        ),
        "B3",
    ),
    (
        "lazada",
        _oauth(
            "Z2",
            "Warung Kopi Senja",
            "Andi Wijaya",
            "+62 21 7654321",
            "Jkt Selatan",
            category="Minuman",
        ),
        "B3",
    ),
    # B4: a typo between platforms, same phone (Surabaya)
    (
        "shopee",
        _shopee("S2", "Sambal Bu Rudy", "Rudy Hartono", "0811-333-444", "Surabaya", "Jawa Timur"),
        "B4",
    ),
    (
        "blanja",
        _filedrop(
            "N1",
            "Sambel Bu Rudy",
            "Rudy Hartono",
            "62811333444",
            "Kota Surabaya",
            "Jatim",
            category="Makanan",
        ),
        "B4",
    ),
    # B5 and B6: two different shops with the same common name in the same regency
    ("tokopedia", _oauth("T4", "Toko Berkah", "Joko Susilo", "0812-5555-0001", "Kota Bogor"), "B5"),
    (
        "lazada",
        _oauth("Z3", "Toko Berkah", "Dewi Lestari", "0812-5555-0002", "Bogor", category="Fashion"),
        "B6",
    ),
    # B7: a brand-owner store (large enterprise), alone
    (
        "tokopedia",
        _oauth(
            "T5",
            "Samsung Official Store",
            "PT Samsung",
            "021-5550000",
            "Jakarta Pusat",
            tier="official",
            products=15000,
            category="Elektronik",
        ),
        "B7",
    ),
    # B8: a Solo batik house on MatahariMall and in the registry, same email
    (
        "mataharimall",
        _filedrop(
            "H1", "Batik Keris", "Handoko", "0271 123456", "Solo", email="info@batikkeris.co.id"
        ),
        "B8",
    ),
    (
        "kemenkopukm",
        _registry(
            "K3",
            "PT Batik Keris",
            "Handoko",
            "3372",
            scale="menengah",
            email="INFO@BatikKeris.co.id ",
        ),
        "B8",
    ),
    # B9: an e-Smart participant alone
    (
        "kemenperin",
        _esmart(
            "2",
            "Keripik Pedas Maicih",
            "Reza Pratama",
            "0822-7777-8888",
            "Kab. Bandung Barat",
            "Jawa Barat",
        ),
        "B9",
    ),
    # B10: a closed, dormant shop alone (Yogyakarta via "Jogja")
    (
        "shopee",
        _shopee(
            "S3",
            "Gudeg Yu Djum",
            "Djumilah",
            "0274-515151",
            "Jogja",
            status="BANNED",
            last_active=1493596800,
        ),
        "B10",
    ),
]

#: (source_id, record_id) -> business, over both snapshots
TRUTH: dict[tuple[str, str], str] = {}
for _sid, _rec, _biz in RECORDS:
    _id_field = {
        "tokopedia": "shop_id",
        "lazada": "shop_id",
        "shopee": "shopid",
        "bukalapak": "store_id",
        "blibli": "store_id",
        "blanja": "merchant_id",
        "mataharimall": "merchant_id",
        "kemenkopukm": "id_umkm",
        "kemenperin": "No",
    }[_sid]
    TRUTH[(_sid, str(_rec[_id_field]))] = _biz

#: records also delivered for the previous snapshot (stable entity ids)
PREVIOUS_RECORDS = {("shopee", "S1"), ("kemenperin", "1"), ("tokopedia", "T4")}


def record_id(source_id: str, record: dict) -> str:
    for key in ("shop_id", "shopid", "store_id", "merchant_id", "id_umkm", "No"):
        if key in record:
            return str(record[key])
    raise KeyError(source_id)


def insert_bps(conn, snapshot: date = BPS_SNAPSHOT) -> None:
    """Provinces, regencies and districts from the shared reference (never copied)."""
    folder = settings.wilayah_dir()
    with (
        conn.cursor() as cur,
        cur.copy(
            "copy raw.bps (snapshot, record_id, record, batch_id, feed_position, loaded_at) "
            "from stdin"
        ) as copy,
    ):
        position = 0
        for level, name in (
            ("province", "provinces"),
            ("regency", "regencies"),
            ("district", "districts"),
        ):
            with open(folder / f"{name}.csv", newline="", encoding="utf-8-sig") as handle:
                for row in csv.reader(handle):
                    if not row:
                        continue
                    record = {
                        "level": level,
                        "code": row[0].strip(),
                        "parent_code": row[1].strip() if len(row) == 3 else None,
                        "name": row[-1].strip(),
                    }
                    copy.write_row(
                        (
                            snapshot,
                            row[0].strip(),
                            json.dumps(record),
                            "bps-test",
                            position,
                            snapshot,
                        )
                    )
                    position += 1


def insert_world(conn) -> None:
    """The raw rows of both snapshots (and the BPS reference)."""
    insert_bps(conn)
    for position, (source_id, record, _business) in enumerate(RECORDS):
        rid = record_id(source_id, record)
        snapshots = [SNAPSHOT]
        if (source_id, rid) in PREVIOUS_RECORDS:
            snapshots.append(PREVIOUS)
        for snapshot in snapshots:
            conn.execute(
                f"insert into raw.{source_id} "
                "(snapshot, record_id, record, batch_id, feed_position, loaded_at) "
                "values (%s, %s, %s, 'test', %s, now())",
                (snapshot, rid, json.dumps(record), position),
            )

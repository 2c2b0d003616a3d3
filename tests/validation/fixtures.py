"""Records for bad batches, with personal data that must never reach docs, logs or alerts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from psycopg.types.json import Jsonb

from umkm.loading.batch import create_batch
from umkm.sources import get_source

#: Personal data planted in every fixture record (checked absent from docs and alerts).
PII = {
    "owner": "Siti Rahasia Pemilikwati",
    "email": "siti.rahasia@example.org",
    "phone": "0812-3456-7890",
    "street": "Jl. Melati Rahasia No. 77",
    "nik": "3201123456789012",
}


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        record = record.setdefault(part, {})
    record[parts[-1]] = value


def _drop(record: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        record = record[part]
    record.pop(parts[-1], None)


def merchant(source_id: str, i: int) -> dict[str, Any]:
    """A valid merchant record of a marketplace, in that source's own field names."""
    source = get_source(source_id)
    f = source.fields
    fmt = source.formats["opened"]
    if fmt == "unix_seconds":
        opened, last = 1483228800, 1509000000  # 2017-01-01, 2017-10-26
    elif fmt == "dd/mm/yyyy":
        opened, last = "01/06/2016", "01/11/2017"
    else:
        opened, last = "2016-06-01T08:00:00+07:00", "2017-11-01T08:00:00+07:00"
    tiers = list(source.values["tier"])
    statuses = list(source.values["status"])
    count: Any = str(i) if source.protocol == "file-drop" else i
    record: dict[str, Any] = {}
    values = {
        "id": f"S{i:05d}",
        "shop_name": f"Toko Maju {i}",
        "owner_name": PII["owner"],
        "phone": PII["phone"],
        "email": PII["email"],
        "street": PII["street"],
        "city": "Kab. Simeulue" if i % 2 else "Kota Bandung",
        "province": "Aceh" if i % 2 else "Jawa Barat",
        "tier": tiers[0],
        "category": "Fashion",
        "product_count": count,
        "licence": None,
        "opened": opened,
        "last_active": last,
        "status": statuses[0],
        "updated": "2017-11-01T08:00:00+07:00",
    }
    for canonical, path in f.items():
        _set(record, path, values[canonical])
    return record


def registry_record(i: int) -> dict[str, Any]:
    return {
        "id_umkm": f"R{i:05d}",
        "nama_usaha": f"Usaha Jaya {i}",
        "nama_pemilik": PII["owner"],
        "nik_pemilik": PII["nik"],
        "no_hp": PII["phone"],
        "email": PII["email"],
        "alamat": PII["street"],
        "kode_kabupaten": "1101",
        "skala_usaha": "mikro",
        "nib": None,
        "tanggal_daftar": "2016-03-04",
        "platform_online": "Tokopedia, Instagram",
        "status": "aktif",
    }


def esmart_record(i: int) -> dict[str, Any]:
    return {
        "No": str(i),
        "Nama IKM": f"IKM Sejahtera {i}",
        "Nama Pemilik": PII["owner"],
        "No. Telp": PII["phone"],
        "Alamat": PII["street"],
        "Kabupaten/Kota": "Kota Bandung",
        "Provinsi": "Jawa Barat",
        "Komoditas": "Makanan",
        "Sentra IKM": None,
        "Tahun Pelatihan": 2017,
        "Marketplace": "Blibli.com",
    }


def make_batch(
    conn, source_id: str, snapshot: date, batch_id: str, records: list[tuple[str, dict]]
) -> None:
    """Create the batch table and land `(record_id, record)` rows in feed order."""
    with conn.transaction():
        create_batch(conn, source_id, snapshot, batch_id)
        table = f'raw."{source_id}__batch_{snapshot:%Y%m%d}"'
        for position, (record_id, record) in enumerate(records):
            conn.execute(
                f"insert into {table} (record_id, record, feed_position) values (%s, %s, %s)",
                (record_id, Jsonb(record), position),
            )


def publish_rows(conn, source_id: str, snapshot: date, n: int) -> None:
    """Published rows for an earlier snapshot (the volume baseline)."""
    with conn.transaction():
        conn.execute(f"delete from raw.{source_id} where snapshot = %s", (snapshot,))
        for i in range(n):
            conn.execute(
                f"insert into raw.{source_id} (snapshot, record_id, record, batch_id, "
                "feed_position, loaded_at) values (%s, %s, %s, 'old', %s, now())",
                (snapshot, f"P{i}", json.dumps({"x": i}), i),
            )

"""Records in each protocol's own shape (CONTRACT.md, "Records"), from rendered columns."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from umkm_sim import config as C
from umkm_sim.render import (
    DMY_DATES,
    ISO_DATES,
    OWNERS_UPPER,
    STREETS,
    TS_HM,
    TS_SS,
    Renderer,
    _bits,
    mix,
    registry_ids,
    unix_ts,
)
from umkm_sim.world import Platform, day

FILEDROP_COLUMNS = [
    "merchant_id",
    "nama_toko",
    "nama_pemilik",
    "telepon",
    "email",
    "alamat",
    "kota",
    "provinsi",
    "tipe",
    "kategori",
    "jumlah_produk",
    "nib",
    "tgl_bergabung",
    "aktif_terakhir",
    "status",
]
REGISTRY_FIELDS = [
    ("id_umkm", "text"),
    ("nama_usaha", "text"),
    ("nama_pemilik", "text"),
    ("nik_pemilik", "text"),
    ("no_hp", "text"),
    ("email", "text"),
    ("alamat", "text"),
    ("kode_kabupaten", "text"),
    ("skala_usaha", "text"),
    ("nib", "text"),
    ("tanggal_daftar", "text"),
    ("platform_online", "text"),
    ("status", "text"),
]
ESMART_HEADER = [
    "No",
    "Nama IKM",
    "Nama Pemilik",
    "No. Telp",
    "Alamat",
    "Kabupaten/Kota",
    "Provinsi",
    "Komoditas",
    "Sentra IKM",
    "Tahun Pelatihan",
    "Marketplace",
]
SCALES = ("mikro", "kecil", "menengah")
REG_STATUS = ("aktif", "nonaktif")
SOCIAL = ["Instagram", "WA", "Facebook", "Website sendiri", "WhatsApp", "IG", "FB"]
#: how e-Smart writes the marketplaces (registry order of the platforms)
ESMART_MARKET = [
    "Tokopedia", "Lazada", "Shopee", "Bukalapak", "Blibli", "Blanja.com", "MatahariMall",
]  # fmt: skip


def _q(values: list) -> list[str]:
    """JSON text of optional strings: `"x"` or `null`. The simulator's vocabulary holds no
    quote, backslash or control character, so no escaping is needed (tests parse every page)."""
    return ["null" if v is None else f'"{v}"' for v in values]


def _ts(days: list[int], secs: list[int]) -> list[str]:
    return [ISO_DATES[d] + TS_HM[t // 60] + TS_SS[t % 60] for d, t in zip(days, secs, strict=True)]


def merchants_json(r: Renderer, p: Platform, rows: np.ndarray, d: int) -> list[str]:
    """Merchant records as JSON texts (one per record), in the platform's own shape.

    Built by formatting rather than through dicts and an encoder: this is the simulator's
    hot path (docs/SIMULATOR.md, "Speed")."""
    c = r.merchant_columns(p, rows, d)
    ids, names, owners, phones = c["id"], c["name"], c["owner"], c["phone"]
    emails, streets, provs, nibs = _q(c["email"]), _q(c["street"]), _q(c["province"]), _q(c["nib"])
    cities, tiers, cats, prods, status = (
        c["city"],
        c["tier"],
        c["category"],
        c["products"],
        c["status"],
    )
    if p.name == "shopee":
        opened = [unix_ts(o, t) for o, t in zip(c["opened"], c["tod_open"], strict=True)]
        last = [unix_ts(o, t) for o, t in zip(c["last"], c["tod_last"], strict=True)]
        phones = [
            "null" if m else f'"{ph}"' for ph, m in zip(phones, c["phone_missing"], strict=True)
        ]
        return [
            f'{{"shopid":"{i}","shop_name":"{nm}","owner_name":"{ow}","phone":{ph},'
            f'"email":{em},"address":{st},"city":"{ci}","province":{pr},"shop_type":"{ti}",'
            f'"category":"{ca}","item_count":{pc},"business_license":{nb},"ctime":{op},'
            f'"last_active":{la},"status":"{ss}"}}'
            for i, nm, ow, ph, em, st, ci, pr, ti, ca, pc, nb, op, la, ss in zip(
                ids, names, owners, phones, emails, streets, cities, provs, tiers, cats, prods,
                nibs, opened, last, status, strict=True,
            )
        ]  # fmt: skip
    opened = _ts(c["opened"], c["tod_open"])
    last = _ts(c["last"], c["tod_last"])
    updated = _ts(c["updated"], c["tod_last"])
    if p.name in ("tokopedia", "lazada"):
        return [
            f'{{"shop_id":"{i}","shop_name":"{nm}","owner_name":"{ow}","phone":"{ph}",'
            f'"email":{em},"address":{st},"city":"{ci}","province":{pr},"tier":"{ti}",'
            f'"category":"{ca}","product_count":{pc},"nib":{nb},"joined_at":"{op}",'
            f'"last_active_at":"{la}","status":"{ss}","updated_at":"{up}"}}'
            for i, nm, ow, ph, em, st, ci, pr, ti, ca, pc, nb, op, la, ss, up in zip(
                ids, names, owners, phones, emails, streets, cities, provs, tiers, cats, prods,
                nibs, opened, last, status, updated, strict=True,
            )
        ]  # fmt: skip
    return [
        f'{{"store_id":"{i}","name":"{nm}","owner":"{ow}","phone":"{ph}","email":{em},'
        f'"address":{{"street":{st},"city":"{ci}","province":{pr}}},"level":"{ti}",'
        f'"category":"{ca}","products":{pc},"nib":{nb},"created_at":"{op}",'
        f'"last_login_at":"{la}","state":"{ss}","updated_at":"{up}"}}'
        for i, nm, ow, ph, em, st, ci, pr, ti, ca, pc, nb, op, la, ss, up in zip(
            ids, names, owners, phones, emails, streets, cities, provs, tiers, cats, prods,
            nibs, opened, last, status, updated, strict=True,
        )
    ]  # fmt: skip


def merchants(r: Renderer, p: Platform, rows: np.ndarray, d: int) -> list[dict]:
    """Merchant records as dicts (for tools and tests; the server sends `merchants_json`)."""
    return [json.loads(x) for x in merchants_json(r, p, rows, d)]


def merchants_csv(r: Renderer, p: Platform, rows: np.ndarray, d: int, out: io.StringIO) -> int:
    """Write file-drop rows (no header) for rows `rows`; returns the number written."""
    c = r.merchant_columns(p, rows, d)
    crlf = p.name == "mataharimall"
    writer = csv.writer(
        out, delimiter=";" if crlf else ",", lineterminator="\r\n" if crlf else "\n"
    )
    n = len(c["id"])
    ids, names, owners, phones = c["id"], c["name"], c["owner"], c["phone"]
    emails, streets, cities, provs = c["email"], c["street"], c["city"], c["province"]
    tiers, cats, prods, nibs = c["tier"], c["category"], c["products"], c["nib"]
    op, la, status, missing = c["opened"], c["last"], c["status"], c["phone_missing"]
    writer.writerows(
        [
            ids[i],
            names[i],
            owners[i],
            "" if missing[i] else phones[i],
            emails[i] or "",
            streets[i] or "",
            cities[i],
            provs[i] or "",
            tiers[i],
            cats[i],
            prods[i],
            nibs[i] or "",
            DMY_DATES[op[i]],
            DMY_DATES[la[i]],
            status[i],
        ]
        for i in range(n)
    )
    return n


REG_STREETS = [f"JL. {s.upper()} NO. {n}" for s in STREETS for n in range(1, 151)]
REG_STREETS.append(None)
BAD_CODES = ("9999", "31.71", "317", "00", "3x71")


def registry_json(r: Renderer, rows: np.ndarray, d: int) -> list[str]:
    """Kemenkop registry records (JSON texts, `_id` first as CKAN's datastore adds it) at
    rows `rows` of the resource for day `d`."""
    if r.profile == "heldout":
        from umkm_sim.heldout import registry_json as heldout_registry_json

        return heldout_registry_json(r, rows, d)
    w, cfg = r.world, r.cfg
    reg = w.registry
    recs = reg.acc_of_rows(rows)
    ents = reg.entity[recs]
    n = len(recs)
    text = r.entity_text(ents)
    key = recs.astype(np.uint64) + np.uint64(9 << 32)
    h = mix(key, r.seed + 31)
    miss = int(cfg.missing_optional_rate * 100)
    inv = reg.invalid[recs]
    regency = text["regency_array"]
    codes = [r.reg_codes[i] for i in regency.tolist()]
    for i in np.flatnonzero(inv == 4).tolist():
        codes[i] = BAD_CODES[i % len(BAD_CODES)]
    names = r.noisy_names(text["name"], text["form"], h, registry=True)
    for i in np.flatnonzero(inv == 1).tolist():
        names[i] = ""
    registered = reg.reg[recs].astype(np.int64) + np.where(inv == 3, 365 * 15, 0)
    dates = [ISO_DATES[x] for x in registered.tolist()]
    status = np.where(reg.inactive[recs] > d, 0, 1).tolist()
    scales = w.ent_scale[ents].tolist()
    owners = [OWNERS_UPPER[o] for o in text["owner_index"].tolist()]
    nik_tail = _bits(mix(ents, r.seed + 32), 0, 10**12).tolist()
    nik_keep = (_bits(h, 12, 100) >= miss).tolist()
    niks = [
        f'"{code[:4]:0<4}{t:012d}"' if k else "null"
        for code, t, k in zip(codes, nik_tail, nik_keep, strict=True)
    ]
    phone_keep = (_bits(h, 18, 100) >= 15).tolist()
    styles = _bits(h, 24, 256).tolist()
    phones = [
        f'"{r.phone_text(ph, st)}"' if k else "null"
        for ph, st, k in zip(text["phone"], styles, phone_keep, strict=True)
    ]
    email_keep = (_bits(h, 32, 100) >= 60).tolist()
    emails = [f'"{e}"' if k else "null" for e, k in zip(text["email"], email_keep, strict=True)]
    street_idx = np.where(_bits(h, 38, 100) < miss, -1, _bits(h, 44, len(REG_STREETS) - 1))
    streets = _q([REG_STREETS[i] for i in street_idx.tolist()])
    nib_keep = (_bits(h, 50, 100) < 80).tolist()
    nibs = [f'"{x}"' if x and k else "null" for x, k in zip(text["nib"], nib_keep, strict=True)]
    plat = w.ent_platform[ents].astype(np.int64)
    social = _bits(h, 52, len(SOCIAL)).tolist()
    style = _bits(h, 56, 6).tolist()
    online = []
    for pl, so, st in zip(plat.tolist(), social, style, strict=True):
        if pl >= 0:
            mkt = C.KOMINFO_NAMES[C.MARKETPLACES[pl]]
            online.append(f"{mkt}, {SOCIAL[so]}" if st % 2 else mkt)
        else:
            online.append(f"{SOCIAL[so]}; WA" if st % 3 == 0 else SOCIAL[so])
    ids = registry_ids(recs)
    positions = (rows + 1).tolist()
    return [
        f'{{"_id":{pos},"id_umkm":"{i}","nama_usaha":"{nm}","nama_pemilik":"{ow}",'
        f'"nik_pemilik":{nk},"no_hp":{ph},"email":{em},"alamat":{st},'
        f'"kode_kabupaten":"{kc}","skala_usaha":"{SCALES[sc]}","nib":{nb},'
        f'"tanggal_daftar":"{td}","platform_online":"{po}","status":"{REG_STATUS[ss]}"}}'
        for pos, i, nm, ow, nk, ph, em, st, kc, sc, nb, td, po, ss in zip(
            positions, ids, names, owners, niks, phones, emails, streets, codes, scales, nibs,
            dates, online, status, strict=True,
        )
    ] if n else []  # fmt: skip


def registry_records(r: Renderer, rows: np.ndarray, d: int) -> list[dict]:
    """Registry records as dicts (tools and tests; the server sends `registry_json`)."""
    return [json.loads(x) for x in registry_json(r, rows, d)]


def esmart_rows(r: Renderer, year: int) -> list[list]:
    """The data rows of the e-Smart IKM file of `year` (sheet `Peserta`)."""
    if r.profile == "heldout":
        from umkm_sim.heldout import esmart_rows as heldout_esmart_rows

        return heldout_esmart_rows(r, year)
    w, cfg = r.world, r.cfg
    es = w.esmart
    idx = es.rows_of(year)
    ents = es.entity[idx]
    text = r.entity_text(ents)
    h = mix(idx.astype(np.uint64) + np.uint64(10 << 32), r.seed + 41).tolist()
    numbers = es.number[idx].tolist()
    invalid = es.invalid[idx].tolist()
    cats = w.ent_cat[ents].tolist()
    mkts = es.marketplace[idx].tolist()
    rows = []
    for i in range(len(idx)):
        b = h[i]
        inv = invalid[i]
        reg = text["regency"][i]
        cv = r.regions.city_variants[reg]
        city = "Antah Berantah" if inv == 2 else cv[(b >> 8) % len(cv)]
        prov = r.regions.province_variants[reg][(b >> 16) % 4]
        name = "" if inv == 1 else r.noisy_name(text["name"][i], text["form"][i], b, False, cfg)
        sentra = None
        if (b >> 24) % 100 < 30:
            sentra = f"Sentra {C.ESMART_COMMODITIES[cats[i]]} {cv[3] if len(cv) > 3 else cv[0]}"
        rows.append(
            [
                numbers[i],
                name,
                text["owner"][i],
                r.phone_text(text["phone"][i], (b >> 32) & 0xFF),
                f"Jl. {STREETS[(b >> 40) % len(STREETS)]} No. {1 + (b >> 48) % 120}",
                city,
                prov,
                C.ESMART_COMMODITIES[cats[i]],
                sentra,
                year,
                ESMART_MARKET[mkts[i]],
            ]
        )
    return rows


__all__ = ["FILEDROP_COLUMNS", "day"]

"""The HTTP side: one listener per source, each in its own forked process.

The parent draws the world once (numpy arrays), binds one socket per source, then forks one
child per source that serves it (the arrays are shared copy-on-write, so eleven listeners
cost little memory and use both cores). The parent prints the `AIRFLOW_CONN_UMKM_*` lines
and `READY`, then waits for SIGTERM/SIGINT and stops its children.

Every protocol follows ../shared/feeds/CONTRACT.md; choices where it is silent are listed in
docs/SIMULATOR.md ("Protocol choices").
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import gc
import gzip
import hashlib
import hmac
import io
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import numpy as np

from umkm_sim import config as C
from umkm_sim import records
from umkm_sim.faults import RETRY_AFTER_S, FaultPlan
from umkm_sim.render import make_renderer, updated_seconds
from umkm_sim.world import World, day

JSON = "application/json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_LIMIT = {"oauth-cursor": 5000, "signed-page": 1000, "apikey-offset": 2000, "ckan": 32000}
PROTOCOL = {
    **{p: "oauth-cursor" for p in ("tokopedia", "lazada")},
    "shopee": "signed-page",
    **{p: "apikey-offset" for p in ("bukalapak", "blibli")},
    **{p: "file-drop" for p in ("blanja", "mataharimall")},
    "kemenkopukm": "ckan",
    "kemenperin": "xlsx",
    "kominfo": "summary",
    "bps": "reference-csv",
}
FILE_PART_ROWS = 100_000  # rows per file-drop file (a snapshot may have several)
SHOPEE_PATH = "/api/v2/merchants"
CKAN_PACKAGE = "umkm-go-online"
TOKEN_TTL_S = 3600
_encode = msgspec.json.Encoder().encode


# --- credentials ----------------------------------------------------------------------------


def credentials(seed: int) -> dict[str, str]:
    """Deterministic per seed (the simulator is not a security boundary)."""
    tag = hashlib.sha256(f"umkm-sim-{seed}".encode()).hexdigest()
    return {
        "client_id": "umkm-sim-client",
        "client_secret": f"secret-{tag[:16]}",
        "partner_id": str(100_000 + int(tag[16:20], 16) % 900_000),
        "partner_key": f"pk-{tag[20:44]}",
        "api_key": f"ak-{tag[44:60]}",
        "ckan_token": f"ckan-{tag[:8]}{tag[-8:]}",
    }


def conn_value(source: str, host: str, port: int, seed: int) -> str:
    """The `AIRFLOW_CONN_UMKM_<SOURCE>` value for a listener (URI or JSON form)."""
    cred = credentials(seed)
    base = f"http://{host}:{port}"
    proto = PROTOCOL[source]
    if proto == "oauth-cursor":
        return f"http://{cred['client_id']}:{cred['client_secret']}@{host}:{port}"
    if proto == "signed-page":
        extra = {"partner_id": cred["partner_id"], "partner_key": cred["partner_key"]}
        return json.dumps({"conn_type": "http", "host": base, "extra": extra})
    if proto == "apikey-offset":
        return json.dumps(
            {"conn_type": "http", "host": base, "extra": {"api_key": cred["api_key"]}}
        )
    if proto == "ckan":
        return f"http://ckan:{cred['ckan_token']}@{host}:{port}"
    return base


# --- helpers --------------------------------------------------------------------------------


class Answer:
    __slots__ = ("body", "ctype", "headers", "status")

    def __init__(self, status: int, body: Any, ctype: str = JSON, headers=None) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else _encode(body)
        self.ctype = ctype
        self.headers = headers or {}


def parse_snapshot(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


TRIM_ABOVE = 1 << 20  # after a page this large, give freed memory back to the OS
_LIBC = None


def release_memory() -> None:
    """glibc keeps freed heap memory; a listener that rendered a large page returns it."""
    global _LIBC
    if _LIBC is None:
        import ctypes

        try:
            _LIBC = ctypes.CDLL("libc.so.6")
        except OSError:
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


RENDER_CHUNK = 4000  # records rendered at a time (bounds the transient memory of a page)


def in_chunks(render, rows: np.ndarray) -> str:
    """`render(rows)` (a list of JSON texts) over chunks of rows, joined with commas."""
    if len(rows) <= RENDER_CHUNK:
        return ",".join(render(rows))
    return ",".join(
        ",".join(render(rows[i : i + RENDER_CHUNK])) for i in range(0, len(rows), RENDER_CHUNK)
    )


def snap_text(d: int) -> str:
    from umkm_sim.world import from_day

    return from_day(d).isoformat()


def in_range(d: date) -> bool:
    return C.FIRST_SNAPSHOT <= d <= C.LAST_SNAPSHOT


def parse_since(text: str) -> int | None:
    """`updated_since` (ISO 8601, UTC if no offset) as Unix seconds; None if unparseable."""
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp())


def int_param(q: dict[str, str], name: str, default: int | None) -> int | None:
    value = q.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return None


def _cursor(snapshot: str, offset: int, since: str) -> str:
    return base64.urlsafe_b64encode(f"{snapshot}|{offset}|{since}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[str, int, str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        snap, offset, since = raw.split("|", 2)
        return snap, int(offset), since
    except (ValueError, UnicodeDecodeError):
        return None


def deterministic_zip(data: bytes, stamp: str = "2018-01-01T00:00:00Z") -> bytes:
    """Rewrite a zip (xlsx) with fixed timestamps so the bytes depend on content only
    (openpyxl stamps the save time into docProps/core.xml and the zip entries)."""
    import re

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2018, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    content,
                )
            dst.writestr(fixed, content)
    return out.getvalue()


# --- one source -----------------------------------------------------------------------------


class Feed:
    """The state and answers of one source's listener."""

    def __init__(self, world: World, source: str, listener: int, faults: str) -> None:
        self.world = world
        self.source = source
        self.protocol = PROTOCOL[source]
        self.renderer = make_renderer(world)
        self.cred = credentials(world.cfg.seed)
        self.plan = FaultPlan(faults, world.cfg.seed, listener, self.protocol == "oauth-cursor")
        self.tokens: dict[str, float] = {}
        self.token_count = 0
        self.lock = threading.Lock()
        self.filter_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.files: dict[str, dict] = {}  # snapshot -> manifest + paths
        self.file_lock = threading.Lock()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"umkm-sim-{source}-"))
        self.xlsx_cache: dict[int, bytes] = {}
        if source in C.MARKETPLACES:
            self.platform = world.platform(source)

    def now(self) -> float:
        return time.time() + (self.plan.clock_skew_s if self.protocol == "signed-page" else 0)

    # dispatch ---------------------------------------------------------------------------
    def answer(self, method: str, path: str, q: dict[str, str], headers) -> Answer:
        proto = self.protocol
        if proto == "oauth-cursor":
            return self.oauth(method, path, q, headers)
        if proto == "signed-page":
            return self.signed(path, q)
        if proto == "apikey-offset":
            return self.apikey(path, q, headers)
        if proto == "file-drop":
            return self.filedrop(path)
        if proto == "ckan":
            return self.ckan(path, q, headers)
        if proto == "xlsx":
            return self.xlsx(path)
        if proto == "summary":
            return self.summary(path, q)
        return self.reference(path)

    def is_data_request(self, method: str, path: str) -> bool:
        return not (method == "POST" and path == "/oauth/token")

    # marketplaces -------------------------------------------------------------------------
    def snapshot_day(
        self, q: dict[str, str], key: str = "snapshot"
    ) -> tuple[int | None, Answer | None]:
        snap = parse_snapshot(q.get(key))
        if snap is None:
            return None, Answer(400, {"error": f"{key} must be YYYY-MM-DD"})
        d = day(snap)
        if not in_range(snap) or not self.platform.has_data(d):
            return None, None
        return d, None

    def positions(self, d: int, since: str) -> np.ndarray | None:
        """Row positions served for day `d` changed after `since` (None: all rows)."""
        if not since:
            return None
        key = (d, since)
        with self.lock:
            if key in self.filter_cache:
                self.filter_cache.move_to_end(key)
                return self.filter_cache[key]
        p = self.platform
        n = p.n_rows(d)
        cut = parse_since(since)
        upd = updated_seconds(p, p.acc_of_rows(np.arange(n)), d, self.renderer.seed)
        pos = np.flatnonzero(upd > cut).astype(np.int64)
        with self.lock:
            self.filter_cache[key] = pos
            while len(self.filter_cache) > 8:
                self.filter_cache.popitem(last=False)
        return pos

    def page(self, d: int, offset: int, limit: int, since: str) -> tuple[np.ndarray, int]:
        pos = self.positions(d, since)
        if pos is None:
            total = self.platform.n_rows(d)
            stop = min(total, offset + limit)
            return np.arange(offset, max(offset, stop), dtype=np.int64), total
        return pos[offset : offset + limit], len(pos)

    def oauth(self, method: str, path: str, q, headers) -> Answer:
        if path == "/oauth/token":
            if method != "POST":
                return Answer(405, {"error": "method_not_allowed"})
            expected = base64.b64encode(
                f"{self.cred['client_id']}:{self.cred['client_secret']}".encode()
            ).decode()
            if headers.get("Authorization", "") != f"Basic {expected}":
                return Answer(401, {"error": "invalid_client"})
            if q.get("grant_type") != "client_credentials":
                return Answer(400, {"error": "unsupported_grant_type"})
            with self.lock:
                self.token_count += 1
                token = hashlib.sha256(
                    f"{self.cred['client_secret']}:{self.token_count}".encode()
                ).hexdigest()[:40]
                self.tokens[token] = time.time() + TOKEN_TTL_S
            return Answer(
                200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_S}
            )
        if path != "/v1/merchants":
            return Answer(404, {"error": "not_found"})
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        with self.lock:
            valid = self.tokens.get(token, 0) > time.time()
        if not valid:
            return Answer(401, {"error": "invalid_token"})
        limit = int_param(q, "limit", 100)
        if limit is None or limit < 1 or limit > MAX_LIMIT["oauth-cursor"]:
            return Answer(400, {"error": "limit must be 1..5000"})
        d, bad = self.snapshot_day(q)
        if bad:
            return bad
        if d is None:
            return Answer(404, {"error": "snapshot_not_found"})
        since = q.get("updated_since", "")
        if since and parse_since(since) is None:
            return Answer(400, {"error": "updated_since must be ISO 8601"})
        offset = 0
        if q.get("cursor"):
            parsed = _uncursor(q["cursor"])
            if parsed is None or parsed[0] != q["snapshot"] or parsed[2] != since:
                return Answer(400, {"error": "invalid_cursor"})
            offset = parsed[1]
        rows, total = self.page(d, offset, limit, since)
        data = in_chunks(
            lambda part: records.merchants_json(self.renderer, self.platform, part, d), rows
        )
        end = offset + limit
        nxt = f'"{_cursor(q["snapshot"], end, since)}"' if end < total else "null"
        body = f'{{"snapshot":"{snap_text(d)}","data":[{data}],"next_cursor":{nxt}}}'
        return Answer(200, body.encode())

    def signed(self, path: str, q) -> Answer:
        if path != SHOPEE_PATH:
            return Answer(404, {"error": "not_found"})
        ts = int_param(q, "timestamp", None)
        expected = hmac.new(
            self.cred["partner_key"].encode(),
            f"{q.get('partner_id', '')}{SHOPEE_PATH}{q.get('timestamp', '')}".encode(),
            hashlib.sha256,
        ).hexdigest()
        if (
            q.get("partner_id") != self.cred["partner_id"]
            or ts is None
            or abs(ts - self.now()) > 300
            or not hmac.compare_digest(expected, q.get("sign", ""))
        ):
            return Answer(403, {"error": "invalid_sign", "message": "invalid sign or timestamp"})
        page = int_param(q, "page", 1)
        size = int_param(q, "page_size", 100)
        if page is None or page < 1 or size is None or size < 1 or size > 1000:
            return Answer(400, {"error": "param_error", "message": "page>=1, page_size 1..1000"})
        d, bad = self.snapshot_day(q)
        if bad:
            return bad
        if d is None:
            return Answer(404, {"error": "snapshot_not_found"})
        offset = (page - 1) * size
        rows, total = self.page(d, offset, size, "")
        data = in_chunks(
            lambda part: records.merchants_json(self.renderer, self.platform, part, d), rows
        )
        request_id = hashlib.sha256(f"{snap_text(d)}:{page}:{size}".encode()).hexdigest()[:16]
        more = "true" if offset + size < total else "false"
        body = (
            f'{{"error":"","request_id":"{request_id}","response":{{"merchants":[{data}],'
            f'"total":{total},"has_more":{more}}}}}'
        )
        return Answer(200, body.encode())

    def apikey(self, path: str, q, headers) -> Answer:
        if path != "/api/stores":
            return Answer(404, {"message": "not found"})
        if headers.get("X-Api-Key", "") != self.cred["api_key"]:
            return Answer(401, {"message": "invalid api key"})
        limit = int_param(q, "limit", 100)
        offset = int_param(q, "offset", 0)
        if limit is None or limit < 1 or limit > 2000 or offset is None or offset < 0:
            return Answer(400, {"message": "limit must be 1..2000, offset >= 0"})
        snap = parse_snapshot(q.get("snapshot"))
        if snap is None:
            return Answer(400, {"message": "snapshot must be YYYY-MM-DD"})
        d = day(snap)
        if not in_range(snap) or not self.platform.has_data(d):
            return Answer(404, {"message": "no export for snapshot"})
        since = q.get("updated_since", "")
        if since and parse_since(since) is None:
            return Answer(400, {"message": "updated_since must be ISO 8601"})
        rows, total = self.page(d, offset, limit, since)
        data = in_chunks(
            lambda part: records.merchants_json(self.renderer, self.platform, part, d), rows
        )
        body = f'{{"stores":[{data}],"meta":{{"total":{total},"offset":{offset},"limit":{limit}}}}}'
        return Answer(200, body.encode())

    # file-drop ----------------------------------------------------------------------------
    def filedrop(self, path: str) -> Answer:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "exports":
            return Answer(404, {"error": "not_found"})
        snap = parse_snapshot(parts[1])
        if snap is None or not in_range(snap) or not self.platform.has_data(day(snap)):
            return Answer(404, {"error": "no export for snapshot"})
        export = self.export(snap)
        if parts[2] == "manifest.json":
            return Answer(200, export["manifest"])
        if parts[2] not in export["paths"]:
            return Answer(404, {"error": "no such file"})
        body = export["paths"][parts[2]].read_bytes()
        if self.plan.corrupt_once(f"{snap}/{parts[2]}"):
            middle = len(body) // 2
            body = (
                body[:middle]
                + bytes(b ^ 0x5A for b in body[middle : middle + 8])
                + body[middle + 8 :]
            )
        return Answer(200, body, "application/gzip")

    def export(self, snap: date) -> dict:
        """Write the snapshot's gzip files once (deterministic bytes) and its manifest."""
        key = snap.isoformat()
        with self.file_lock:
            if key in self.files:
                return self.files[key]
            p, d = self.platform, day(snap)
            total = p.n_rows(d)
            entries, paths = [], {}
            delim = ";" if p.name == "mataharimall" else ","
            ending = "\r\n" if p.name == "mataharimall" else "\n"
            n_parts = max(1, -(-total // FILE_PART_ROWS))
            for k in range(n_parts):
                start, stop = k * FILE_PART_ROWS, min(total, (k + 1) * FILE_PART_ROWS)
                text = io.StringIO()
                text.write(delim.join(records.FILEDROP_COLUMNS) + ending)
                rows = 0
                for s in range(start, stop, 5000):
                    chunk = np.arange(s, min(stop, s + 5000), dtype=np.int64)
                    rows += records.merchants_csv(self.renderer, p, chunk, d, text)
                data = gzip.compress(text.getvalue().encode("utf-8"), compresslevel=1, mtime=0)
                name = f"{p.name}_{key.replace('-', '')}_{k + 1:03d}.csv.gz"
                target = self.tmp / name
                target.write_bytes(data)
                paths[name] = target
                entries.append(
                    {"name": name, "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
                )
            manifest = {
                "snapshot": key,
                "generated_at": f"{date.fromordinal(snap.toordinal() + 1)}T02:00:00+07:00",
                "files": entries,
            }
            self.files[key] = {"manifest": manifest, "paths": paths}
            while len(self.files) > 3:  # keep the latest few snapshots on disk
                old = next(iter(self.files))
                for f in self.files.pop(old)["paths"].values():
                    f.unlink(missing_ok=True)
            return self.files[key]

    # ckan ---------------------------------------------------------------------------------
    def resource_id(self, snap: date) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"umkm-sim/{self.world.cfg.seed}/{snap}"))

    def ckan_error(self, status: int, kind: str, message: str) -> Answer:
        return Answer(status, {"success": False, "error": {"__type": kind, "message": message}})

    def ckan(self, path: str, q, headers) -> Answer:
        if headers.get("Authorization", "") != self.cred["ckan_token"]:
            return self.ckan_error(403, "Authorization Error", "Access denied")
        if path == "/api/3/action/package_show":
            if q.get("id") != CKAN_PACKAGE:
                return self.ckan_error(404, "Not Found Error", "Not found")
            return Answer(200, self.package())
        if path != "/api/3/action/datastore_search":
            return self.ckan_error(404, "Not Found Error", "Not found")
        snap = self.resources().get(q.get("resource_id", ""))
        if snap is None:
            return self.ckan_error(404, "Not Found Error", "Resource was not found.")
        limit = int_param(q, "limit", 100)
        offset = int_param(q, "offset", 0)
        if limit is None or limit < 0 or limit > 32000 or offset is None or offset < 0:
            return self.ckan_error(400, "Validation Error", "limit must be 0..32000")
        d = day(snap)
        reg = self.world.registry
        total = reg.n_rows(d)
        rows = np.arange(offset, max(offset, min(total, offset + limit)), dtype=np.int64)
        recs = in_chunks(lambda part: records.registry_json(self.renderer, part, d), rows)
        rid = q["resource_id"]
        base = f"/api/3/action/datastore_search?resource_id={rid}&limit={limit}"
        fields = _encode(
            [{"id": "_id", "type": "int"}]
            + [{"id": f, "type": t} for f, t in records.REGISTRY_FIELDS]
        ).decode()
        links = _encode({"start": base, "next": f"{base}&offset={offset + limit}"}).decode()
        body = (
            '{"help":"https://data.go.id/api/3/action/help_show?name=datastore_search",'
            f'"success":true,"result":{{"resource_id":"{rid}","fields":{fields},'
            f'"records":[{recs}],"total":{total},"_links":{links}}}}}'
        )
        return Answer(200, body.encode())

    def resources(self) -> dict[str, date]:
        if not hasattr(self, "_resources"):
            out, d = {}, C.FIRST_SNAPSHOT.toordinal()
            while d <= C.LAST_SNAPSHOT.toordinal():
                snap = date.fromordinal(d)
                out[self.resource_id(snap)] = snap
                d += 1
            self._resources = out
        return self._resources

    def package(self) -> dict:
        resources = [
            {
                "id": rid,
                "name": f"umkm_go_online_{snap.strftime('%Y%m%d')}",
                "format": "CSV",
                "datastore_active": True,
                "last_modified": f"{snap.isoformat()}T23:00:00",
            }
            for rid, snap in self.resources().items()
        ]
        return {
            "success": True,
            "result": {
                "name": CKAN_PACKAGE,
                "title": "UMKM Go Online",
                "organization": {"name": "kemenkopukm"},
                "resources": resources,
            },
        }

    # xlsx, summary, reference ---------------------------------------------------------------
    def xlsx(self, path: str) -> Answer:
        prefix = "/esmart/peserta/"
        if not path.startswith(prefix) or not path.endswith(".xlsx"):
            return Answer(404, {"error": "not_found"})
        try:
            year = int(path[len(prefix) : -len(".xlsx")])
        except ValueError:
            return Answer(404, {"error": "not_found"})
        if year not in C.ESMART_YEARS:
            return Answer(404, {"error": "not published"})
        with self.file_lock:
            if year not in self.xlsx_cache:
                self.xlsx_cache[year] = esmart_workbook(self.renderer, year)
        return Answer(200, self.xlsx_cache[year], XLSX)

    def summary(self, path: str, q) -> Answer:
        if path != "/api/umkm-go-online/ringkasan":
            return Answer(404, {"error": "not_found"})
        snap = parse_snapshot(q.get("tanggal"))
        if snap is None:
            return Answer(400, {"error": "tanggal must be YYYY-MM-DD"})
        if not in_range(snap):
            return Answer(404, {"error": "not_found"})
        from umkm_sim.truth import kominfo_summary

        s = kominfo_summary(self.world, day(snap))
        return Answer(200, {"tanggal": snap.isoformat(), **s})

    def reference(self, path: str) -> Answer:
        from umkm_sim import paths

        files = {
            "/wilayah/provinces.csv",
            "/wilayah/regencies.csv",
            "/wilayah/districts.csv",
            "/wilayah/villages.csv",
        }
        if path not in files:
            return Answer(404, {"error": "not_found"})
        target = paths.wilayah_dir() / path.rsplit("/", 1)[1]
        if not target.exists():
            return Answer(404, {"error": "not_found"})
        return Answer(200, target.read_bytes(), "text/csv; charset=utf-8")


def esmart_workbook(r, year: int) -> bytes:
    """The e-Smart IKM file of `year`: a notes sheet, then `Peserta` (title and notes in
    rows 1-3, header in row 4, data from row 5, trailing empty rows)."""
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Keterangan"
    notes["A1"] = "Daftar peserta Workshop e-Smart IKM, Kementerian Perindustrian"
    # the served bytes are pinned (tests/sim): the note keeps the package's former name
    notes["A2"] = "Data simulasi (umkm.sim); lihat sheet Peserta"
    ws = wb.create_sheet("Peserta")
    ws["A1"] = f"PESERTA WORKSHOP e-SMART IKM TAHUN {year}"
    ws["A2"] = "Direktorat Jenderal Industri Kecil, Menengah dan Aneka"
    ws["A3"] = "Catatan: Sentra IKM diisi bila peserta berasal dari sentra"
    ws.append(records.ESMART_HEADER)
    for row in records.esmart_rows(r, year):
        ws.append(row)
    for _ in range(3):
        ws.append([None, ""])
    fixed = datetime(year, 12, 31, 0, 0, 0)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "Kemenperin"
    out = io.BytesIO()
    wb.save(out)
    return deterministic_zip(out.getvalue(), f"{year}-12-31T00:00:00Z")


# --- HTTP ------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    feed: Feed
    server_version = "umkm-sim/1"
    sys_version = ""

    def log_message(self, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return email.utils.formatdate(self.feed.now(), usegmt=True)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            query.update({k: v[-1] for k, v in parse_qs(body).items()})
        feed = self.feed
        fault = feed.plan.next() if feed.is_data_request(method, parts.path) else None
        if fault in ("429", "500", "502", "503", "504"):
            headers = {"Retry-After": RETRY_AFTER_S} if fault == "429" else {}
            if feed.protocol == "ckan":
                payload = {
                    "success": False,
                    "error": {"__type": "Internal Error", "message": "try again"},
                }
            else:
                payload = {"error": "rate_limited" if fault == "429" else "server_error"}
            self.send(Answer(int(fault), payload, headers=headers))
            return
        if fault == "expire_token":
            with feed.lock:
                feed.tokens.clear()
        try:
            answer = feed.answer(method, parts.path, query, self.headers)
        except Exception as exc:  # noqa: BLE001 - a bug must answer 500, not hang the client
            print(f"umkm_sim {feed.source}: error on {self.path}: {exc!r}", file=sys.stderr)
            answer = Answer(500, {"error": "internal"})
        if fault == "cut" and answer.status == 200 and len(answer.body) > 1:
            self.send_response(200)
            self.send_header("Content-Type", answer.ctype)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body[: len(answer.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send(answer)

    def send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.ctype)
        self.send_header("Content-Length", str(len(answer.body)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(answer.body)
        if len(answer.body) > TRIM_ABOVE:
            answer.body = b""
            release_memory()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def serve_socket(sock: socket.socket, feed: Feed) -> None:
    """Serve one source on an already bound, listening socket until SIGTERM."""

    class BoundHandler(Handler):
        pass

    BoundHandler.feed = feed
    httpd = _Server(sock.getsockname()[:2], BoundHandler, bind_and_activate=False)
    httpd.socket.close()
    httpd.socket = sock
    httpd.server_address = sock.getsockname()[:2]

    def stop(_signum, _frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
    parent = os.getppid()

    def orphan_watch() -> None:  # the parent died without stopping us (SIGKILL): stop too
        while os.getppid() == parent:
            time.sleep(1.0)
        httpd.shutdown()

    threading.Thread(target=orphan_watch, daemon=True).start()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        for f in feed.tmp.glob("*"):
            f.unlink(missing_ok=True)
        feed.tmp.rmdir()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def run(
    world: World,
    base_port: int = 0,
    host: str = "127.0.0.1",
    advertise_host: str | None = None,
    env_out: Path | None = None,
    faults: str = "none",
) -> int:
    """Bind, fork one child per source, print the connection lines and READY, wait."""
    advertise = advertise_host or host
    if advertise in ("0.0.0.0", "::"):  # noqa: S104 - a bind address is not a host name
        advertise = "127.0.0.1"
    sockets = [bind(host, base_port + i if base_port else 0) for i in range(len(C.SOURCES))]
    children: list[int] = []
    gc.collect()
    gc.freeze()  # the children share the parent's objects: keep the GC from touching them
    for i, source in enumerate(C.SOURCES):
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                for j, other in enumerate(sockets):
                    if j != i:
                        other.close()
                serve_socket(sockets[i], Feed(world, source, i, faults))
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    lines = []
    for source, sock in zip(C.SOURCES, sockets, strict=True):
        port = sock.getsockname()[1]
        value = conn_value(source, advertise, port, world.cfg.seed)
        lines.append(f"AIRFLOW_CONN_UMKM_{source.upper()}={value}")
        sock.close()
    if env_out:
        env_out = Path(env_out)
        env_out.parent.mkdir(parents=True, exist_ok=True)
        tmp = env_out.with_suffix(env_out.suffix + ".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(env_out)
    for line in lines:
        print(line)
    print("READY", flush=True)

    stopping = threading.Event()

    def on_signal(_signum, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    alive = set(children)
    while not stopping.is_set() and alive:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            alive.discard(pid)
            print(f"umkm_sim: a listener (pid {pid}) exited", file=sys.stderr)
            break
        stopping.wait(0.5)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in alive:
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return 0

"""Purpose-built loopback servers speaking the feed contract, with scripted faults.

One `FeedServer` serves one protocol family from a small in-memory dataset. Faults are
scripted per path prefix (`Fault("429", "/v1/merchants", times=2)`), so a test knows
exactly which failure the connector meets. The server also keeps a log of every request
(method, path, query) so tests can check what the connector sent (e.g. never a limit above
the maximum).

Deliberately unlike the project's simulator: short pages that are not the last, extra
sheets, CRLF, clock skew, tokens that expire mid-pull.
"""

from __future__ import annotations

import base64
import csv
import email.utils
import gzip
import hashlib
import hmac
import io
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID, CLIENT_SECRET = "client-id", "s3cret-client"
PARTNER_ID, PARTNER_KEY = "1007", "partner-key-XYZ"
API_KEY = "api-key-123"
CKAN_TOKEN = "ckan-token-456"

SNAPSHOT = "2017-11-15"
MISSING = "2010-01-15"  # a snapshot every server answers "no data" for


@dataclass
class Fault:
    """A scripted failure: `kind` on the next `times` requests whose path starts with `path`.

    kinds: "429", "500", "502", "503", "504" (status), "reset" (close without answering),
    "cut" (half the body under the full Content-Length, then close), "cut_nolen" (half the
    body, no Content-Length, then close), "expire_token" (revoke tokens: 401 follows),
    "corrupt" (flip bytes of a file), "skew" (sign checks fail as if clocks differ).
    """

    kind: str
    path: str
    times: int = 1
    after: int = 0  # let this many matching requests through first
    retry_after: str = "1"
    seen: int = 0


def merchant(i: int, style: str = "oauth") -> dict[str, Any]:
    """A merchant record with awkward text (quotes, commas, newlines, emoji, backslashes)."""
    base = {
        "name": f'Toko "Berkah" {i}, Jl. Mawar\nNo. {i} 😀 \\ tab\there',
        "owner": f"Pemilik {i}",
        "phone": f"08{i:010d}",
        "city": "Kab. Bandung" if i % 2 else "Kota Jkt",
        "updated_at": f"2017-11-{1 + i % 14:02d}T{i % 24:02d}:00:00+07:00",
    }
    rid = f"{i:06d}"  # ids are strings, leading zeros included
    if style == "oauth":
        return {
            "shop_id": rid,
            "shop_name": base["name"],
            "owner_name": base["owner"],
            "phone": base["phone"],
            "city": base["city"],
            "tier": "regular",
            "status": "active",
            "updated_at": base["updated_at"],
        }
    if style == "shopee":
        return {"shopid": rid, "shop_name": base["name"], "status": "NORMAL", "ctime": 1500000000}
    if style == "apikey":
        return {
            "store_id": rid,
            "name": base["name"],
            "owner": base["owner"],
            "address": {"street": "Jl. X", "city": base["city"]},
            "state": "open",
            "updated_at": base["updated_at"],
        }
    if style == "ckan":
        return {"id_umkm": rid, "nama_usaha": base["name"], "kode_kabupaten": "3204"}
    if style == "filedrop":
        return {
            "merchant_id": rid,
            "nama_toko": base["name"],
            "nama_pemilik": base["owner"],
            "kota": base["city"],
            "tgl_bergabung": "01/02/2016",
        }
    raise ValueError(style)


@dataclass
class FeedServer:
    """A loopback server for one protocol. Start with `.start()`, stop with `.stop()`."""

    protocol: str
    count: int = 57
    snapshots: tuple[str, ...] = (SNAPSHOT,)
    short_pages: bool = True
    token_ttl: float = 3600.0
    clock_skew_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    poison: bool = False  # add items that cannot be parsed (quarantine)
    xlsx_years: tuple[int, ...] = (2017, 2018)
    file_parts: int = 2
    delimiter: str = ","
    crlf: bool = False
    wrong_manifest_rows: bool = False
    quote_all: bool = False  # RFC 4180 quoting of every field (bare CR in hostile text)
    page_delay_s: float = 0.0  # slow every answer (to kill a pull mid-way)
    #: beyond the contract: after the last record, empty pages whose cursor never ends
    #: (oauth-cursor) or that keep saying has_more (signed-page): a runaway feed the
    #: registry's limits must stop
    endless_empty: bool = False
    #: oauth-cursor: cursors carry the generation they were issued in; raising it expires
    #: every cursor issued before (400 cursor_expired), as an hour's wait would
    cursor_generation: int = 0
    refuse_cursors: bool = False  # oauth-cursor: every cursor has expired (400)
    loop_cursor: bool = False  # oauth-cursor: the second page's cursor again and again
    #: oauth-cursor: the first page is a valid JSON page of this many bytes, written as it
    #: is generated (the server never holds it); with `huge_page_length`, Content-Length
    #: announces it, otherwise the body simply runs until the connection closes
    huge_page_bytes: int = 0
    huge_page_length: bool = True
    #: file-drop: (name, gzip bytes, data rows) served instead of the generated parts
    parts: list[tuple[str, bytes, int]] | None = None
    #: xlsx: the workbook's bytes served for every published year instead of a generated one
    workbook: bytes | None = None
    #: records to serve instead of the generated ones, each with its id as its first key (a
    #: source of the test's own with field names of its own; JSON protocols)
    served: list[dict[str, Any]] | None = None
    #: ckan: the package and the resource-name prefix served (a list of the test's own)
    ckan_package: str = "umkm-go-online"
    ckan_prefix: str = "umkm_go_online_"
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tokens: dict[str, float] = {}
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        style = {
            "oauth-cursor": "oauth",
            "signed-page": "shopee",
            "apikey-offset": "apikey",
            "ckan": "ckan",
            "file-drop": "filedrop",
        }.get(self.protocol)
        if self.served is not None:
            self.records = [dict(r) for r in self.served]
        else:
            self.records = [merchant(i, style) for i in range(self.count)] if style else []
        if self.protocol == "apikey-offset" and self.records:  # by store id, as strings
            id_field = next(iter(self.records[0]))
            self.records.sort(key=lambda r: str(r[id_field]))

    # -- life cycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FeedServer:
        server = self

        class Handler(_Handler):
            feed = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def conn_uri(self) -> str:
        """The `AIRFLOW_CONN_*` value pointing a connector at this server."""
        host = self.url.removeprefix("http://")
        if self.protocol == "oauth-cursor":
            return f"http://{CLIENT_ID}:{CLIENT_SECRET}@{host}"
        if self.protocol == "signed-page":
            extra = json.dumps({"partner_id": PARTNER_ID, "partner_key": PARTNER_KEY})
            return json.dumps({"conn_type": "http", "host": self.url, "extra": extra})
        if self.protocol == "apikey-offset":
            return json.dumps(
                {"conn_type": "http", "host": self.url, "extra": {"api_key": API_KEY}}
            )
        if self.protocol == "ckan":
            return f"http://ignored:{CKAN_TOKEN}@{host}"
        return self.url

    # -- expected ids ------------------------------------------------------------------------
    def expected_ids(self, snapshot: str = SNAPSHOT) -> list[str]:
        """Ids of the records served for `snapshot` that are parseable."""
        if self.protocol == "signed-page":
            return [r["shopid"] for i, r in enumerate(self.records) if not self._hidden(i)]
        if self.protocol in ("oauth-cursor", "apikey-offset", "ckan", "file-drop"):
            key = next(iter(self.records[0])) if self.records else ""
            return [r[key] for r in self.records]
        if self.protocol == "xlsx":
            year = int(snapshot[:4])
            return [str(n) for y in self.xlsx_years if y <= year for n in self._xlsx_numbers(y)]
        if self.protocol == "summary":
            return [snapshot]
        if self.protocol == "reference-csv":
            return [code for _level, rows in REFERENCE.items() for code, *_ in rows]
        raise ValueError(self.protocol)

    @staticmethod
    def _hidden(i: int) -> bool:
        return i % 7 == 3  # signed-page: such records are not served (short pages)

    def _xlsx_numbers(self, year: int) -> list[int]:
        start = (year - 2017) * 1000 + 1
        return list(range(start, start + 12))

    # -- faults ------------------------------------------------------------------------------
    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and path.startswith(fault.path):
                    fault.seen += 1
                    if fault.seen <= fault.after:
                        return None
                    fault.times -= 1
                    return fault
        return None

    def server_time(self) -> float:
        return time.time() + self.clock_skew_s


REFERENCE = {
    "province": [("11", "ACEH"), ("31", "DKI JAKARTA")],
    "regency": [("1101", "11", "KABUPATEN SIMEULUE"), ("3171", "31", "KOTA JAKARTA, SELATAN")],
    "district": [("1101010", "1101", "TEUPAH SELATAN")],
    "village": [("1101010001", "1101010", 'LATIUNG "BARU"')],
}


def _cursor(offset: int, generation: int = 0) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}:{generation}".encode()).decode()


def _uncursor(cursor: str) -> tuple[int, int]:
    """(offset, generation) of a cursor."""
    _o, offset, generation = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
    return int(offset), int(generation)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    feed: FeedServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return email.utils.formatdate(self.feed.server_time(), usegmt=True)

    # -- plumbing ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if method == "POST":
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode()
            query = {**query, **parse_qs(body)}
        self.feed.requests.append((method, parts.path, query))
        if self.feed.page_delay_s:
            time.sleep(self.feed.page_delay_s)
        if self.feed.huge_page_bytes and parts.path == "/v1/merchants":
            return self._send_huge_page(query.get("snapshot", [SNAPSHOT])[-1])
        fault = self.feed.take_fault(parts.path)
        if fault and fault.kind in {"429", "500", "502", "503", "504"}:
            headers = {"Retry-After": fault.retry_after} if fault.kind == "429" else {}
            if self.feed.protocol == "ckan":
                payload = {"success": False, "error": {"__type": "Internal Error", "message": "x"}}
            else:
                payload = {"error": "transient"}
            return self._send(int(fault.kind), json.dumps(payload).encode(), headers=headers)
        if fault and fault.kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            return None
        if fault and fault.kind == "expire_token":
            with self.feed.lock:
                self.feed.tokens.clear()
        status, body, ctype = self._route(method, parts.path, query, fault)
        if fault and fault.kind == "corrupt" and status == 200:
            body = (
                body[: len(body) // 2]
                + bytes(b ^ 0xFF for b in body[len(body) // 2 :][:4])
                + body[len(body) // 2 + 4 :]
            )
        if fault and fault.kind in ("cut", "cut_nolen") and status == 200:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if fault.kind == "cut":
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        return self._send(status, body, ctype)

    def _send_huge_page(self, snapshot: str) -> None:
        """A page of `huge_page_bytes` (at least): the same merchant over and over (each with
        its own id), streamed 1 MiB at a time; stops quietly when the client hangs up."""
        head = b'{"snapshot": "' + snapshot.encode() + b'", "data": ['
        tail = b'], "next_cursor": null}'
        record = json.dumps(merchant(0, "oauth"), ensure_ascii=False).encode()
        unit = len(record) + 1
        n = max(1, (self.feed.huge_page_bytes - len(head) - len(tail)) // unit + 1)
        first_id = json.dumps(merchant(0, "oauth")["shop_id"]).encode()
        width = len(str(n))

        def item(i: int) -> bytes:  # the same length whatever i (ids padded to one width)
            own = json.dumps(f"huge-{i:0{width}d}").encode()
            return record.replace(first_id, own, 1)

        size = len(head) + len(item(0)) * n + (n - 1) + len(tail)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.feed.huge_page_length:
            self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(head)
            block: list[bytes] = []
            filled = 0
            for i in range(n):
                block.append((b"," if i else b"") + item(i))
                filled += len(block[-1])
                if filled >= 1 << 20:
                    self.wfile.write(b"".join(block))
                    block, filled = [], 0
            self.wfile.write(b"".join(block) + tail)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str, path: str, q: dict[str, list[str]], fault: Fault | None):
        feed = self.feed
        handler = {
            "oauth-cursor": self._oauth,
            "signed-page": self._signed,
            "apikey-offset": self._apikey,
            "file-drop": self._filedrop,
            "ckan": self._ckan,
            "xlsx": self._xlsx,
            "summary": self._summary,
            "reference-csv": self._reference,
        }[feed.protocol]
        result = handler(method, path, {k: v[-1] for k, v in q.items()}, fault)
        if result is None:
            return 404, b'{"error": "no route"}', "application/json"
        status, payload = result[0], result[1]
        ctype = result[2] if len(result) > 2 else "application/json"
        if not isinstance(payload, bytes):
            payload = json.dumps(payload, ensure_ascii=False).encode()
        return status, payload, ctype

    def _page_len(self, limit: int, offset: int) -> int:
        """Short pages that are not the last: every other page holds a third of the limit."""
        if self.feed.short_pages and (offset // max(1, limit)) % 2 == 1:
            return max(1, limit // 3)
        return limit

    def _items(self, records: list[dict[str, Any]], start: int) -> list[Any]:
        items: list[Any] = list(records)
        if self.feed.poison and start == 0 and items:
            items[1:1] = ["not an object", {"shop_name": "no id here"}]
        return items

    # -- protocols ---------------------------------------------------------------------------
    def _oauth(self, method, path, q, fault):
        feed = self.feed
        if path == "/oauth/token" and method == "POST":
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if (
                self.headers.get("Authorization") != expected
                or q.get("grant_type") != "client_credentials"
            ):
                return 401, {"error": "invalid_client"}
            token = uuid.uuid4().hex
            with feed.lock:
                feed.tokens[token] = time.time() + feed.token_ttl
            return 200, {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": feed.token_ttl,
            }
        if path != "/v1/merchants":
            return None
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        with feed.lock:
            valid = feed.tokens.get(token, 0) > time.time()
        if not valid:
            return 401, {"error": "invalid_token"}
        limit = int(q.get("limit", 100))
        if limit > 5000:
            return 400, {"error": "limit above 5000"}
        if q.get("snapshot") not in feed.snapshots:
            return 404, {"error": "snapshot_not_found"}
        records = feed.records
        if "updated_since" in q:
            since = datetime.fromisoformat(q["updated_since"].replace("Z", "+00:00"))
            records = [r for r in records if datetime.fromisoformat(r["updated_at"]) > since]
        items = self._items(records, 0)
        start = (0, feed.cursor_generation)
        offset, generation = _uncursor(q["cursor"]) if "cursor" in q else start
        if generation != feed.cursor_generation or ("cursor" in q and feed.refuse_cursors):
            return 400, {"error": "cursor_expired", "error_description": "cursor has expired"}
        end = offset + self._page_len(limit, offset)
        more = end < len(items) or feed.endless_empty
        nxt = _cursor(end, feed.cursor_generation) if more else None
        if feed.loop_cursor:
            nxt = _cursor(self._page_len(limit, 0), feed.cursor_generation)
        return 200, {"snapshot": q["snapshot"], "data": items[offset:end], "next_cursor": nxt}

    def _signed(self, method, path, q, fault):
        feed = self.feed
        if path != "/api/v2/merchants":
            return None
        ts = int(q.get("timestamp", 0))
        message = f"{q.get('partner_id')}{path}{ts}".encode()
        sign = hmac.new(PARTNER_KEY.encode(), message, hashlib.sha256).hexdigest()
        skewed = fault is not None and fault.kind == "skew"
        if skewed or q.get("sign") != sign or abs(ts - feed.server_time()) > 300:
            return 403, {"error": "invalid_sign", "message": "bad sign"}
        size = int(q.get("page_size", 10))
        if size > 1000:
            return 400, {"error": "page_size above 1000"}
        if q.get("snapshot") not in feed.snapshots:
            return 404, {"error": "snapshot_not_found"}
        page = int(q.get("page", 1))
        lo, hi = (page - 1) * size, page * size
        served = [r for i, r in enumerate(feed.records[lo:hi], lo) if not feed._hidden(i)]
        return 200, {
            "error": "",
            "request_id": uuid.uuid4().hex,
            "response": {
                "merchants": served,
                "total": len(feed.records),
                "has_more": hi < len(feed.records) or feed.endless_empty,
            },
        }

    def _apikey(self, method, path, q, fault):
        feed = self.feed
        if path != "/api/stores":
            return None
        if self.headers.get("X-Api-Key") != API_KEY:
            return 403, {"message": "invalid api key"}
        limit = int(q.get("limit", 100))
        if limit > 2000:
            return 400, {"message": "limit above 2000"}
        if q.get("snapshot") not in feed.snapshots:
            return 404, {"message": "no export for snapshot"}
        records = feed.records
        if "updated_since" in q:
            since = datetime.fromisoformat(q["updated_since"].replace("Z", "+00:00"))
            records = [r for r in records if datetime.fromisoformat(r["updated_at"]) > since]
        offset = int(q.get("offset", 0))
        items = self._items(records, 0)
        chunk = items[offset : offset + self._page_len(limit, offset)]
        return 200, {
            "stores": chunk,
            "meta": {"total": len(items), "offset": offset, "limit": limit},
        }

    def _csv_parts(self, snapshot: str) -> list[tuple[str, bytes, int]]:
        feed = self.feed
        if feed.parts is not None:
            return feed.parts
        header = list(feed.records[0]) if feed.records else ["merchant_id"]
        parts = []
        per = -(-len(feed.records) // feed.file_parts)
        for n in range(feed.file_parts):
            rows = feed.records[n * per : (n + 1) * per]
            out = io.StringIO()
            writer = csv.writer(
                out,
                delimiter=feed.delimiter,
                lineterminator="\r\n" if feed.crlf else "\n",
                quoting=csv.QUOTE_ALL if feed.quote_all else csv.QUOTE_MINIMAL,
            )
            writer.writerow(header)
            for r in rows:
                writer.writerow([r[h] for h in header])
            if feed.poison and n == 0:
                out.write("only-one-field\n" if not feed.crlf else "only-one-field\r\n")
            data = gzip.compress(out.getvalue().encode(), mtime=0)
            parts.append(
                (f"merchants_{n + 1:03d}.csv.gz", data, len(rows) + (feed.poison and n == 0))
            )
        return parts

    def _filedrop(self, method, path, q, fault):
        feed = self.feed
        bits = path.strip("/").split("/")
        if len(bits) != 3 or bits[0] != "exports":
            return None
        snapshot, name = bits[1], bits[2]
        if snapshot not in feed.snapshots:
            return 404, {"error": "not found"}
        parts = self._csv_parts(snapshot)
        if name == "manifest.json":
            files = [
                {
                    "name": n,
                    "rows": rows + (1 if feed.wrong_manifest_rows else 0),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
                for n, data, rows in parts
            ]
            return 200, {
                "snapshot": snapshot,
                "generated_at": "2017-11-16T01:00:00+07:00",
                "files": files,
            }
        for n, data, _rows in parts:
            if n == name:
                return 200, data, "application/gzip"
        return 404, {"error": "not found"}

    def _ckan(self, method, path, q, fault):
        feed = self.feed
        if self.headers.get("Authorization") != CKAN_TOKEN:
            return 403, {
                "success": False,
                "error": {"__type": "Authorization Error", "message": "Access denied"},
            }
        if path == "/api/3/action/package_show":
            if q.get("id") != feed.ckan_package:
                return 404, {
                    "success": False,
                    "error": {"__type": "Not Found Error", "message": "Not found"},
                }
            resources = [
                {
                    "id": f"res-{s}",
                    "name": feed.ckan_prefix + s.replace("-", ""),
                    "datastore_active": True,
                    "last_modified": s + "T00:00:00",
                }
                for s in feed.snapshots
            ]
            return 200, {
                "success": True,
                "result": {"name": feed.ckan_package, "resources": resources},
            }
        if path == "/api/3/action/datastore_search":
            limit = int(q.get("limit", 100))
            if limit > 32000:
                return 409, {
                    "success": False,
                    "error": {"__type": "Validation Error", "message": {"limit": ["too big"]}},
                }
            if not q.get("resource_id", "").startswith("res-"):
                return 404, {
                    "success": False,
                    "error": {"__type": "Not Found Error", "message": "Resource not found"},
                }
            offset = int(q.get("offset", 0))
            items = [{"_id": i + 1, **r} for i, r in enumerate(feed.records)]
            chunk = items[offset : offset + self._page_len(limit, offset)]
            return 200, {
                "success": True,
                "result": {
                    "resource_id": q["resource_id"],
                    "fields": [{"id": "id_umkm", "type": "text"}],
                    "records": chunk,
                    "total": len(items),
                    "_links": {"start": "/x", "next": f"/x?offset={offset + limit}"},
                },
            }
        return None

    def _xlsx(self, method, path, q, fault):
        import openpyxl

        feed = self.feed
        if not path.startswith("/esmart/peserta/") or not path.endswith(".xlsx"):
            return None
        year = int(path.rsplit("/", 1)[1].removesuffix(".xlsx"))
        if year not in feed.xlsx_years:
            return 404, {"error": "not published"}
        if feed.workbook is not None:
            return 200, feed.workbook, "application/vnd.ms-excel"
        wb = openpyxl.Workbook()
        notes = wb.active
        notes.title = "Catatan"
        notes["A1"] = "Sheet with notes first"
        ws = wb.create_sheet("Peserta")
        ws["A1"] = f"Peserta e-Smart IKM {year}"
        ws["A2"] = "Kementerian Perindustrian"
        ws["A3"] = "Catatan: data sementara"
        header = [
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
        ws.append(header)
        for n in self.feed._xlsx_numbers(year):
            ws.append(
                [
                    n,
                    f"IKM {n}",
                    f"Pemilik {n}",
                    "0812-333",
                    "Jl. A",
                    "Kab. Bogor",
                    "Jawa Barat",
                    "Makanan",
                    None if n % 2 else "Sentra X",
                    year,
                    "Shopee",
                ]
            )
        if feed.poison:
            ws.append(["bukan nomor", "IKM ?", None, None, None, None, None, None, None, year])
        for _ in range(5):  # trailing empty rows
            ws.append([None, "", None])
        out = io.BytesIO()
        wb.save(out)
        return (
            200,
            out.getvalue(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    def _summary(self, method, path, q, fault):
        feed = self.feed
        if path != "/api/umkm-go-online/ringkasan":
            return None
        if q.get("tanggal") not in feed.snapshots:
            return 404, {"error": "not published"}
        rincian = [
            {"sumber": "Tokopedia", "jumlah": 100},
            {"sumber": "Kementerian/Lembaga", "jumlah": 20},
        ]
        return 200, {"tanggal": q["tanggal"], "total": 120, "rincian": rincian}

    def _reference(self, method, path, q, fault):
        feed = self.feed
        files = {
            "/wilayah/provinces.csv": "province",
            "/wilayah/regencies.csv": "regency",
            "/wilayah/districts.csv": "district",
            "/wilayah/villages.csv": "village",
        }
        if path not in files:
            return None
        if MISSING in feed.snapshots:  # a server with the reference set unpublished
            return 404, {"error": "not found"}
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n" if feed.crlf else "\n").writerows(
            REFERENCE[files[path]]
        )
        return 200, out.getvalue().encode(), "text/csv"

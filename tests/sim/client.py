"""A small feed client written from ../shared/feeds/CONTRACT.md only.

It knows nothing of the simulator's code: it reads a connection value (URI or JSON form),
speaks each protocol, retries what the contract calls transient (429 with Retry-After,
5xx, a connection that breaks), refreshes an expired oauth token, signs shopee requests
and re-fetches a file-drop file whose checksum fails. `Client.log` records every answer's
status (and every broken connection) so tests can check which faults were met.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import hmac
import io
import json
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import requests


@dataclass
class Conn:
    base_url: str
    login: str | None = None
    password: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_conn(value: str) -> Conn:
    """An Airflow connection value: `http://login:password@host:port` or JSON."""
    if value.lstrip().startswith("{"):
        doc = json.loads(value)
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        host = doc["host"]
        if "://" not in host:
            host = f"http://{host}" + (f":{doc['port']}" if doc.get("port") else "")
        return Conn(host.rstrip("/"), doc.get("login"), doc.get("password"), extra)
    parts = urlsplit(value)
    base = f"http://{parts.hostname}:{parts.port}"
    return Conn(
        base,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


class Client:
    """One source. `get`/`post` retry transient failures; pulls return every record."""

    def __init__(self, value: str, max_attempts: int = 12) -> None:
        self.conn = parse_conn(value)
        self.session = requests.Session()
        self.max_attempts = max_attempts
        self.log: list[Any] = []  # statuses, "broken" for a connection cut mid-answer
        self.token: str | None = None
        self.clock_offset = 0.0  # server clock minus ours, learnt from `Date`

    # transport ------------------------------------------------------------------------------
    def request(self, method: str, path: str, retry_401=None, **kw) -> requests.Response:
        url = self.conn.base_url + path
        for _attempt in range(self.max_attempts):
            try:
                answer = self.session.request(method, url, timeout=60, **kw)
                answer.content  # noqa: B018 - read the whole body (a cut shows here)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                self.log.append("broken")
                self.session.close()
                self.session = requests.Session()
                continue
            self.log.append(answer.status_code)
            if answer.status_code == 429:
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            if answer.status_code in (500, 502, 503, 504):
                time.sleep(0.05)
                continue
            if answer.status_code == 401 and retry_401 is not None:
                kw = retry_401(kw)
                continue
            return answer
        raise RuntimeError(f"{method} {path}: gave up after {self.max_attempts} attempts")

    # oauth-cursor -------------------------------------------------------------------------
    def fetch_token(self) -> str:
        answer = self.request(
            "POST",
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.conn.login, self.conn.password),
        )
        answer.raise_for_status()
        self.token = answer.json()["access_token"]
        return self.token

    def pull_oauth(self, snapshot: str, limit: int = 1000, since: str | None = None):
        token = self.token or self.fetch_token()
        records, cursor, pages = [], None, 0

        def refresh(kw):
            kw["headers"] = {"Authorization": f"Bearer {self.fetch_token()}"}
            return kw

        while True:
            params = {"snapshot": snapshot, "limit": limit}
            if cursor:
                params["cursor"] = cursor
            if since:
                params["updated_since"] = since
            answer = self.request(
                "GET",
                "/v1/merchants",
                params=params,
                headers={"Authorization": f"Bearer {self.token or token}"},
                retry_401=refresh,
            )
            if answer.status_code == 404:
                return None
            answer.raise_for_status()
            doc = answer.json()
            assert doc["snapshot"] == snapshot
            records += doc["data"]
            pages += 1
            cursor = doc["next_cursor"]
            if cursor is None:
                return records

    # signed-page --------------------------------------------------------------------------
    def signed_params(self, path: str) -> dict[str, Any]:
        pid, key = str(self.conn.extra["partner_id"]), self.conn.extra["partner_key"]
        ts = int(time.time() + self.clock_offset)
        sign = hmac.new(key.encode(), f"{pid}{path}{ts}".encode(), hashlib.sha256).hexdigest()
        return {"partner_id": pid, "timestamp": ts, "sign": sign}

    def pull_signed(self, snapshot: str, page_size: int = 200):
        path = "/api/v2/merchants"
        records, page = [], 1
        while True:
            for _ in range(3):
                params = {"snapshot": snapshot, "page": page, "page_size": page_size}
                answer = self.request("GET", path, params={**params, **self.signed_params(path)})
                if answer.status_code != 403:
                    break
                server = parsedate_to_datetime(answer.headers["Date"]).timestamp()
                self.clock_offset = server - time.time()
            if answer.status_code == 404:
                return None
            answer.raise_for_status()
            body = answer.json()["response"]
            records += body["merchants"]
            if not body["has_more"]:
                return records
            page += 1

    # apikey-offset ------------------------------------------------------------------------
    def pull_apikey(self, snapshot: str, limit: int = 500, since: str | None = None):
        headers = {"X-Api-Key": self.conn.extra["api_key"]}
        records, offset = [], 0
        while True:
            params = {"snapshot": snapshot, "offset": offset, "limit": limit}
            if since:
                params["updated_since"] = since
            answer = self.request("GET", "/api/stores", params=params, headers=headers)
            if answer.status_code == 404:
                return None
            answer.raise_for_status()
            doc = answer.json()
            records += doc["stores"]
            offset += limit
            if offset >= doc["meta"]["total"]:
                return records

    # file-drop ----------------------------------------------------------------------------
    def pull_files(self, snapshot: str, delimiter: str, fetches: int = 3):
        answer = self.request("GET", f"/exports/{snapshot}/manifest.json")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        manifest = answer.json()
        assert manifest["snapshot"] == snapshot
        rows, raw_files = [], []
        for entry in manifest["files"]:
            for _ in range(fetches):
                data = self.request("GET", f"/exports/{snapshot}/{entry['name']}").content
                if hashlib.sha256(data).hexdigest() == entry["sha256"]:
                    break
                self.log.append("checksum")
            else:
                raise AssertionError(f"{entry['name']} stays corrupt")
            raw_files.append(data)
            text = gzip.decompress(data).decode("utf-8")
            parsed = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
            assert len(parsed) == entry["rows"]
            rows += parsed
        return rows, raw_files, manifest

    # ckan ---------------------------------------------------------------------------------
    def ckan_resource(self, snapshot: str) -> str | None:
        answer = self.request(
            "GET",
            "/api/3/action/package_show",
            params={"id": "umkm-go-online"},
            headers={"Authorization": self.conn.password},
        )
        answer.raise_for_status()
        wanted = "umkm_go_online_" + snapshot.replace("-", "")
        for res in answer.json()["result"]["resources"]:
            if res["name"] == wanted:
                return res["id"]
        return None

    def pull_ckan(self, snapshot: str, limit: int = 2000):
        rid = self.ckan_resource(snapshot)
        if rid is None:
            return None
        records, offset = [], 0
        while True:
            answer = self.request(
                "GET",
                "/api/3/action/datastore_search",
                params={"resource_id": rid, "limit": limit, "offset": offset},
                headers={"Authorization": self.conn.password},
            )
            answer.raise_for_status()
            result = answer.json()["result"]
            records += result["records"]
            offset += limit
            if offset >= result["total"]:
                return records

    # xlsx, summary, reference -------------------------------------------------------------
    def xlsx(self, year: int) -> requests.Response:
        return self.request("GET", f"/esmart/peserta/{year}.xlsx")

    def summary(self, snapshot: str) -> requests.Response:
        return self.request("GET", "/api/umkm-go-online/ringkasan", params={"tanggal": snapshot})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()

"""A bad batch served over HTTP, landed by extract_load, validated, then published."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.validation.conftest import SNAPSHOT
from tests.validation.fixtures import merchant
from umkm.loading import extract_load, publish
from umkm.validation import validate_batch
from umkm.warehouse.db import connect


def _serve(records: list[dict]) -> ThreadingHTTPServer:
    """A minimal apikey-offset partner (bukalapak's protocol) on loopback."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            parts = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path != "/api/stores" or self.headers.get("X-Api-Key") != "k":
                self.send_response(404)
                self.end_headers()
                return
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
            body = json.dumps(
                {
                    "stores": records[offset : offset + limit],
                    "meta": {"total": len(records), "offset": offset, "limit": limit},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_served_bad_batch_is_quarantined_and_the_rest_published(wh, monkeypatch):
    records = [merchant("bukalapak", i) for i in range(25)]
    records[5]["address"]["city"] = "Gotham"
    records[9]["state"] = "suspended"
    server = _serve(records)
    port = server.server_address[1]
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_BUKALAPAK", f"http://127.0.0.1:{port}?api_key=k")
    try:
        load = extract_load("bukalapak", SNAPSHOT, url=wh)
        assert load.rows_fetched == 25
        outcome = validate_batch("bukalapak", SNAPSHOT, load.batch_id, url=wh, alert=False)
        assert {r["name"] for r in outcome.results if not r["success"]} == {
            "region_resolves",
            "status_allowed",
        }
        published = publish("bukalapak", SNAPSHOT, load.batch_id, url=wh)
    finally:
        server.shutdown()
        server.server_close()
    assert published == 23
    with connect(wh) as conn:
        fetched, loaded, rejected = conn.execute(
            "select rows_fetched, rows_loaded, rows_rejected from audit.loads where batch_id = %s",
            (load.batch_id,),
        ).fetchone()
    assert (fetched, loaded, rejected) == (25, 23, 2)

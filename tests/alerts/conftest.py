"""Loopback receivers for alerts: a Slack-compatible webhook and an SMTP sink."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebhookReceiver:
    """Collects JSON posts; answers `fail_first` requests with HTTP 500 first."""

    def __init__(self, fail_first: int = 0):
        self.posts: list[dict] = []
        self.requests = 0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                receiver.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.requests <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    def __init__(self):
        from aiosmtpd.controller import Controller

        # aiosmtpd logs each session at INFO from its own thread, which can outlive the test
        # whose captured stream the root handler writes to ("I/O operation on closed file")
        logging.getLogger("mail.log").setLevel(logging.WARNING)

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(envelope)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def texts(self) -> list[str]:
        import email

        out = []
        for envelope in self.messages:
            message = email.message_from_bytes(envelope.content)
            body = message.get_payload(decode=True).decode()
            out.append(f"Subject: {message['Subject']}\nTo: {message['To']}\n{body}")
        return out

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def webhook(monkeypatch):
    receiver = WebhookReceiver()
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_ALERT_WEBHOOK", receiver.url)
    monkeypatch.setenv("UMKM_ALERT_BACKOFF_S", "0.01")
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp(monkeypatch):
    sink = SmtpSink()
    monkeypatch.setenv(
        "AIRFLOW_CONN_UMKM_ALERT_SMTP",
        f"smtp://127.0.0.1:{sink.port}?from=umkm%40example.org&to=ops%40example.org,"
        "data%40example.org",
    )
    yield sink
    sink.stop()


@pytest.fixture(autouse=True)
def no_channels(monkeypatch, tmp_path):
    """Start each test with no channel configured and no dedupe memory: neither the
    process's nor the warehouse's (`audit.alerts_sent` of WAREHOUSE_URL or of a running
    embedded warehouse, which would remember the previous test's alert)."""
    from umkm import alerts

    for name in ("AIRFLOW_CONN_UMKM_ALERT_WEBHOOK", "AIRFLOW_CONN_UMKM_ALERT_SMTP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path / "state"))  # no embedded found
    monkeypatch.delenv("UMKM_CONNECTIONS_FILE", raising=False)
    monkeypatch.setenv("UMKM_ALERT_BACKOFF_S", "0.01")
    alerts._SENT.clear()
    os.environ.pop("AIRFLOW_CONN_UMKM_WAREHOUSE", None)
    yield

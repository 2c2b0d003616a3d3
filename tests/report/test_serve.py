"""`umkm serve`: the report, the dbt docs and the Data Docs on one local port, in a process of
its own on a free port; GET each; Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from umkm.alerts import links


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start(state: Path, port: int, *extra: str) -> tuple[subprocess.Popen, list[str]]:
    env = {**os.environ, "UMKM_STATE_DIR": str(state), "UMKM_DEV_MODE": "1"}
    env.pop("UMKM_DOCS_BASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "umkm", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while not any(line.startswith("  Data Docs:") for line in lines):
        line = proc.stdout.readline()
        assert line or proc.poll() is None, f"umkm serve ended: {lines}"
        lines.append(line.rstrip("\n"))
        assert time.monotonic() < deadline, lines
    return proc, lines


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    """Ctrl-C; the exit code and what it printed after the lines `start` read."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, proc.stdout.read()  # the pipe's buffer included


@pytest.fixture
def state(tmp_path) -> Path:
    """A state folder as `umkm run` leaves it: report, dbt docs, Data Docs with a page."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "index.html").write_text("<h1>UMKM go-online report</h1>")
    (reports / "report-2017-11-15.html").write_text("<h1>report 2017-11-15</h1>")
    (reports / "dbt-docs.html").write_text("<title>dbt Docs</title>")
    site = tmp_path / "data_docs"
    page = site / "validations" / "raw_shopee" / "shopee-run-1" / "20171116T010203.000001Z"
    page.mkdir(parents=True)
    (site / "index.html").write_text("<title>Data documentation</title>")
    (page / "shopee__20171115__b1.html").write_text("<p>shopee validation page</p>")
    return tmp_path


def test_serves_the_report_the_dbt_docs_and_the_data_docs(state):
    port = free_port()
    proc, lines = start(state, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert lines[0] == f"Serving on {base}/ (Ctrl-C stops it)"
        assert f"{base}/dbt_docs/" in "\n".join(lines)
        assert f"{base}/data_docs/" in "\n".join(lines)
        assert get(f"{base}/") == (200, "<h1>UMKM go-online report</h1>")
        assert get(f"{base}/report-2017-11-15.html") == (200, "<h1>report 2017-11-15</h1>")
        assert get(f"{base}/dbt-docs.html") == (200, "<title>dbt Docs</title>")  # report's link
        assert get(f"{base}/dbt_docs/") == (200, "<title>dbt Docs</title>")
        assert get(f"{base}/data_docs/") == (200, "<title>Data documentation</title>")
        assert get(f"{base}/data_docs") == (200, "<title>Data documentation</title>")  # redirect

        # the link an alert carries, on this server, opens the validation's page
        # (both settings restored after: a state folder left here would send every later
        # test's embedded warehouse to an empty folder)
        saved = {k: os.environ.get(k) for k in ("UMKM_STATE_DIR", "UMKM_DOCS_BASE_URL")}
        os.environ["UMKM_STATE_DIR"] = str(state)
        os.environ["UMKM_DOCS_BASE_URL"] = base
        try:
            url = links.data_docs_url(state / "data_docs" / "index.html", "shopee-run-1")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        assert url.startswith(f"{base}/data_docs/validations/raw_shopee/shopee-run-1/")
        assert get(url) == (200, "<p>shopee validation page</p>")

        # nothing outside the three folders, no folder listings
        assert get(f"{base}/../../etc/passwd")[0] == 404
        assert get(f"{base}/data_docs/%2e%2e/%2e%2e/etc/passwd")[0] == 404
        assert get(f"{base}/data_docs/validations/")[0] == 404
    finally:
        code, out = stop(proc)
    assert code == 0 and "stopped" in out


def test_says_what_is_not_built_yet(tmp_path):
    port = free_port()
    proc, lines = start(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert any("report:" in line and "not built yet: umkm report" in line for line in lines)
        status, body = get(f"{base}/")
        assert status == 200 and "not built yet" in body and 'href="/data_docs/"' in body
        status, body = get(f"{base}/dbt_docs/")
        assert status == 404 and "umkm report --snapshot" in body
        status, body = get(f"{base}/data_docs/")
        assert status == 404 and "umkm validate" in body
    finally:
        code, out = stop(proc)
    assert code == 0
    assert f"set UMKM_DOCS_BASE_URL={base} to point them here" in out  # alerts link elsewhere


def test_a_taken_port_is_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "UMKM_STATE_DIR": str(tmp_path), "UMKM_DEV_MODE": "1"}
        proc = subprocess.run(
            [sys.executable, "-m", "umkm", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 3
    assert proc.stderr.strip() == (f"error: cannot listen on 127.0.0.1:{port} (in use); try --port")

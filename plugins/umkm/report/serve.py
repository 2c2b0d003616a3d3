"""`umkm serve`: the report, the dbt docs and the Data Docs on one local port (stdlib only).

    /             the report folder (`.local/reports`: index.html, report-<snapshot>.html,
                  dbt-docs.html beside them, as `umkm report` and the DAG write them)
    /dbt_docs/    the dbt docs page (`<reports>/dbt-docs.html`, one static file)
    /data_docs/   the Great Expectations Data Docs site (`.local/data_docs`)

The alerts' Data Docs links point here (`http://127.0.0.1:8099/data_docs/...`, or
`UMKM_DOCS_BASE_URL`). Whatever is not built yet answers with a page saying which command
builds it. Files are read when asked for, so a report rebuilt meanwhile is served as is.
Ctrl-C stops the server.
"""

from __future__ import annotations

import errno
import html
import posixpath
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urlsplit

from umkm import settings

REPORT_PATH = "/"
DBT_DOCS_PATH = "/dbt_docs/"  # umkm.alerts.links.DBT_DOCS_PATH
DATA_DOCS_PATH = "/data_docs/"  # umkm.alerts.links.DATA_DOCS_PATH
DBT_DOCS_FILE = "dbt-docs.html"  # umkm.transform.dbt.publish_docs

HOW_TO_BUILD = {
    "report": f"umkm report --snapshot {settings.HEADLINE_SNAPSHOT} (or umkm run)",
    "dbt docs": f"umkm report --snapshot {settings.HEADLINE_SNAPSHOT} (writes dbt-docs.html)",
    "Data Docs": "umkm validate <source> --snapshot D (or umkm run): each validation builds them",
}


class Site:
    """Where each path of the server reads from."""

    def __init__(self, reports: Path | None = None, data_docs: Path | None = None):
        self.reports = Path(reports or settings.reports_dir())
        self.data_docs = Path(data_docs or settings.data_docs_dir())

    @property
    def dbt_docs(self) -> Path:
        return self.reports / DBT_DOCS_FILE

    def entries(self) -> list[tuple[str, str, Path]]:
        """(name, path on the server, what it serves) of the three things."""
        return [
            ("report", REPORT_PATH, self.reports / "index.html"),
            ("dbt docs", DBT_DOCS_PATH, self.dbt_docs),
            ("Data Docs", DATA_DOCS_PATH, self.data_docs / "index.html"),
        ]

    def locate(self, url_path: str) -> tuple[str, Path | None]:
        """(which thing, the file or folder) for a request path; None: outside every root."""
        path = posixpath.normpath(unquote(url_path)) or "/"
        if path == DBT_DOCS_PATH.rstrip("/") or path.startswith(DBT_DOCS_PATH):
            return "dbt docs", self.dbt_docs  # one page, whatever follows
        if path == DATA_DOCS_PATH.rstrip("/") or path.startswith(DATA_DOCS_PATH):
            return "Data Docs", _inside(self.data_docs, path[len(DATA_DOCS_PATH) - 1 :])
        return "report", _inside(self.reports, path)


def _inside(root: Path, rest: str) -> Path | None:
    words = [w for w in rest.split("/") if w and w not in (".", "..")]
    target = root.joinpath(*words)
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:  # a symlink out of the root
        return None
    return target


class Handler(SimpleHTTPRequestHandler):
    site: Site

    def __init__(self, *args, site: Site, **kwargs):
        self.site = site
        super().__init__(*args, directory=str(site.reports), **kwargs)

    def translate_path(self, path: str) -> str:
        split = urlsplit(path)
        what, target = self.site.locate(split.path)
        self._what = what
        if target is None:
            return str(self.site.reports / "\0missing")  # never exists: 404
        suffix = "/" if split.path.endswith("/") and what != "dbt docs" else ""
        return str(target) + suffix

    def send_head(self):
        path = urlsplit(self.path).path
        if path in ("", "/") and not (self.site.reports / "index.html").exists():
            return self._landing()
        return super().send_head()

    def send_error(self, code, message=None, explain=None):
        what = getattr(self, "_what", None)
        if code == HTTPStatus.NOT_FOUND and what in HOW_TO_BUILD:
            explain = f"Not built yet? {what}: {HOW_TO_BUILD[what]}"
        super().send_error(code, message, explain)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")  # a rebuilt report is seen at once
        super().end_headers()

    def list_directory(self, path):  # the folders are not for browsing
        self.send_error(HTTPStatus.NOT_FOUND, "No index.html here")
        return None

    def _landing(self):
        """`/` before any report was written: the three links and how to build them."""
        rows = []
        for name, url, source in self.site.entries():
            state = "ready" if source.exists() else f"not built yet: {HOW_TO_BUILD[name]}"
            rows.append(
                f'<li><a href="{url}">{html.escape(name)}</a> ({html.escape(str(source))}): '
                f"{html.escape(state)}</li>"
            )
        body = (
            "<!doctype html><meta charset='utf-8'><title>umkm docs</title>"
            "<h1>umkm: report, dbt docs, Data Docs</h1><ul>" + "".join(rows) + "</ul>"
        ).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return BytesIO(body)

    def log_message(self, format, *args):
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def make_server(host: str, port: int, site: Site | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), partial(Handler, site=site or Site()))
    server.daemon_threads = True
    return server


def _display_host(host: str) -> str:
    every = ("", "0.0.0.0", "::")  # noqa: S104 - names, not a binding
    return settings.DEFAULT_SERVE_HOST if host in every else host


def urls(server: ThreadingHTTPServer, site: Site) -> list[str]:
    host, port = server.server_address[:2]
    base = f"http://{_display_host(str(host))}:{port}"
    lines = [f"Serving on {base}/ (Ctrl-C stops it)"]
    for name, path, source in site.entries():
        note = "" if source.exists() else f"  [not built yet: {HOW_TO_BUILD[name]}]"
        lines.append(f"  {name + ':':<11} {base}{path}  ({source}){note}")
    if settings.docs_base_url() != base:
        lines.append(
            f"Alerts link to {settings.docs_base_url()}: set UMKM_DOCS_BASE_URL={base} "
            "to point them here"
        )
    return lines


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C (even when started with SIGINT ignored, as `cmd &` does) and SIGTERM stop it."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)


def serve(
    host: str = settings.DEFAULT_SERVE_HOST,
    port: int = settings.DEFAULT_SERVE_PORT,
    reports: Path | None = None,
) -> int:
    """Serve until Ctrl-C. 0 when stopped, 3 when the port cannot be had."""
    site = Site(reports)
    try:
        server = make_server(host, port, site)
    except OSError as exc:
        reason = "in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        print(f"error: cannot listen on {host}:{port} ({reason}); try --port", file=sys.stderr)
        return 3
    for line in urls(server, site):
        print(line, flush=True)
    _stop_on_signals()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.server_close()
    return 0

"""Source connections: base URL and credentials for `umkm_<source_id>`.

The contract puts each source's base URL and credentials in an Airflow connection named
`umkm_<source_id>` (`login`/`password` for client credentials, `extra` JSON for keys). This
module reads them the same way inside and outside Airflow:

1. the environment variable `AIRFLOW_CONN_<CONN_ID>` (URI or JSON form, as Airflow accepts);
2. the file named by `UMKM_CONNECTIONS_FILE` (lines `AIRFLOW_CONN_<CONN_ID>=...`, as the feed
   simulator writes with `--env-out`; docker-compose shares it between containers);
3. otherwise, when running under Airflow, Airflow's own lookup (metadata DB, secrets backend).

Connection values are secrets: never log a `SourceConnection`; log `base_url` only.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


class ConnectionNotConfigured(LookupError):
    """No connection with that id; the message says which variable to set."""


@dataclass(frozen=True)
class SourceConnection:
    conn_id: str
    base_url: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never leak credentials into logs
        return f"SourceConnection(conn_id={self.conn_id!r}, base_url={self.base_url!r})"


def parse_uri(conn_id: str, uri: str) -> SourceConnection:
    """Parse Airflow's connection URI form: scheme://login:password@host:port/path?extra."""
    parts = urlsplit(uri)
    scheme = parts.scheme.replace("_", "-") or "http"
    if scheme not in ("http", "https"):
        scheme = "http"
    host = parts.hostname or "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    extra: dict[str, Any]
    extra = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    return SourceConnection(
        conn_id=conn_id,
        base_url=f"{scheme}://{host}{port}{path}",
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        extra=extra,
    )


def parse_json(conn_id: str, text: str) -> SourceConnection:
    """Parse Airflow's JSON connection form."""
    doc = json.loads(text)
    extra = doc.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    host = doc.get("host") or "127.0.0.1"
    if "://" in host:
        base = host.rstrip("/")
    else:
        scheme = doc.get("schema") if doc.get("schema") in ("http", "https") else "http"
        port = f":{doc['port']}" if doc.get("port") else ""
        base = f"{scheme}://{host}{port}"
    return SourceConnection(conn_id, base, doc.get("login"), doc.get("password"), extra)


def from_env(conn_id: str, environ: dict[str, str] | None = None) -> SourceConnection | None:
    environ = os.environ if environ is None else environ
    value = environ.get(f"AIRFLOW_CONN_{conn_id.upper()}", "").strip()
    if not value:
        return None
    if value.startswith("{"):
        return parse_json(conn_id, value)
    return parse_uri(conn_id, value)


def from_file(conn_id: str) -> SourceConnection | None:
    path = os.environ.get("UMKM_CONNECTIONS_FILE", "").strip()
    if not path or not os.path.exists(path):
        return None
    entries = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip().removeprefix("export ")
            if line.startswith("AIRFLOW_CONN_") and "=" in line:
                key, value = line.split("=", 1)
                entries[key] = value.strip().strip("'\"")
    return from_env(conn_id, entries)


def _from_airflow(conn_id: str) -> SourceConnection | None:
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # not under Airflow
        return None
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - Airflow raises several kinds for "not found"
        return None
    host = conn.host or "127.0.0.1"
    if "://" in host:
        base = host.rstrip("/")
    else:
        scheme = conn.schema if conn.schema in ("http", "https") else "http"
        base = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    return SourceConnection(conn_id, base, conn.login, conn.password, conn.extra_dejson or {})


#: Set to 1 to allow credentials over plain http to a host that is not loopback (a private
#: network only: docker-compose sets it for its simulator service).
ALLOW_PLAIN_HTTP_ENV = "UMKM_ALLOW_PLAIN_HTTP"


class InsecureConnection(ConnectionNotConfigured):
    """Credentials would travel over plain http to another machine; the message says how
    to fix it."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(conn: SourceConnection) -> None:
    """Refuse credentials over plain http except to loopback (or with UMKM_ALLOW_PLAIN_HTTP)."""
    parts = urlsplit(conn.base_url)
    has_credentials = bool(conn.login or conn.password or conn.extra)
    if parts.scheme != "http" or not has_credentials or _loopback(parts.hostname or ""):
        return
    if os.environ.get(ALLOW_PLAIN_HTTP_ENV, "").strip() == "1":
        return
    raise InsecureConnection(
        f"connection {conn.conn_id!r} would send its credentials over plain http to "
        f"{parts.hostname}: use https in AIRFLOW_CONN_{conn.conn_id.upper()}, or set "
        f"{ALLOW_PLAIN_HTTP_ENV}=1 on a private network"
    )


def get_connection(conn_id: str) -> SourceConnection:
    conn = from_env(conn_id) or from_file(conn_id) or _from_airflow(conn_id)
    if conn is None:
        raise ConnectionNotConfigured(
            f"connection {conn_id!r} is not configured: set AIRFLOW_CONN_{conn_id.upper()} "
            "(e.g. https://login:password@host:port) or add it in Airflow"
        )
    return conn

"""Which warehouse, and how to connect to it.

One setting names the warehouse: `WAREHOUSE_URL`. Airflow sees it as the connection
`umkm_warehouse` (`AIRFLOW_CONN_UMKM_WAREHOUSE`), dbt through `env_var()` in the committed
`profiles.yml` (see `dbt_env`). When neither is set, the embedded PostgreSQL is used; its
URL carries the superuser's password (scram-sha-256 on every connection, `embedded`), so
callers connect to either the same way. Print URLs through `redact`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from umkm import settings


@dataclass(frozen=True)
class WarehouseParts:
    host: str
    port: int
    user: str
    password: str
    dbname: str


def normalise_url(url: str) -> str:
    """Airflow writes `postgres://`; psycopg and psql accept `postgresql://`."""
    for prefix in ("postgres://", "postgresql+psycopg://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def warehouse_url(start_embedded: bool = True) -> str:
    """The warehouse URL: `WAREHOUSE_URL`, the `umkm_warehouse` connection, or embedded."""
    configured = (
        settings.configured_warehouse_url()
        or os.environ.get("AIRFLOW_CONN_UMKM_WAREHOUSE", "").strip()
    )
    if configured:
        return normalise_url(configured)
    from umkm.warehouse import embedded

    if start_embedded:
        embedded.start()
    return embedded.url()


def parse_url(url: str) -> WarehouseParts:
    parts = urlsplit(normalise_url(url))
    return WarehouseParts(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or os.environ.get("USER", "postgres")),
        password=unquote(parts.password or ""),
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
    )


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(normalise_url(url))
    return parts._replace(path="/" + dbname).geturl()


def connect(url: str | None = None, **kwargs):
    """A psycopg 3 connection to the warehouse."""
    import psycopg

    kwargs.setdefault("connect_timeout", 10)
    kwargs.setdefault("application_name", "umkm")
    return psycopg.connect(url or warehouse_url(), **kwargs)


def dbt_env(url: str) -> dict[str, str]:
    """Environment variables read by `dbt_project/profiles.yml` for this warehouse."""
    p = parse_url(url)
    return {
        "WAREHOUSE_HOST": p.host,
        "WAREHOUSE_PORT": str(p.port),
        "WAREHOUSE_USER": p.user,
        "WAREHOUSE_PASSWORD": p.password,
        "WAREHOUSE_DB": p.dbname,
    }


def without_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password or None): for a command line, with the
    password passed in the environment (PGPASSWORD)."""
    parts = urlsplit(normalise_url(url))
    if not parts.password:
        return parts.geturl(), None
    netloc = parts.netloc.replace(":" + parts.password + "@", "@")
    return parts._replace(netloc=netloc).geturl(), unquote(parts.password)


def redact(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    parts = urlsplit(normalise_url(url))
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return parts.geturl()

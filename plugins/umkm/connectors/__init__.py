"""Connectors: one per protocol family of `../shared/feeds/CONTRACT.md`.

`make_connector(source, conn, snapshot, client, since)` picks the class from the registry
entry's `protocol`; nothing here knows a particular source.
"""

from __future__ import annotations

from datetime import date, datetime

from umkm.connections import SourceConnection
from umkm.connectors.apikey_offset import ApiKeyOffsetConnector
from umkm.connectors.base import Connector, Page, Reject
from umkm.connectors.ckan import CkanConnector
from umkm.connectors.file_drop import FileDropConnector
from umkm.connectors.http import HttpClient, HttpStats, RetryPolicy
from umkm.connectors.oauth_cursor import OAuthCursorConnector
from umkm.connectors.reference_csv import ReferenceCsvConnector
from umkm.connectors.signed_page import SignedPageConnector
from umkm.connectors.summary import SummaryConnector
from umkm.connectors.xlsx import XlsxConnector
from umkm.sources import Source

CONNECTORS: dict[str, type[Connector]] = {
    "oauth-cursor": OAuthCursorConnector,
    "signed-page": SignedPageConnector,
    "apikey-offset": ApiKeyOffsetConnector,
    "file-drop": FileDropConnector,
    "ckan": CkanConnector,
    "xlsx": XlsxConnector,
    "summary": SummaryConnector,
    "reference-csv": ReferenceCsvConnector,
}


def make_connector(
    source: Source,
    conn: SourceConnection,
    snapshot: date,
    client: HttpClient,
    since: datetime | None = None,
) -> Connector:
    """The connector for `source`'s protocol."""
    try:
        cls = CONNECTORS[source.protocol]
    except KeyError:
        raise ValueError(f"source {source.source_id}: no connector for {source.protocol}") from None
    return cls(source, conn, snapshot, client, since)


__all__ = [
    "CONNECTORS",
    "Connector",
    "HttpClient",
    "HttpStats",
    "Page",
    "Reject",
    "RetryPolicy",
    "make_connector",
]

"""apikey-offset (bukalapak, blibli): `X-Api-Key`, offset pagination up to `meta.total`.

A page may hold fewer records than the limit without being the last, so the next offset is
the current one plus the records *received*; the pull ends when the offset reaches
`meta.total`. An empty page before that is a contract violation (it would loop forever or
silently lose records), reported as an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from umkm.connectors.base import Connector, JsonRecords, Page, page_of
from umkm.connectors.errors import NoData, ProtocolViolation, SourceRequestError
from umkm.connectors.http import Request

DATA_PATH = "/api/stores"


class _Meta(msgspec.Struct):
    total: int


class _Page(msgspec.Struct):
    stores: list[msgspec.Raw]
    meta: _Meta


class _Message(msgspec.Struct):
    message: str = ""


class ApiKeyOffsetConnector(Connector):
    max_page_size = 2000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_key = str((self.conn.extra or {}).get("api_key") or self.conn.password or "")
        if not self.api_key:
            raise self.fail(
                SourceRequestError,
                DATA_PATH,
                "the connection has no api_key",
                f"set extra.api_key in AIRFLOW_CONN_{self.source.conn_id.upper()}",
            )
        self._records = JsonRecords(self.source.id_field)
        self._decode_page = msgspec.json.Decoder(_Page).decode

    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        offset = int(state.get("offset", 0))
        headers = {"X-Api-Key": self.api_key}
        while True:
            params: dict[str, Any] = {
                "snapshot": self.snapshot_text,
                "offset": offset,
                "limit": self.page_size,
            }
            if self.since_text:
                params["updated_since"] = self.since_text
            answer = self.client.fetch(
                Request("GET", DATA_PATH, params=params, headers=headers, accept=frozenset({404})),
                parse=self._decode_page,
            )
            if answer.status == 404:
                try:
                    message = msgspec.json.decode(answer.body, type=_Message).message
                except (msgspec.DecodeError, ValueError):
                    message = ""
                if message == "no export for snapshot" and offset == 0:
                    raise NoData(DATA_PATH, message)
                raise self.fail(
                    SourceRequestError,
                    DATA_PATH,
                    f"HTTP 404 {answer.body[:200]!r}",
                    "check the connection's base URL",
                )
            page: _Page = answer.parsed
            total = page.meta.total
            if not page.stores and offset < total:
                raise self.fail(
                    ProtocolViolation,
                    DATA_PATH,
                    f"empty page at offset {offset} although meta.total is {total}",
                    "the source's export is inconsistent; report it and retry the load later",
                )
            rows, rejects = self._records.split(page.stores)
            offset += len(page.stores)
            done = offset >= total
            yield page_of(rows, rejects, {"offset": offset}, done=done)
            if done:
                return

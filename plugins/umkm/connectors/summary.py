"""summary (kominfo): one published-counts document per date, landed whole.

`GET <path>?tanggal=D`; `404` = no figures published for D. One raw row per snapshot:
`record_id` is the document's `tanggal`, the record is the document as delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from umkm.connectors.base import Connector, Page, Reject, page_of, record_id_text
from umkm.connectors.errors import NoData
from umkm.connectors.http import Request


class _Doc(msgspec.Struct):
    tanggal: Any = None


class SummaryConnector(Connector):
    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        path = str(self.source.options.get("path", "/api/umkm-go-online/ringkasan"))
        answer = self.client.fetch(
            Request("GET", path, params={"tanggal": self.snapshot_text}, accept=frozenset({404})),
            parse=msgspec.json.Decoder(_Doc).decode,
        )
        if answer.status == 404:
            raise NoData(path, "no summary published for this date")
        rid = record_id_text(answer.parsed.tanggal)
        done_state = {"done": True}
        if rid is None or b"\\u0000" in answer.body:
            text = answer.body.decode("utf-8", "replace")
            reject = Reject(0, None, text, "the document has no usable 'tanggal'")
            yield page_of([], [reject], done_state, done=True)
            return
        yield page_of([(0, rid, answer.body)], [], done_state, done=True)

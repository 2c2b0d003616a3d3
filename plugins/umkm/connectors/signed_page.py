"""signed-page (shopee): HMAC-signed requests, page numbers, `has_more` ends the pull.

Every attempt is signed afresh: `sign = hex(HMAC-SHA256(partner_key,
f"{partner_id}{path}{timestamp}"))`. A `403 {"error": "invalid_sign"}` (timestamp more than
`max_clock_skew_s` from the server's clock) is the only retryable 403: the connector learns
the server's clock from the answer's `Date` header and signs again.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from umkm.connectors.base import Connector, JsonRecords, Page, page_of
from umkm.connectors.errors import NoData, SourceRequestError
from umkm.connectors.http import Answer, Request
from umkm.connectors.oauth_cursor import _error_code


class _Response(msgspec.Struct):
    merchants: list[msgspec.Raw]
    has_more: bool
    total: int | None = None


class _Page(msgspec.Struct):
    response: _Response
    error: str = ""


class SignedPageConnector(Connector):
    max_page_size = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = str(self.source.options.get("path", "/api/v2/merchants"))
        extra = self.conn.extra or {}
        self.partner_id = str(extra.get("partner_id", "") or "")
        self.partner_key = str(extra.get("partner_key", "") or "")
        if not self.partner_id or not self.partner_key:
            raise self.fail(
                SourceRequestError,
                self.path,
                "the connection lacks partner_id/partner_key",
                f"set them in the extra of AIRFLOW_CONN_{self.source.conn_id.upper()}",
            )
        self.clock_offset = 0.0  # server clock - local clock, learnt from invalid_sign
        self._records = JsonRecords(self.source.id_field)
        self._decode_page = msgspec.json.Decoder(_Page).decode

    def sign(self, timestamp: int) -> str:
        message = f"{self.partner_id}{self.path}{timestamp}".encode()
        return hmac.new(self.partner_key.encode(), message, hashlib.sha256).hexdigest()

    def _params(self, page: int) -> dict[str, Any]:
        timestamp = int(time.time() + self.clock_offset)
        return {
            "snapshot": self.snapshot_text,
            "page": page,
            "page_size": self.page_size,
            "partner_id": self.partner_id,
            "timestamp": timestamp,
            "sign": self.sign(timestamp),
        }

    def _on_error(self, answer: Answer) -> bool:
        if answer.status != 403 or _error_code(answer.body) != "invalid_sign":
            return False
        server_date = answer.headers.get("Date")
        if server_date:
            try:
                server = email.utils.parsedate_to_datetime(server_date).timestamp()
                self.clock_offset = server - time.time()
            except (TypeError, ValueError):
                pass
        return True  # sign again (the retry policy caps how often)

    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        number = int(state.get("page", 1))
        while True:
            answer = self.client.fetch(
                Request(
                    "GET",
                    self.path,
                    params=lambda n=number: self._params(n),
                    accept=frozenset({404}),
                ),
                parse=self._decode_page,
                on_error=self._on_error,
            )
            if answer.status == 404:
                if _error_code(answer.body) == "snapshot_not_found" and number == 1:
                    raise NoData(self.path, "snapshot_not_found")
                raise self.fail(
                    SourceRequestError,
                    self.path,
                    f"HTTP 404 {answer.body[:200]!r}",
                    "check the connection's base URL and options.path",
                )
            body: _Page = answer.parsed
            rows, rejects = self._records.split(body.response.merchants)
            number += 1
            done = not body.response.has_more
            yield page_of(rows, rejects, {"page": number}, done=done)
            if done:
                return

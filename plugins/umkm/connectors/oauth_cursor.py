"""oauth-cursor (tokopedia, lazada): client-credentials token, cursor pagination.

`POST /oauth/token` (HTTP Basic, `grant_type=client_credentials`) gives a bearer token; a
`401` on a data request means the token expired: fetch a new one and repeat the request.
`GET /v1/merchants?snapshot=D&limit=N[&cursor=C][&updated_since=TS]` answers
`{"data": [...], "next_cursor": "..." | null}`; only `null` ends the pull. The cursor is the
resume state (valid for at least an hour per the contract).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import msgspec

from umkm.connectors.base import Connector, JsonRecords, Page, page_of
from umkm.connectors.errors import NoData, ProtocolViolation, SourceRequestError
from umkm.connectors.http import Answer, Request

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
DATA_PATH = "/v1/merchants"


class _Token(msgspec.Struct):
    access_token: str
    expires_in: float | None = None


class _Page(msgspec.Struct):
    data: list[msgspec.Raw]
    next_cursor: str | msgspec.UnsetType | None = msgspec.UNSET


class _Error(msgspec.Struct):
    error: str = ""


def _error_code(body: bytes) -> str:
    try:
        return msgspec.json.decode(body, type=_Error).error
    except (msgspec.DecodeError, ValueError):
        return ""


class OAuthCursorConnector(Connector):
    max_page_size = 5000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: str | None = None
        self._token_expires = 0.0
        self._records = JsonRecords(self.source.id_field)
        self._decode_page = msgspec.json.Decoder(_Page).decode

    # -- token ----------------------------------------------------------------------------
    def _fetch_token(self) -> None:
        if not self.conn.login or self.conn.password is None:
            raise self.fail(
                SourceRequestError,
                TOKEN_PATH,
                "the connection has no client credentials",
                f"set login:password in AIRFLOW_CONN_{self.source.conn_id.upper()}",
            )
        answer = self.client.fetch(
            Request(
                "POST",
                TOKEN_PATH,
                data={"grant_type": "client_credentials"},
                auth=(self.conn.login, self.conn.password),
            ),
            parse=msgspec.json.Decoder(_Token).decode,
        )
        token: _Token = answer.parsed
        self._token = token.access_token
        lifetime = token.expires_in if token.expires_in and token.expires_in > 0 else 3600.0
        # renew a little early; a 401 mid-pull is still handled
        self._token_expires = time.monotonic() + max(1.0, lifetime * 0.9)

    def _headers(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._token_expires:
            self._fetch_token()
        return {"Authorization": f"Bearer {self._token}"}

    def _on_error(self, answer: Answer) -> bool:
        if answer.status == 401:
            self._token = None  # the next attempt fetches a new one
            return True
        return False

    # -- pages ----------------------------------------------------------------------------
    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        cursor: str | None = state.get("cursor")
        first = "cursor" not in state
        while True:
            params: dict[str, Any] = {"snapshot": self.snapshot_text, "limit": self.page_size}
            if cursor is not None:
                params["cursor"] = cursor
            if self.since_text:
                params["updated_since"] = self.since_text
            answer = self.client.fetch(
                Request(
                    "GET", DATA_PATH, params=params, headers=self._headers, accept=frozenset({404})
                ),
                parse=self._decode_page,
                on_error=self._on_error,
            )
            if answer.status == 404:
                code = _error_code(answer.body)
                if code == "snapshot_not_found" and first:
                    raise NoData(DATA_PATH, "snapshot_not_found")
                raise self.fail(
                    SourceRequestError,
                    DATA_PATH,
                    f"HTTP 404 {answer.body[:200]!r}",
                    "a 404 mid-pull means the cursor or snapshot vanished: discard the batch "
                    "and load the snapshot again"
                    if not first
                    else "check the connection's base URL",
                )
            page: _Page = answer.parsed
            if page.next_cursor is msgspec.UNSET:
                raise self.fail(
                    ProtocolViolation,
                    DATA_PATH,
                    "the answer has no next_cursor field",
                    "the source does not follow the oauth-cursor contract; report it",
                )
            rows, rejects = self._records.split(page.data)
            cursor = page.next_cursor
            first = False
            done = cursor is None
            yield page_of(rows, rejects, {"cursor": cursor}, done=done)
            if done:
                return

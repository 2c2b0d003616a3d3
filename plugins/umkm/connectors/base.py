"""What every connector shares: the page it yields, the resume state, record splitting.

A connector turns one source's feed for one snapshot into a sequence of `Page`s. Each page
carries its records (id + the record as delivered, as JSON bytes), the records that cannot be
parsed at all (raw text + reason, for the quarantine), and the *state* to resume from after
it: a small JSON-able dict (a cursor, a page number, an offset, a file and row). The loader
commits a page's rows together with that state, so a killed pull resumes exactly after the
last committed page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from umkm.connections import SourceConnection
from umkm.connectors.http import HttpClient
from umkm.sources import Source

#: Below this many inflated bytes a file's compression ratio is not checked against
#: limits.max_inflation_ratio: small files compress unevenly.
RATIO_FLOOR_BYTES = 1 << 24

#: (index within the page, record_id, record as JSON bytes)
Row = tuple[int, str, bytes]


@dataclass(frozen=True)
class Reject:
    """A delivered item that cannot be parsed at all: it goes to the quarantine."""

    index: int  # within the page
    record_id: str | None
    raw_text: str
    reason: str


@dataclass
class Page:
    """One unit of work: parsed rows, rejects, and where to resume after it."""

    rows: list[Row]
    rejects: list[Reject]
    size: int  # items delivered in this page = len(rows) + len(rejects)
    state: dict[str, Any]
    done: bool = False
    notes: list[str] = field(default_factory=list)


def page_of(
    rows: list[Row],
    rejects: list[Reject],
    state: dict[str, Any],
    *,
    done: bool = False,
) -> Page:
    return Page(rows, rejects, len(rows) + len(rejects), state, done)


def record_id_text(value: Any) -> str | None:
    """Ids are strings; a numeric id delivered as a JSON number becomes its integer text."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


class JsonRecords:
    """Splits a page's raw JSON records into rows and rejects without re-encoding them.

    Each record is kept byte for byte as delivered; only its id is decoded.
    """

    def __init__(self, id_field: str) -> None:
        self.id_field = id_field
        struct = msgspec.defstruct("Rec", [("rid", Any, None)], rename={"rid": id_field})
        self._decode = msgspec.json.Decoder(struct).decode

    def split(self, raws: list[msgspec.Raw], start: int = 0) -> tuple[list[Row], list[Reject]]:
        rows: list[Row] = []
        rejects: list[Reject] = []
        decode = self._decode
        for index, raw in enumerate(raws, start):
            body = bytes(raw)
            try:
                rec = decode(body)
            except msgspec.DecodeError as exc:
                rejects.append(Reject(index, None, _text(body), f"not a JSON object: {exc}"))
                continue
            rid = rec.rid
            rid = rid if type(rid) is str and rid else record_id_text(rid)
            if rid is None:
                reason = f"missing or invalid id field {self.id_field!r}"
                rejects.append(Reject(index, None, _text(body), reason))
                continue
            if b"\\u0000" in body:
                reason = "contains \\u0000, which PostgreSQL jsonb cannot store"
                rejects.append(Reject(index, rid, _text(body), reason))
                continue
            rows.append((index, rid, body))
        return rows, rejects


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace").replace("\x00", "\\u0000")


class Connector:
    """Base class: one instance pulls one snapshot of one source."""

    #: the protocol's maximum page size (`limit`/`page_size` above it is answered 400)
    max_page_size: int = 0
    #: rows per page for file-like protocols (one COPY + checkpoint each)
    chunk_rows: int = 20_000

    def __init__(
        self,
        source: Source,
        conn: SourceConnection,
        snapshot: date,
        client: HttpClient,
        since: datetime | None = None,
    ) -> None:
        self.source = source
        self.conn = conn
        self.snapshot = snapshot
        self.client = client
        self.since = since

    @property
    def snapshot_text(self) -> str:
        return self.snapshot.isoformat()

    @property
    def page_size(self) -> int:
        """The registry's page size, never above the protocol's maximum."""
        size = self.source.page_size or self.max_page_size
        return max(1, min(int(size), self.max_page_size))

    @property
    def since_text(self) -> str | None:
        if self.since is None:
            return None
        return self.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        """Yield pages from `state` (empty = the start) to the protocol's end marker."""
        raise NotImplementedError

    def close(self) -> None:
        """Release temporary files (file-like protocols)."""

    def fail(self, cls: type, path: str, problem: str, hint: str) -> Exception:
        return self.client.fail(cls, path, problem, hint)

"""file-drop (blanja, mataharimall): a manifest and gzip-compressed CSV files.

`GET /exports/D/manifest.json` lists the files with their data-row count and the sha256 of
the `.gz` bytes. Each file is downloaded to disk, checked against both, and fetched again
when corrupt (at most `RetryPolicy.file_fetches` times, then the snapshot is not loaded).
Rows are then streamed from the checked file in chunks; the resume state is (file, row).
CSV per RFC 4180 with the registry's delimiter; LF or CRLF line ends both parse.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec

from umkm.connectors.base import RATIO_FLOOR_BYTES, Connector, Page, Reject, Row, page_of
from umkm.connectors.errors import CorruptFileError, LimitExceeded, NoData, ProtocolViolation
from umkm.connectors.files import Downloads
from umkm.connectors.http import Request

csv.field_size_limit(1 << 24)


class _File(msgspec.Struct):
    name: str
    rows: int
    sha256: str


class _Manifest(msgspec.Struct):
    files: list[_File]


#: A CSV line longer than this is refused before it is read whole (the csv module's own
#: field limit, checked only once a line is in memory).
MAX_LINE_BYTES = 1 << 24


class InflateLimit(Exception):
    """A gzip part expands past a bound: (limits key, what was seen, the limit)."""


class _Inflated(io.RawIOBase):
    """The inflated bytes of a gzip file, refused past `max_bytes`, past `max_ratio` times
    the compressed size, or with a line longer than MAX_LINE_BYTES: a bomb stops while it
    inflates, with memory bounded by the reads' buffers."""

    def __init__(self, path: Path, max_bytes: int, max_ratio: float) -> None:
        self._gz = gzip.open(path, "rb")  # noqa: SIM115 - closed by close()
        self._compressed = max(1, path.stat().st_size)
        self._max_bytes, self._max_ratio = max_bytes, max_ratio
        self.total = 0
        self._line = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._gz.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.total += n
        newline = data.rfind(b"\n")
        self._line = self._line + n if newline < 0 else n - newline - 1
        if self.total > self._max_bytes:
            raise InflateLimit("max_inflated_bytes", f"{self.total} bytes", self._max_bytes)
        ratio = self.total / self._compressed
        if self.total > RATIO_FLOOR_BYTES and ratio > self._max_ratio:
            raise InflateLimit("max_inflation_ratio", f"{ratio:.0f} times", self._max_ratio)
        if self._line > MAX_LINE_BYTES:
            raise InflateLimit("a line's length", f"{self._line} bytes", MAX_LINE_BYTES)
        return n

    def close(self) -> None:
        self._gz.close()
        super().close()


def _open_csv(path: Path, delimiter: str, max_bytes: int, max_ratio: float) -> Iterator[list[str]]:
    with _Inflated(path, max_bytes, max_ratio) as raw:
        buffered = io.BufferedReader(raw, 1 << 16)
        # surrogateescape: a row with bytes that are not UTF-8 is quarantined, not fatal
        text = io.TextIOWrapper(
            buffered, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        yield from csv.reader(text, delimiter=delimiter)


def _unparse(row: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(row)
    text = out.getvalue().encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "\\u0000")  # raw text is stored as PostgreSQL text


def row_problem(values: list[str], width: int, id_col: int, id_field: str) -> str | None:
    """Why a CSV row cannot be landed (it goes to the quarantine), or None when it can."""
    if len(values) != width:
        return f"{len(values)} fields, the header has {width}"
    if not values[id_col].strip():
        return f"empty id field {id_field!r}"
    for value in values:
        if "\x00" in value:
            return "contains a NUL character, which PostgreSQL jsonb cannot store"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid UTF-8"
    return None


class FileDropConnector(Connector):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delimiter = str(self.source.options.get("delimiter", ","))
        self.base = f"/exports/{self.snapshot_text}"
        self.downloads = Downloads()
        self._encode = msgspec.json.Encoder().encode

    def close(self) -> None:
        self.downloads.close()

    def _manifest(self, resuming: bool) -> _Manifest:
        path = f"{self.base}/manifest.json"
        answer = self.client.fetch(
            Request("GET", path, accept=frozenset({404})),
            parse=msgspec.json.Decoder(_Manifest).decode,
        )
        if answer.status == 404:
            if resuming:
                raise self.fail(
                    ProtocolViolation,
                    path,
                    "the manifest vanished while the snapshot was being loaded",
                    "discard the batch and load the snapshot again later",
                )
            raise NoData(path, "manifest not found")
        return answer.parsed

    def _rows(self, path: Path) -> Iterator[list[str]]:
        limits = self.source.limits
        return _open_csv(
            path, self.delimiter, limits.max_inflated_bytes, limits.max_inflation_ratio
        )

    def _count(self, path: Path) -> int:
        rows = self._rows(path)
        next(rows, None)  # header
        return sum(1 for row in rows if row)

    def _verified(self, entry: _File) -> Path:
        """Download `entry` until its sha256 and data-row count match the manifest."""
        if "/" in entry.name or entry.name in ("", ".", ".."):
            raise self.fail(
                ProtocolViolation,
                f"{self.base}/manifest.json",
                f"unsafe file name {entry.name!r}",
                "report the manifest to the partner",
            )
        path = f"{self.base}/{quote(entry.name)}"
        problem = ""
        for _attempt in range(max(1, self.client.policy.file_fetches)):
            answer, target = self.downloads.fetch(self.client, path, "current.csv.gz")
            if answer.sha256 != entry.sha256.lower():
                problem = f"sha256 {answer.sha256} differs from the manifest's {entry.sha256}"
            else:
                try:
                    counted = self._count(target)
                except InflateLimit as exc:
                    key, seen, limit = exc.args
                    raise self.fail(
                        LimitExceeded,
                        path,
                        f"the gzip part expands past limits.{key} ({seen}; the limit is "
                        f"{limit}): a compression bomb or a broken export",
                        "nothing of it was landed; if the export is real, raise the limit in "
                        "the source's registry entry, else report it to the partner",
                    ) from None
                except (OSError, EOFError, zlib.error, csv.Error) as exc:
                    problem = f"unreadable gzip/CSV ({exc})"
                except UnicodeDecodeError as exc:
                    raise self.fail(
                        ProtocolViolation,
                        path,
                        f"not UTF-8 text ({exc})",
                        "the partner must export UTF-8; report it",
                    ) from exc
                else:
                    if counted == entry.rows:
                        return target
                    problem = f"{counted} data rows, the manifest says {entry.rows}"
            self.client.stats.retries += 1
            self.client.stats.last_retry_reason = "corrupt file"
        raise self.fail(
            CorruptFileError,
            path,
            f"file stays corrupt after {self.client.policy.file_fetches} fetches: {problem}",
            "the snapshot was not loaded; ask the partner to re-export it, then load again",
        )

    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        manifest = self._manifest(resuming=bool(state))
        start_file = int(state.get("file", 0))
        skip = int(state.get("row", 0))
        id_field = self.source.id_field
        encode = self._encode
        for file_no in range(start_file, len(manifest.files)):
            target = self._verified(manifest.files[file_no])
            reader = self._rows(target)
            header = next(reader, None) or []
            width = len(header)
            try:
                id_col = header.index(id_field)
            except ValueError:
                raise self.fail(
                    ProtocolViolation,
                    f"{self.base}/{manifest.files[file_no].name}",
                    f"the header has no {id_field!r} column",
                    "report the export to the partner",
                ) from None
            row_no = 0
            rows: list[Row] = []
            rejects: list[Reject] = []
            index = 0
            for values in reader:
                if not values:
                    continue
                row_no += 1
                if row_no <= skip:
                    continue
                reason = row_problem(values, width, id_col, id_field)
                if reason:
                    rejects.append(Reject(index, None, _unparse(values, self.delimiter), reason))
                else:
                    rows.append(
                        (index, values[id_col], encode(dict(zip(header, values, strict=False))))
                    )
                index += 1
                if index >= self.chunk_rows:
                    yield page_of(rows, rejects, {"file": file_no, "row": row_no})
                    rows, rejects, index = [], [], 0
            if index:
                yield page_of(rows, rejects, {"file": file_no, "row": row_no})
            skip = 0
            self.downloads.remove(target)
        yield page_of([], [], {"file": len(manifest.files), "row": 0}, done=True)

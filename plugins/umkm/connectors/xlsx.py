"""xlsx (kemenperin): one workbook per training year, sheet `Peserta`.

The participants as of a snapshot are those in the files for `first_year` (2017) through
the snapshot's year; a `404` year is not published (skipped). No published year at all is
"no data". In each workbook, other sheets may come first; rows above `header_row` hold a
title and notes; data starts below the header; empty rows (trailing or not) are skipped.
Each row lands keyed by header, `No` (the record id) as its integer text. The resume state
is (year, row).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import msgspec

from umkm.connectors.base import RATIO_FLOOR_BYTES, Connector, Page, Reject, Row, page_of
from umkm.connectors.errors import CorruptFileError, LimitExceeded, NoData, ProtocolViolation
from umkm.connectors.files import Downloads


def _cell(value: Any) -> Any:
    """A cell as JSON: text stays text, numbers stay numbers, dates become ISO text."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return str(int(value.strip()))
    return None


def _empty(values: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


class XlsxConnector(Connector):
    chunk_rows = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.source.options
        self.path_template = str(options.get("path", "/esmart/peserta/{year}.xlsx"))
        self.sheet = str(options.get("sheet", "Peserta"))
        self.header_row = int(options.get("header_row", 4))
        self.first_year = int(options.get("first_year", 2017))
        self.downloads = Downloads()
        self._encode = msgspec.json.Encoder().encode

    def close(self) -> None:
        self.downloads.close()

    def _workbook(self, path: str, target: Path):  # -> openpyxl Workbook
        """The workbook, once its members' declared sizes are within the source's limits
        (a zip bomb is refused before anything inflates, and zipfile reads no member past
        its declared size; openpyxl parses the XML through defusedxml, which refuses entity
        expansion)."""
        import openpyxl

        limits = self.source.limits
        with zipfile.ZipFile(target) as archive:
            members = archive.infolist()
        inflated = sum(m.file_size for m in members)
        compressed = max(1, sum(m.compress_size for m in members))
        ratio = inflated / compressed
        bound = None
        if inflated > limits.max_inflated_bytes:
            bound = ("max_inflated_bytes", f"{inflated} bytes", limits.max_inflated_bytes)
        elif inflated > RATIO_FLOOR_BYTES and ratio > limits.max_inflation_ratio:
            bound = ("max_inflation_ratio", f"{ratio:.0f} times", limits.max_inflation_ratio)
        if bound is not None:
            key, seen, limit = bound
            raise self.fail(
                LimitExceeded,
                path,
                f"the workbook expands past limits.{key} ({seen}; the limit is {limit}): a "
                "zip bomb or a broken file",
                "nothing of it was landed; if the file is real, raise the limit in the "
                "source's registry entry, else report it to the publisher",
            )
        return openpyxl.load_workbook(target, read_only=True, data_only=True)

    def _fetch_year(self, year: int) -> Path | None:
        """The year's workbook on disk, or None when the year is not published (404)."""
        path = self.path_template.format(year=year)
        for _attempt in range(max(1, self.client.policy.file_fetches)):
            answer, target = self.downloads.fetch(
                self.client, path, f"{year}.xlsx", accept=frozenset({404})
            )
            if answer.status == 404:
                return None
            if zipfile.is_zipfile(target):
                return target
            self.client.stats.retries += 1  # cut short: a truncated zip; fetch it again
        raise self.fail(
            CorruptFileError,
            path,
            "the workbook is not a readable xlsx file",
            "the snapshot was not loaded; ask the publisher to fix the file, then load again",
        )

    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        last_year = self.snapshot.year
        year = int(state.get("year", self.first_year))
        skip = int(state.get("row", 0))
        published = int(state.get("published", 0))
        id_field = self.source.id_field
        encode = self._encode
        while year <= last_year:
            path = self.path_template.format(year=year)
            target = self._fetch_year(year)
            if target is None:
                year, skip = year + 1, 0
                continue
            published += 1
            workbook = self._workbook(path, target)
            try:
                if self.sheet not in workbook.sheetnames:
                    raise self.fail(
                        ProtocolViolation,
                        path,
                        f"no sheet {self.sheet!r} (sheets: {workbook.sheetnames})",
                        "report the file to the publisher",
                    )
                sheet = workbook[self.sheet]
                lines = sheet.iter_rows(min_row=self.header_row, values_only=True)
                header_cells = next(lines, ())
                header = [str(h).strip() if h is not None else "" for h in header_cells]
                if id_field not in header:
                    raise self.fail(
                        ProtocolViolation,
                        path,
                        f"row {self.header_row} has no {id_field!r} header (found {header})",
                        "report the file to the publisher",
                    )
                named = [(i, name) for i, name in enumerate(header) if name]
                id_col = header.index(id_field)
                rows: list[Row] = []
                rejects: list[Reject] = []
                index = row_no = 0
                for values in lines:
                    if _empty(values):
                        continue
                    row_no += 1
                    if row_no <= skip:
                        continue
                    cells = values + (None,) * (len(header) - len(values))
                    record = {name: _cell(cells[i]) for i, name in named}
                    rid = _id_text(cells[id_col])
                    if rid is None:
                        raw = msgspec.json.encode([_cell(v) for v in values]).decode()
                        rejects.append(Reject(index, None, raw, f"{id_field!r} is not a number"))
                    else:
                        record[id_field] = rid
                        rows.append((index, rid, encode(record)))
                    index += 1
                    if index >= self.chunk_rows:
                        state_now = {"year": year, "row": row_no, "published": published}
                        yield page_of(rows, rejects, state_now)
                        rows, rejects, index = [], [], 0
                if index:
                    yield page_of(
                        rows, rejects, {"year": year, "row": row_no, "published": published}
                    )
            finally:
                workbook.close()
            self.downloads.remove(target)
            year, skip = year + 1, 0
        if published == 0:
            raise NoData(
                self.path_template.format(year=last_year),
                f"no participant file published for {self.first_year}..{last_year}",
            )
        yield page_of([], [], {"year": year, "row": 0, "published": published}, done=True)

"""reference-csv (bps): region-code files without a header, one raw row per code.

Files are read in the registry's order (province, regency, district, village); provinces are
`code,name`, the others `code,parent_code,name`. Each row lands as `{"level", "code",
"parent_code", "name"}`. LF or CRLF line ends; RFC 4180 quoting. A `404` on a file means
the reference set is not published: no data (nothing is published from a partial set).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from umkm.connectors.base import Connector, Page, Reject, Row, page_of
from umkm.connectors.errors import NoData, ProtocolViolation
from umkm.connectors.files import Downloads

DEFAULT_FILES = {
    "province": "/wilayah/provinces.csv",
    "regency": "/wilayah/regencies.csv",
    "district": "/wilayah/districts.csv",
    "village": "/wilayah/villages.csv",
}


def _rows(path: Path) -> Iterator[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        yield from csv.reader(handle)


class ReferenceCsvConnector(Connector):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files = list((self.source.options.get("files") or DEFAULT_FILES).items())
        self.downloads = Downloads()
        self._encode = msgspec.json.Encoder().encode

    def close(self) -> None:
        self.downloads.close()

    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        start = int(state.get("file", 0))
        skip = int(state.get("row", 0))
        encode = self._encode
        for file_no in range(start, len(self.files)):
            level, path = self.files[file_no]
            answer, target = self.downloads.fetch(
                self.client, path, f"{level}.csv", accept=frozenset({404})
            )
            if answer.status == 404:
                raise NoData(path, f"{level} file not published")
            width = 2 if file_no == 0 and level == "province" else 3
            rows: list[Row] = []
            rejects: list[Reject] = []
            index = row_no = 0
            try:
                for values in _rows(target):
                    if not values:
                        continue
                    row_no += 1
                    if row_no <= skip:
                        continue
                    if len(values) != width or not values[0].strip():
                        text = ",".join(values)
                        reason = f"{len(values)} fields, expected {width} for {level}"
                        rejects.append(Reject(index, None, text, reason))
                    else:
                        code = values[0].strip()
                        parent = values[1].strip() if width == 3 else None
                        record = {
                            "level": level,
                            "code": code,
                            "parent_code": parent,
                            "name": values[-1],
                        }
                        rows.append((index, code, encode(record)))
                    index += 1
                    if index >= self.chunk_rows:
                        yield page_of(rows, rejects, {"file": file_no, "row": row_no})
                        rows, rejects, index = [], [], 0
            except UnicodeDecodeError as exc:
                raise self.fail(
                    ProtocolViolation,
                    path,
                    f"not UTF-8 text ({exc})",
                    "report the file to BPS / the mirror's owner",
                ) from exc
            if index:
                yield page_of(rows, rejects, {"file": file_no, "row": row_no})
            skip = 0
            self.downloads.remove(target)
        yield page_of([], [], {"file": len(self.files), "row": 0}, done=True)

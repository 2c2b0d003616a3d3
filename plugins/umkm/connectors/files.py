"""Downloading whole files (file-drop, xlsx, reference-csv) to disk, bounded in memory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from umkm.connectors.http import Answer, HttpClient, Request


class Downloads:
    """A private temporary folder for one pull's files; removed by `close()`."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="umkm-ingest-")
        self.root = Path(self._dir.name)

    def fetch(
        self, client: HttpClient, path: str, name: str, accept: frozenset[int] = frozenset()
    ) -> tuple[Answer, Path]:
        """GET `path` into the folder (retrying transient failures); returns the answer."""
        target = self.root / name
        with open(target, "wb") as handle:
            answer = client.fetch(Request("GET", path, accept=accept), to_file=handle)
        return answer, target

    def remove(self, target: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)

    def close(self) -> None:
        self._dir.cleanup()

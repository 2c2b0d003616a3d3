"""Errors raised by the connectors and the loader.

Every message names the source, the snapshot, the URL *path* (never the query string, which
may hold keys or signatures, and never a credential) and what to do about it.
"""

from __future__ import annotations


class IngestError(RuntimeError):
    """A non-transient failure of a pull or a load: the message says what to do."""

    def __init__(self, source_id: str, snapshot: str, path: str, problem: str, hint: str):
        self.source_id = source_id
        self.snapshot = snapshot
        self.path = path
        self.problem = problem
        self.hint = hint
        where = f" at {path}" if path else ""
        super().__init__(f"source {source_id} snapshot {snapshot}: {problem}{where}. {hint}")


class SourceRequestError(IngestError):
    """The source answered with a non-transient HTTP error (400, 401, 403, 404, ...)."""


class RetriesExhausted(IngestError):
    """A transient failure (429, 5xx, reset, cut body) persisted past the retry policy."""


class WarehouseUnavailable(IngestError):
    """The warehouse went away (restart, network) in the middle of a load. Transient: the
    batch and its checkpoint survive, and the next attempt resumes from the last page."""


class CorruptFileError(IngestError):
    """A file-drop file did not match its manifest (sha256 or row count) after refetching."""


class ProtocolViolation(IngestError):
    """The answer does not follow the feed contract (missing end marker, bad shape, ...)."""


class LimitExceeded(IngestError):
    """A pull went past one of its source's registry `limits` (pages, records, seconds, empty
    pages in a row). The batch and checkpoint are kept: raising the limit resumes the pull."""


class ReferenceNotLoaded(IngestError):
    """A source's checks need a reference (the BPS region codes) the warehouse does not hold
    yet: nothing is checked or quarantined, the landed batch waits for a rerun."""


class BatchStateError(IngestError):
    """The batch to publish or discard is not in the expected state."""


class NoData(Exception):
    """The source documented "no data for this snapshot" (recorded as `no_data`)."""

    def __init__(self, path: str, detail: str):
        self.path = path
        self.detail = detail
        super().__init__(f"no data at {path}: {detail}")

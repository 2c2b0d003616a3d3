"""`extract_load`: pull one snapshot of one source into its batch table, resumably.

Each page is committed with its checkpoint in one transaction, so a pull killed at any
moment resumes on the next attempt exactly after the last committed page: no record lost,
none landed twice. The attempt is recorded in `audit.loads` (`running` until `publish` or
`discard` closes it; `no_data` when the source documents it has nothing for the snapshot).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from umkm.connections import ConnectionNotConfigured, check_transport, get_connection
from umkm.connectors import HttpClient, HttpStats, RetryPolicy, make_connector
from umkm.connectors.errors import (
    BatchStateError,
    IngestError,
    LimitExceeded,
    NoData,
    ProtocolViolation,
    SourceRequestError,
    WarehouseUnavailable,
)
from umkm.loading import audit
from umkm.loading.batch import (
    batch_exists,
    count_batch,
    create_batch,
    drop_batch,
    fingerprint,
    land_page,
    raw_ident,
)
from umkm.loading.prefetch import Prefetch
from umkm.naming import parse_snapshot
from umkm.sources import Source, get_source
from umkm.warehouse import connect, warehouse_url

log = logging.getLogger("umkm.loading")

MODES = ("full", "incremental")
#: pages fetched ahead while the current page lands (loading/prefetch.py)
PREFETCH_PAGES = 1
#: how far before the high-water mark an incremental pull starts (late writes at the source)
DEFAULT_LAG = timedelta(minutes=10)


@dataclass
class LoadResult:
    """What one `extract_load` (and later `publish`) did."""

    source_id: str
    snapshot: str
    batch_id: str
    mode: str
    status: str  # loaded (in the batch table, awaiting publish) | no_data | success | failed
    rows_fetched: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    pages: int = 0
    retries: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Progress:
    """Handed to the `progress` callback after every committed page."""

    source_id: str
    snapshot: str
    pages: int
    records: int
    rejected: int
    retries: int
    elapsed_s: float
    done: bool = False
    last_retry: str = ""

    @property
    def rate(self) -> float:
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0


ProgressCallback = Callable[[Progress], None]


def new_batch_id(source_id: str, snapshot: date) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{source_id}-{snapshot:%Y%m%d}-{stamp}-{uuid.uuid4().hex[:8]}"


def lag_window(source: Source) -> timedelta:
    """The registry's `options.lag_minutes`, else `UMKM_INGEST_LAG_MINUTES`, else 10."""
    minutes = source.options.get("lag_minutes", os.environ.get("UMKM_INGEST_LAG_MINUTES"))
    return timedelta(minutes=float(minutes)) if minutes is not None else DEFAULT_LAG


#: how long a load, validation or publish waits for another writer of its source and
#: snapshot before it gives up (`UMKM_LOAD_LOCK_WAIT`, seconds; 0 = refuse at once)
DEFAULT_LOCK_WAIT = 900.0
LOCK_POLL_SECONDS = 1.0


def lock_wait() -> float:
    """Seconds to wait for the load lock: `UMKM_LOAD_LOCK_WAIT`, else 900."""
    value = os.environ.get("UMKM_LOAD_LOCK_WAIT", "").strip()
    return max(0.0, float(value)) if value else DEFAULT_LOCK_WAIT


def _load_lock_key(source_id: str, snapshot: date) -> str:
    """The advisory-lock key of a source and snapshot (hashed by the server)."""
    return f"umkm-ingest:{source_id}:{snapshot}"


def take_load_lock(db, source_id: str, snapshot: date, *, transaction: bool = False) -> None:
    """Take the load lock of a source and snapshot on `db`, waiting up to `lock_wait()` for
    another writer (another run's load, validation or publish of the same snapshot) to end;
    raises BatchStateError naming the wait when it does not.

    `transaction`: a transaction-level lock (publish), else a session lock that the caller
    releases. Polled rather than blocking, so the wait is bounded, logged once and named in
    the error.
    """
    key = _load_lock_key(source_id, snapshot)
    kind = "pg_try_advisory_xact_lock" if transaction else "pg_try_advisory_lock"
    query = f"select {kind}(hashtextextended(%s, 0))"
    wait = lock_wait()
    deadline = time.monotonic() + wait
    logged = False
    while not db.execute(query, (key,)).fetchone()[0]:
        if time.monotonic() >= deadline:
            raise BatchStateError(
                source_id,
                snapshot.isoformat(),
                "",
                f"another load or validation of this source and snapshot is running "
                f"(waited {wait:.0f} s, UMKM_LOAD_LOCK_WAIT)",
                "wait for it to finish (see audit.loads), then run again",
            )
        if not logged:
            log.info(
                "event=waiting_for_writer source=%s snapshot=%s wait_s=%.0f",
                source_id,
                snapshot,
                wait,
            )
            logged = True
        time.sleep(min(LOCK_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


@contextlib.contextmanager
def snapshot_lock(db, source_id: str, snapshot: date) -> Iterator[None]:
    """Hold the load lock of a source and snapshot on `db` (a session advisory lock; publish
    takes the same key per transaction) for the `with` block: one writer per source and
    snapshot, from the pull through validation to publish. Waits for another writer as
    `take_load_lock` does.

    Released explicitly at the end: left to the connection's close, the lock outlives the
    load by as long as the server takes to end the session, and a publish right after the
    load could find it still held (seen under load as "a load of this snapshot is running").
    """
    key = _load_lock_key(source_id, snapshot)
    take_load_lock(db, source_id, snapshot)
    try:
        yield
    finally:
        with contextlib.suppress(psycopg.Error):  # a broken session has released it already
            db.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def _incremental_since(db, source: Source, snapshot: date) -> datetime | None:
    """The lower bound of an incremental pull, or None when a full pull is needed.

    Incremental means: the snapshot = the latest published snapshot + the changes since its
    high-water mark. That needs a watermark and a published snapshot no later than this one
    that is the source's latest (going back in time needs a full pull).
    """
    high_water = audit.get_watermark(db, source.source_id)
    latest = db.execute(
        sql.SQL("select max(snapshot) from {}").format(raw_ident(source.source_id))
    ).fetchone()[0]
    if high_water is None or latest is None or latest > snapshot:
        return None
    return high_water - lag_window(source)


def extract_load(
    source_id: str,
    snapshot: str | date,
    *,
    mode: str = "full",
    url: str | None = None,
    progress: ProgressCallback | None = None,
    policy: RetryPolicy | None = None,
) -> LoadResult:
    """Pull `snapshot` of `source_id` into `raw.<source_id>__batch_<yyyymmdd>`.

    Resumes an interrupted batch from `audit.checkpoints`. Returns a `LoadResult` with status
    `loaded` (awaiting validation and `publish`) or `no_data`. Raises an `IngestError` (after
    marking the attempt `failed`) on a non-transient failure; the batch and checkpoint are
    kept so the next attempt resumes (call `discard` to start over).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    source = get_source(source_id)
    snap = parse_snapshot(snapshot)
    snap_text = snap.isoformat()
    policy = policy or RetryPolicy.from_options(source.options)
    if mode == "incremental" and not source.updated_since:
        log.warning(
            "event=mode_fallback source=%s snapshot=%s reason=%r",
            source_id,
            snap_text,
            "source has no updated_since: full pull",
        )
        mode = "full"

    for restarted in (False, True):
        result = _attempt(source, snap, mode, url, progress, policy, restarted)
        if result is not None:
            return result
    raise AssertionError("unreachable: a restarted attempt returns or raises")


def _attempt(source: Source, snap: date, mode: str, url, progress, policy, restarted: bool):
    """One attempt of extract_load: resumes the checkpoint's batch unless `restarted`.
    Returns None (after marking the attempt failed) when a resumed pull's first request is
    refused by the source (an expired cursor or offset, a 4xx): the caller starts over once."""
    source_id, snap_text = source.source_id, snap.isoformat()
    with connect(url or warehouse_url(), autocommit=True) as db, snapshot_lock(db, source_id, snap):
        checkpoint = audit.get_checkpoint(db, source_id, snap)
        resume = None if restarted else _resumable(db, source, snap, checkpoint, mode)
        if resume is not None and resume.done:
            return _finished_result(db, source_id, snap, resume)
        if resume is None:
            since = _incremental_since(db, source, snap) if mode == "incremental" else None
            if mode == "incremental" and since is None:
                log.info(
                    "event=mode_fallback source=%s snapshot=%s reason=%r",
                    source_id,
                    snap_text,
                    "no watermark or published base snapshot: full pull",
                )
                mode = "full"
            batch_id = new_batch_id(source_id, snap)
            position: dict[str, Any] = {
                "mode": mode,
                "since": since.isoformat() if since else None,
                "state": {},
                "done": False,
                "landed": 0,
                "rejected": 0,
                "pages": 0,
            }
            with db.transaction():
                if checkpoint is not None:
                    audit.fail_running(
                        db, source_id, snap, "superseded: its batch was discarded on restart"
                    )
                create_batch(db, source_id, snap, batch_id)
                audit.put_checkpoint(db, source_id, snap, batch_id, position, 0)
            fetched = 0
        else:
            batch_id, position, fetched = resume.batch_id, resume.position, resume.rows_fetched
            audit.fail_running(
                db, source_id, snap, "interrupted; resumed by a later attempt", batch_id
            )
            log.info(
                "event=resume source=%s snapshot=%s batch_id=%s rows_fetched=%d",
                source_id,
                snap_text,
                batch_id,
                fetched,
            )
        load_id = audit.start_attempt(db, source_id, snap, batch_id, mode)
        run = _Run(db, source, snap, batch_id, load_id, position, fetched, progress)
        try:
            return run.pull(policy)
        except NoData as exc:
            return run.no_data(exc)
        except SourceRequestError as exc:
            if resume is None or run.pages_committed > 0:
                with contextlib.suppress(psycopg.OperationalError):
                    run.failed(exc)
                raise
            # the source refused the saved position (e.g. a cursor past its hour): start
            # over from the first page, once; the partial batch is replaced
            log.warning(
                "event=resume_refused source=%s snapshot=%s batch_id=%s error=%r",
                source_id,
                snap_text,
                resume.batch_id,
                str(exc),
            )
            run.failed(
                SourceRequestError(
                    source_id,
                    snap_text,
                    exc.path,
                    f"the source refused to resume ({exc.problem})",
                    "started over from the first page",
                )
            )
            return None
        except BaseException as exc:
            error = exc
            if isinstance(exc, ConnectionNotConfigured):
                error = SourceRequestError(
                    source_id, snap_text, "", str(exc), "configure the connection"
                )
            elif isinstance(exc, psycopg.OperationalError):
                error = WarehouseUnavailable(
                    source_id,
                    snap_text,
                    "",
                    f"the warehouse connection failed while landing "
                    f"({type(exc).__name__}: {str(exc).strip()})",
                    "The batch and its checkpoint are kept: the next attempt resumes from "
                    "the last committed page once the warehouse is back",
                )
            # with the warehouse gone the attempt cannot be marked failed here; the next
            # attempt marks it 'interrupted; resumed by a later attempt'
            with contextlib.suppress(psycopg.OperationalError):
                run.failed(error)
            if error is not exc:
                raise error from exc
            raise


def _resumable(db, source: Source, snap: date, checkpoint, mode: str):
    """The checkpoint when its batch can be resumed as it is, else None."""
    if checkpoint is None:
        return None
    why = ""
    if checkpoint.position.get("mode") != mode:
        why = f"mode changed ({checkpoint.position.get('mode')} -> {mode})"
    elif not batch_exists(db, source.source_id, snap):
        why = "batch table missing"
    else:
        landed = count_batch(db, source.source_id, snap)
        expected = int(checkpoint.position.get("landed", -1))
        if landed != expected and not checkpoint.done:
            # e.g. an unlogged batch table emptied by a PostgreSQL crash
            why = f"batch table holds {landed} rows, checkpoint says {expected}"
    if why:
        log.warning(
            "event=restart source=%s snapshot=%s old_batch_id=%s reason=%r",
            source.source_id,
            snap,
            checkpoint.batch_id,
            why,
        )
        return None
    return checkpoint


def _finished_result(db, source_id: str, snap: date, checkpoint) -> LoadResult:
    """An already-extracted, unpublished batch: nothing to pull again."""
    position = checkpoint.position
    if audit.running_attempt(db, checkpoint.batch_id) is None:
        load_id = audit.start_attempt(db, source_id, snap, checkpoint.batch_id, position["mode"])
        audit.update_counts(
            db,
            load_id,
            rows_fetched=checkpoint.rows_fetched,
            rows_loaded=int(position["landed"]),
            rows_rejected=int(position["rejected"]),
            pages=int(position["pages"]),
            retries=0,
        )
        audit.set_fingerprint(db, load_id, fingerprint(db, source_id, snap, checkpoint.batch_id))
    return LoadResult(
        source_id,
        snap.isoformat(),
        checkpoint.batch_id,
        position["mode"],
        "loaded",
        checkpoint.rows_fetched,
        int(position["landed"]),
        int(position["rejected"]),
        int(position["pages"]),
        0,
    )


class _Run:
    """One attempt's state while pulling."""

    def __init__(self, db, source, snap, batch_id, load_id, position, fetched, progress):
        self.db = db
        self.source: Source = source
        self.snap: date = snap
        self.batch_id: str = batch_id
        self.load_id: int = load_id
        self.position: dict[str, Any] = dict(position)
        self.fetched: int = fetched
        self.progress = progress
        self.stats = HttpStats()
        self.started = time.monotonic()
        self.empty_in_row = 0
        self.pages_committed = 0  # in this attempt
        self.positions_seen: set[str] = set()  # resume states this attempt reached

    @property
    def mode(self) -> str:
        return str(self.position["mode"])

    def result(self, status: str, error: str | None = None) -> LoadResult:
        return LoadResult(
            self.source.source_id,
            self.snap.isoformat(),
            self.batch_id,
            self.mode,
            status,
            self.fetched,
            int(self.position["landed"]),
            int(self.position["rejected"]),
            int(self.position["pages"]),
            self.stats.retries,
            error,
        )

    def pull(self, policy: RetryPolicy) -> LoadResult:
        source, snap = self.source, self.snap
        conn = get_connection(source.conn_id)
        check_transport(conn)  # credentials over plain http only to loopback
        since_text = self.position.get("since")
        since = datetime.fromisoformat(since_text) if since_text else None
        with HttpClient(
            conn.base_url,
            source.source_id,
            snap.isoformat(),
            policy,
            self.stats,
            max_body_bytes=source.limits.max_response_bytes,
        ) as client:
            connector = make_connector(source, conn, snap, client, since)
            try:
                pages = connector.pages(dict(self.position.get("state") or {}))
                with Prefetch(pages, depth=PREFETCH_PAGES) as ahead:
                    for page in ahead:
                        self._within_limits(page)
                        self._commit(page)
                        if page.done:
                            break
            finally:
                connector.close()
        if not self.position["done"]:
            raise IngestError(
                source.source_id,
                snap.isoformat(),
                "",
                "the pull ended without the end marker",
                "report it: the connector stopped early",
            )
        # what was delivered, before validation moves anything: a rerun compares with it
        audit.set_fingerprint(
            self.db, self.load_id, fingerprint(self.db, source.source_id, snap, self.batch_id)
        )
        self._report(done=True)
        log.info(
            "event=extracted source=%s snapshot=%s batch_id=%s mode=%s rows_fetched=%d "
            "rows_loaded=%d rows_rejected=%d pages=%d retries=%d elapsed_s=%.1f",
            source.source_id,
            snap,
            self.batch_id,
            self.mode,
            self.fetched,
            self.position["landed"],
            self.position["rejected"],
            self.position["pages"],
            self.stats.retries,
            time.monotonic() - self.started,
        )
        return self.result("loaded")

    def _commit(self, page) -> None:
        position = self.position
        sid = self.source.source_id
        with self.db.transaction():
            landed = land_page(self.db, sid, self.snap, self.batch_id, page, self.fetched)
            self.fetched += page.size
            position["landed"] += landed
            position["rejected"] += page.size - landed
            position["pages"] += 1
            self.pages_committed += 1
            position["state"] = page.state
            position["done"] = page.done
            audit.put_checkpoint(self.db, sid, self.snap, self.batch_id, position, self.fetched)
            audit.update_counts(
                self.db,
                self.load_id,
                rows_fetched=self.fetched,
                rows_loaded=position["landed"],
                rows_rejected=position["rejected"],
                pages=position["pages"],
                retries=self.stats.retries,
            )
        self._report(done=False)

    def _within_limits(self, page) -> None:
        """Raise LimitExceeded when committing `page` would take the pull past a limit of the
        source's registry entry: the batch never holds more than the limits allow, and a
        rerun after raising one fetches that page again. Checked between pages: one request
        is bounded by the HTTP client's own timeouts."""
        limits = self.source.limits
        position = json.dumps(page.state, sort_keys=True, default=str)
        if not page.done and position in self.positions_seen:
            raise ProtocolViolation(
                self.source.source_id,
                self.snap.isoformat(),
                "",
                "the feed came back to a position it had already delivered (a cursor or "
                "offset that repeats): the pull would never end; the page is not kept",
                "report the feed to its owner",
            )
        self.positions_seen.add(position)
        self.empty_in_row = self.empty_in_row + 1 if page.size == 0 and not page.done else 0
        elapsed = time.monotonic() - self.started
        for key, value, limit, unit in (
            ("max_pages", int(self.position["pages"]) + 1, limits.max_pages, "pages"),
            ("max_records", self.fetched + page.size, limits.max_records, "records"),
            ("max_seconds", round(elapsed, 1), limits.max_seconds, "seconds"),
            ("max_empty_pages", self.empty_in_row, limits.max_empty_pages, "empty pages in a row"),
        ):
            if value > limit:
                raise LimitExceeded(
                    self.source.source_id,
                    self.snap.isoformat(),
                    "",
                    f"the next page takes the pull past limits.{key} ({value} {unit}; the limit "
                    f"is {limit}); it is not kept",
                    "If the source really is this large or slow, raise it in the source's "
                    "registry entry and run again (the pull resumes after the last page); "
                    "else report the feed to its owner",
                )

    def _report(self, done: bool) -> None:
        if self.progress is None:
            return
        self.progress(
            Progress(
                self.source.source_id,
                self.snap.isoformat(),
                int(self.position["pages"]),
                self.fetched,
                int(self.position["rejected"]),
                self.stats.retries,
                time.monotonic() - self.started,
                done,
                self.stats.last_retry_reason,
            )
        )

    def no_data(self, exc: NoData) -> LoadResult:
        sid = self.source.source_id
        detail = f"no data for snapshot {self.snap}: {exc.detail} ({exc.path})"
        with self.db.transaction():
            drop_batch(self.db, sid, self.snap)
            audit.clear_checkpoint(self.db, sid, self.snap, self.batch_id)
            audit.update_counts(
                self.db,
                self.load_id,
                rows_fetched=0,
                rows_loaded=0,
                rows_rejected=0,
                pages=0,
                retries=self.stats.retries,
            )
            audit.finish_attempt(self.db, self.load_id, "no_data", detail)
        log.warning(
            "event=no_data source=%s snapshot=%s path=%s detail=%r criticality=%s",
            sid,
            self.snap,
            exc.path,
            exc.detail,
            self.source.criticality,
        )
        result = self.result("no_data", detail)
        result.rows_fetched = result.rows_loaded = result.rows_rejected = 0
        return result

    def failed(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            message = f"interrupted ({type(exc).__name__}); the next attempt resumes"
        try:
            if self.db.info.transaction_status != 0:  # not idle: leave the broken transaction
                self.db.rollback()
            audit.finish_attempt(self.db, self.load_id, "failed", message)
        except Exception:
            log.exception("could not mark attempt %s failed", self.load_id)
        log.error(
            "event=failed source=%s snapshot=%s batch_id=%s error=%r",
            self.source.source_id,
            self.snap,
            self.batch_id,
            message,
        )

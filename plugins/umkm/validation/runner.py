"""`validate_batch`: validate a landed batch, quarantine bad rows, record, document, alert, gate.

Steps, in order (docs/VALIDATION.md):

1. run the source's GX suite in the database on the batch table
   `raw.<source_id>__batch_<yyyymmdd>` (or, from the CLI, on the published rows of the
   snapshot in `raw.<source_id>`);
2. move the rows failing row-level checks to `quarantine.<source_id>` (our own SQL: the full
   set, not GX's sample);
3. the gate: the share of failing rows against `MAX_QUARANTINE_RATE`;
4. store one row per expectation in `audit.validation_results`;
5. store the GX result and rebuild Data Docs under `<state>/data_docs`;
6. alert (one message per run) when anything failed;
7. raise `CriticalValidationError` when a critical expectation failed.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from psycopg import sql

from umkm.connectors.errors import BatchStateError, ReferenceNotLoaded
from umkm.loading import audit
from umkm.loading.extract import snapshot_lock
from umkm.naming import batch_ident, batch_table, parse_snapshot
from umkm.sources import get_source
from umkm.validation import gx_run, suites
from umkm.validation.quarantine import quarantine_rows
from umkm.warehouse import connect, warehouse_url

log = logging.getLogger("umkm.validation")

#: An upper bound meaning "no limit" for the volume bounds when they are skipped.
NO_LIMIT = 10**15


class CriticalValidationError(RuntimeError):
    """A critical expectation failed: the batch must not be published."""

    def __init__(self, message: str, outcome: ValidationOutcome | None = None):
        super().__init__(message)
        self.outcome = outcome


@dataclass
class ValidationOutcome:
    source_id: str
    snapshot: str
    batch_id: str
    run_id: str
    status: str  # passed | warning | failed | already_published (by another run)
    results: list[dict[str, Any]] = field(default_factory=list)
    rows_checked: int = 0
    rows_quarantined: int = 0
    data_docs_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["success"]]


def max_quarantine_rate() -> float:
    return float(os.environ.get("UMKM_VALIDATION_MAX_QUARANTINE_RATE", suites.MAX_QUARANTINE_RATE))


def _exists(conn, table: str) -> bool:
    return bool(conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0])


def _previous_volume(conn, source_id: str, snap: date) -> tuple[str | None, int | None]:
    """The latest published snapshot before `snap` and its row count."""
    raw = sql.Identifier("raw", source_id)
    prev = conn.execute(
        sql.SQL("select max(snapshot) from {} where snapshot < %s").format(raw), (snap,)
    ).fetchone()[0]
    if prev is None:
        return None, None
    count = conn.execute(
        sql.SQL("select count(*) from {} where snapshot = %s").format(raw), (prev,)
    ).fetchone()[0]
    return prev.isoformat(), int(count)


def volume_parameters(previous: int | None, incremental: bool) -> tuple[dict[str, int], str | None]:
    """Suite parameters for the volume checks, and why they are skipped (or None)."""
    if incremental:
        why = "skipped: incremental batch (changes only)"
    elif not previous:
        why = "skipped: no previous snapshot"
    else:
        why = None
    if why:
        bounds = {"warning": (0, NO_LIMIT), "critical": (0, NO_LIMIT)}
    else:
        assert previous is not None
        bounds = {
            "warning": (
                int(previous * suites.VOLUME_WARNING[0]),
                int(previous * suites.VOLUME_WARNING[1]) + 1,
            ),
            "critical": (
                int(previous * suites.VOLUME_CRITICAL[0]),
                int(previous * suites.VOLUME_CRITICAL[1]) + 1,
            ),
        }
    params = {}
    for level, (low, high) in bounds.items():
        params[f"volume_{level}_min"] = low
        params[f"volume_{level}_max"] = high
    return params, why


def _observed(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _results_from_gx(
    gx_result, checks: dict[str, suites.Check], params: dict[str, int], volume_note: str | None
) -> list[dict[str, Any]]:
    out = []
    for res in gx_result.results:
        meta = res.expectation_config.meta or {}
        name = meta.get("name") or res.expectation_config.type
        check = checks.get(name)
        info = res.result or {}
        observed_value = info.get("observed_value")
        expected = check.expected if check else ""
        unexpected: int | None = None
        error = (res.exception_info or {}).get("raised_exception")
        if check is not None and check.kind == "volume":
            low = params[check.params["min"]]
            high = params[check.params["max"]]
            expected = (
                f"{check.expected}: {volume_note}"
                if volume_note
                else f"{check.expected}: between {low} and {high} rows"
            )
        elif check is not None and check.kind in ("row", "duplicates", "query"):
            unexpected = int(observed_value) if observed_value is not None else None
        observed = _observed(observed_value)
        if error:
            message = str((res.exception_info or {}).get("exception_message", ""))[:300]
            observed = f"error: {message}"
        out.append(
            {
                "name": name,
                "severity": meta.get("severity", "critical"),
                "success": bool(res.success),
                "observed": observed,
                "expected": expected,
                "unexpected_count": unexpected,
            }
        )
    return out


def _record(conn, outcome: ValidationOutcome, snap: date) -> None:
    with conn.transaction():
        audit.insert_validation_results(
            conn, outcome.run_id, outcome.source_id, snap, outcome.batch_id, outcome.results
        )


def _status(results: list[dict[str, Any]]) -> str:
    failed = [r for r in results if not r["success"]]
    if any(r["severity"] == "critical" for r in failed):
        return "failed"
    return "warning" if failed else "passed"


def describe_failures(outcome: ValidationOutcome) -> list[str]:
    """One line per failed expectation: severity, name, observed against expected."""
    return [
        f"[{r['severity']}] {r['name']}: observed {r['observed'] or '-'}; expected {r['expected']}"
        for r in outcome.failed
    ]


#: The checks that read the BPS region reference (raw.bps): without it every city and every
#: regency code would fail them and a whole batch would look like bad data.
REFERENCE_CHECKS = ("region_resolves", "regency_code_known")


def require_reference(conn, source_id: str, snap: date, checks) -> None:
    """Raise ReferenceNotLoaded when `checks` read the region reference and raw.bps holds no
    regency: one line naming the reference to load, before anything is checked."""
    if not any(name in checks for name in REFERENCE_CHECKS):
        return
    loaded = conn.execute(
        "select exists (select 1 from raw.bps where record->>'level' = 'regency')"
    ).fetchone()[0]
    if not loaded:
        raise ReferenceNotLoaded(
            source_id,
            snap.isoformat(),
            "",
            "its checks need the BPS region codes, and raw.bps holds none: nothing was "
            "checked or quarantined, the landed batch is kept",
            f"load the reference first (umkm ingest bps --snapshot {snap.isoformat()}, or its "
            "DAG ingest_bps), then run this source again",
        )


def validate_batch(
    source_id: str,
    snapshot: str | date,
    batch_id: str,
    *,
    url: str | None = None,
    context: dict | None = None,
    published: bool = False,
    quarantine: bool = True,
    alert: bool = True,
) -> ValidationOutcome:
    """Validate a landed batch (or, with `published`, the published rows of the snapshot).

    Moves rows failing row-level checks to the quarantine (unless `quarantine` is False),
    records one row per expectation in `audit.validation_results`, builds Data Docs, alerts
    on warnings and failures, and raises `CriticalValidationError` on a critical failure.
    `context` is the Airflow task context (for the alert); inside a task it is found
    automatically.
    """
    source = get_source(source_id)
    snap = parse_snapshot(snapshot)
    url = url or warehouse_url()
    run_id = f"{source_id}-{snap:%Y%m%d}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    checks = {c.name: c for c in suites.checks_for(source_id)}

    with connect(url, autocommit=True) as conn, snapshot_lock(conn, source_id, snap):
        if not published and audit.published_rows(conn, batch_id) is not None:
            # another run holding the same batch (it adopted this run's finished pull, or
            # this run adopted its) validated and published it meanwhile: nothing to check
            log.info(
                "event=already_published source=%s snapshot=%s batch_id=%s",
                source_id,
                snap,
                batch_id,
            )
            return ValidationOutcome(
                source_id, snap.isoformat(), batch_id, run_id, "already_published"
            )
        require_reference(conn, source_id, snap, checks)
        if published:
            target_name = f"raw.{source_id}"
            target = sql.Identifier("raw", source_id)
            where = sql.SQL("where x.snapshot = {}").format(sql.Literal(snap))
            gx_target = {"query": f"select * from raw.{source_id} where snapshot = '{snap}'"}
            count_sql = sql.SQL("select count(*) from {} where snapshot = %s").format(target)
            count_args: tuple = (snap,)
            incremental = False
        else:
            target_name = batch_table(source_id, snap)
            if not _exists(conn, target_name):
                _raise_if_discarded(conn, source_id, snap, batch_id)
                raise LookupError(
                    f"batch table {target_name} does not exist: land the batch first "
                    f"(umkm ingest), or validate the published snapshot with --snapshot only"
                )
            target = batch_ident(source_id, snap)
            where = sql.SQL("")
            gx_target = {"table": target_name}
            count_sql = sql.SQL("select count(*) from {}").format(target)
            count_args = ()
            incremental = audit.load_mode(conn, batch_id) == "incremental"
        rows_checked = int(conn.execute(count_sql, count_args).fetchone()[0])
        if "region_resolves" in checks:
            # each new city spelling remembered in one short transaction of its own (V051)
            began = datetime.now(UTC)
            resolved = conn.execute(
                suites.remember_regions_sql(
                    source, target.as_string(conn), snap.isoformat() if published else None
                )
            ).fetchone()[0]
            log.info(
                "event=regions_remembered source=%s snapshot=%s resolved_spellings=%d seconds=%.2f",
                source_id,
                snap,
                resolved,
                (datetime.now(UTC) - began).total_seconds(),
            )
        _prev_snap, previous = _previous_volume(conn, source_id, snap)
        params, volume_note = volume_parameters(previous, incremental)
        if previous and not volume_note:
            volume_note = None

        started = datetime.now(UTC)
        gx_result = gx_run.run_suite(
            url,
            source_id,
            parameters=params,
            asset_name=f"{source_id}_{snap:%Y%m%d}_{uuid.uuid4().hex[:8]}",
            **gx_target,
        )
        gx_seconds = (datetime.now(UTC) - started).total_seconds()
        results = _results_from_gx(gx_result, checks, params, volume_note)

        # The row checks GX found failing (or could not count): only those are evaluated
        # again to select the rows, over the same rows, unchanged since.
        failing_checks = {
            r["name"]
            for r in results
            if r["name"] in checks and checks[r["name"]].quarantines and r["unexpected_count"] != 0
        }
        moved = quarantine_rows(
            conn, source_id, target, where, move=quarantine, only=failing_checks, keyed=published
        )
        rate = moved.rows_failing / rows_checked if rows_checked else 0.0
        limit = max_quarantine_rate()
        results.append(
            {
                "name": "quarantine_rate",
                "severity": checks["quarantine_rate"].severity,
                "success": rate <= limit,
                "observed": f"{moved.rows_failing} of {rows_checked} rows ({rate:.1%})",
                "expected": f"at most {limit:.0%} of the rows fail row-level checks",
                "unexpected_count": moved.rows_failing,
            }
        )
        if published and moved.rows_moved:
            _adjust_published_counts(conn, source_id, snap)
        outcome = ValidationOutcome(
            source_id=source_id,
            snapshot=snap.isoformat(),
            batch_id=batch_id,
            run_id=run_id,
            status=_status(results),
            results=results,
            rows_checked=rows_checked,
            rows_quarantined=moved.rows_moved,
        )
        _record(conn, outcome, snap)

    docs = gx_run.store_and_build_docs(
        gx_result, source_id, run_id, f"{source_id}__{snap:%Y%m%d}__{batch_id}"
    )
    outcome.data_docs_path = str(docs) if docs else None
    log.info(
        "event=validated source=%s snapshot=%s batch_id=%s run_id=%s status=%s rows_checked=%d "
        "rows_quarantined=%d failing=%d gx_seconds=%.1f target=%s",
        source_id,
        snap,
        batch_id,
        run_id,
        outcome.status,
        rows_checked,
        moved.rows_moved,
        moved.rows_failing,
        gx_seconds,
        target_name,
    )
    if outcome.status != "passed" and alert:
        from umkm.validation.alerting import alert_outcome

        alert_outcome(outcome, source.name, context, url=url, rows_failing=moved.rows_failing)
    if outcome.status == "failed":
        lines = describe_failures(outcome)
        raise CriticalValidationError(
            f"validation of {source_id} {snap} (batch {batch_id}) failed; the batch must not "
            "be published:\n" + "\n".join(lines),
            outcome,
        )
    return outcome


def _raise_if_discarded(conn, source_id: str, snap: date, batch_id: str) -> None:
    """A batch whose table is gone because a run discarded it (its validation failed
    critically, or an operator discarded it): say so in one line, not "does not exist"
    (a second run holding the same batch meets this after the first one's failure)."""
    latest = audit.latest_attempt(conn, batch_id)
    if latest is None or latest[0] != "failed":
        return
    why = (latest[1] or "no reason recorded").splitlines()[0][:300]
    raise BatchStateError(
        source_id,
        snap.isoformat(),
        "",
        f"batch {batch_id} was discarded ({why}); nothing was validated",
        f"see audit.loads; pull a new delivery with umkm ingest {source_id} "
        f"--snapshot {snap.isoformat()}",
    )


def _adjust_published_counts(conn, source_id: str, snap: date) -> None:
    """After quarantining published rows: rows_loaded and rows_rejected of the snapshot's
    latest successful load follow (fetched = loaded + rejected still holds)."""
    with conn.transaction():
        latest = audit.latest_success(conn, source_id, snap)
        if latest is None:
            return
        load_id, batch_id = latest["load_id"], latest["batch_id"]
        rejected = conn.execute(
            sql.SQL(
                "select count(*) from {} where snapshot = %s and batch_id = %s "
                "and replayed_at is null"
            ).format(sql.Identifier("quarantine", source_id)),
            (snap, batch_id),
        ).fetchone()[0]
        audit.set_rejected(conn, load_id, rejected)

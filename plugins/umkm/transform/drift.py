"""Alert on drift of the reconciliation bridge between snapshots.

After a build, `check_drift(snapshot)` reads `marts.mart_reconciliation_bridge` for the
snapshot and for the previous snapshot in the mart, and sends ONE alert through
`umkm.alerts.notify` when

* any step (including `feed_recount_gap`) moved by more than `threshold` relative to its
  previous value (`|current - previous| / |previous|`; a step that was 0 and is not any
  more counts as moved), or
* the residual `C - sum(values of steps 1..9)` of the snapshot is not 0 (the bridge does
  not close: always an error, with or without a previous snapshot).

The threshold comes from the argument, else `UMKM_DRIFT_THRESHOLD`, else 0.10. The alert
carries only step ids and counts. The first snapshot (no previous one) is checked for the
residual only.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import date

from umkm import alerts
from umkm.naming import parse_snapshot
from umkm.warehouse.db import connect, warehouse_url

log = logging.getLogger("umkm.transform.drift")

DEFAULT_THRESHOLD = 0.10
THRESHOLD_ENV = "UMKM_DRIFT_THRESHOLD"

_BRIDGE_SQL = """
    select step_order, step_id, value, running_total
    from marts.mart_reconciliation_bridge
    where snapshot = %s
    order by step_order
"""
_PREVIOUS_SQL = """
    select max(snapshot) from marts.mart_reconciliation_bridge where snapshot < %s
"""


@dataclass(frozen=True)
class StepMove:
    step_order: int
    step_id: str
    previous: int | None
    current: int
    relative_change: float | None  # None without a previous value; inf when it was 0

    @property
    def delta(self) -> int | None:
        return None if self.previous is None else self.current - self.previous


@dataclass
class DriftReport:
    snapshot: date
    previous_snapshot: date | None
    threshold: float
    residual: int | None = None
    steps: list[StepMove] = field(default_factory=list)
    alerted: bool = False

    @property
    def found(self) -> bool:
        """True when the bridge for the snapshot exists."""
        return bool(self.steps)

    @property
    def moved(self) -> list[StepMove]:
        return [
            s
            for s in self.steps
            if s.relative_change is not None and s.relative_change > self.threshold
        ]

    @property
    def residual_ok(self) -> bool:
        return self.residual == 0

    @property
    def drifted(self) -> bool:
        return self.found and (bool(self.moved) or not self.residual_ok)


def threshold_from_env(default: float = DEFAULT_THRESHOLD) -> float:
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number; using %s", THRESHOLD_ENV, raw, default)
        return default
    return value if value >= 0 else default


def _relative(previous: int | None, current: int) -> float | None:
    if previous is None:
        return None
    if previous == 0:
        return 0.0 if current == 0 else float("inf")
    return abs(current - previous) / abs(previous)


def compare(
    snapshot: date,
    current: list[tuple],
    previous: list[tuple] | None,
    previous_snapshot: date | None,
    threshold: float,
) -> DriftReport:
    """The report for bridge rows `(step_order, step_id, value, running_total)`."""
    report = DriftReport(snapshot, previous_snapshot, threshold)
    if not current:
        return report
    before = {row[1]: int(row[2]) for row in previous or []}
    for step_order, step_id, value, _running in current:
        prev = before.get(step_id) if previous else None
        report.steps.append(
            StepMove(int(step_order), step_id, prev, int(value), _relative(prev, int(value)))
        )
    values = {s.step_order: s.current for s in report.steps}
    if 10 in values:
        report.residual = values[10] - sum(v for order, v in values.items() if 1 <= order <= 9)
    return report


def _fmt_change(move: StepMove) -> str:
    if move.previous is None:
        return "no previous value"
    if move.relative_change == float("inf"):
        return f"{move.delta:+,} (was 0)"
    return f"{move.delta:+,} ({move.relative_change:.1%} of {move.previous:,})"


def render(report: DriftReport) -> tuple[str, str, str]:
    """(title, text, level) of the alert for a report that drifted."""
    reasons = []
    if not report.residual_ok:
        reasons.append(f"residual {report.residual:+,}")
    if report.moved:
        reasons.append(f"{len(report.moved)} step(s) moved more than {report.threshold:.0%}")
    title = f"bridge drift: {report.snapshot.isoformat()} ({', '.join(reasons)})"
    lines = [
        f"Snapshot: {report.snapshot.isoformat()}",
        "Previous snapshot: "
        + (report.previous_snapshot.isoformat() if report.previous_snapshot else "none"),
        f"Threshold: {report.threshold:.0%} relative change per step",
        f"Residual (C - sum of steps 1..9): {report.residual}"
        + ("" if report.residual_ok else "  <-- must be 0"),
        "",
        "Steps (previous -> current, change):",
    ]
    moved = {m.step_id for m in report.moved}
    for s in report.steps:
        # no column padding: runs of digits and spaces would look like phone numbers to the
        # notifier's scrubber
        prev = "-" if s.previous is None else f"{s.previous:,}"
        flag = "  <-- moved" if s.step_id in moved else ""
        lines.append(
            f"{s.step_order}. {s.step_id}: {prev} -> {s.current:,}, {_fmt_change(s)}{flag}"
        )
    level = "error" if not report.residual_ok else "warning"
    return title, "\n".join(lines), level


def check_drift(
    snapshot: date | str,
    url: str | None = None,
    threshold: float | None = None,
) -> DriftReport:
    """Compare the bridge of `snapshot` with the previous snapshot's; alert once on drift."""
    snapshot = parse_snapshot(snapshot)
    limit = threshold_from_env() if threshold is None else float(threshold)
    target = url or warehouse_url()
    with connect(target) as conn:
        current = conn.execute(_BRIDGE_SQL, (snapshot,)).fetchall()
        previous_snapshot = conn.execute(_PREVIOUS_SQL, (snapshot,)).fetchone()[0]
        previous = (
            conn.execute(_BRIDGE_SQL, (previous_snapshot,)).fetchall()
            if previous_snapshot
            else None
        )
    report = compare(snapshot, current, previous, previous_snapshot, limit)
    if not report.found:
        log.warning("event=drift_check snapshot=%s bridge=missing", snapshot)
        return report
    log.info(
        "event=drift_check snapshot=%s previous=%s residual=%s moved=%s",
        snapshot,
        previous_snapshot,
        report.residual,
        ",".join(m.step_id for m in report.moved) or "-",
    )
    if report.drifted:
        title, text, level = render(report)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        report.alerted = alerts.notify(
            title,
            text,
            level=level,
            details={"snapshot": snapshot.isoformat(), "residual": report.residual},
            dedupe_key=f"bridge_drift:{snapshot.isoformat()}:{digest}",
            url=target,
            kind="bridge_drift",
        )
    return report

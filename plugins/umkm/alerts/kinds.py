"""The kinds of alert the project sends, each with its section in `docs/RUNBOOK.md`.

A kind's runbook anchor is its name: the section heading is `## <kind>` (a GitHub-style
slug of a heading made of lower-case letters and underscores is the heading itself).
`tests/alerts/test_runbook.py` checks that every kind has its section.
"""

from __future__ import annotations

#: kind -> what it means, in one line (the runbook says what to check and what to run).
KINDS: dict[str, str] = {
    "ingest_failed": "a task of an ingest_<source> DAG failed (pull, landing or publish)",
    "reference_wait_timeout": "an ingest DAG gave up waiting for the BPS reference",
    "validation_failed": "a critical expectation failed: the batch is not published",
    "quarantine_above_threshold": "too many rows failed row checks: the batch is blocked",
    "validation_warning": "warnings: some rows quarantined, the batch is published",
    "no_data": "a source delivered nothing for the snapshot (stale or discontinued)",
    "build_gate_blocked": "warehouse_build did not start: critical sources not landed",
    "build_failed": "a task of warehouse_build failed (dbt build, tests, drift, report)",
    "marts_publish_busy": "the new marts could not be published: readers held locks",
    "bridge_drift": "the reconciliation bridge moved or does not close",
    "task_failed": "a task of another DAG (one that uses the notifiers) failed",
    "recovered": "a DAG that failed (and alerted) succeeded again",
}

#: The runbook's index section: the link of an alert of no known kind.
INDEX_ANCHOR = "alert-kinds"

#: Task ids and exceptions that say more than the DAG does.
SENSOR_TASK_ID = "wait_for_reference"  # umkm.orchestration.references.SENSOR_TASK_ID
GATE_TASK_ID = "check_sources"
BUILD_DAG_ID = "warehouse_build"


def anchor(kind: str | None) -> str:
    return kind if kind in KINDS else INDEX_ANCHOR


def _exception_names(exc: BaseException | None) -> set[str]:
    """Class names of the exception and of what it was raised from (a wrapped MartsBusy)."""
    names: set[str] = set()
    seen = 0
    while exc is not None and seen < 5:
        names.add(type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return names


def task_failure_kind(dag_id: str | None, task_id: str | None, exc: BaseException | None) -> str:
    """The kind of a task failure, from the DAG, the task and the exception."""
    names = _exception_names(exc)
    text = str(exc or "")
    if "MartsBusy" in names or "could not publish the marts: readers held locks" in text:
        return "marts_publish_busy"
    if "CriticalValidationError" in names:
        return "validation_failed"
    dag_id = dag_id or ""
    if dag_id.startswith("ingest_"):
        if task_id == SENSOR_TASK_ID or "AirflowSensorTimeout" in names:
            return "reference_wait_timeout"
        return "ingest_failed"
    if dag_id == BUILD_DAG_ID:
        return "build_gate_blocked" if task_id == GATE_TASK_ID else "build_failed"
    return "task_failed"


def validation_kind(status: str, failed: list[dict]) -> str:
    """The kind of a validation alert: a critical failure other than the quarantine rate is
    `validation_failed`; the quarantine rate alone, `quarantine_above_threshold`."""
    if status != "failed":
        return "validation_warning"
    critical = {r["name"] for r in failed if r.get("severity") == "critical"}
    if critical == {"quarantine_rate"}:
        return "quarantine_above_threshold"
    return "validation_failed"


#: For callers that do not say their kind: the dedupe key's or the title's first word.
_KEY_PREFIXES = {
    "bridge_drift:": "bridge_drift",
    "recovered:": "recovered",
    "no_data:": "no_data",
}
_TITLE_PREFIXES = {
    "no data:": "no_data",
    "bridge drift:": "bridge_drift",
    "recovered:": "recovered",
    "validation failed:": "validation_failed",
    "validation warning:": "validation_warning",
}


def infer_kind(title: str, dedupe_key: str | None = None) -> str | None:
    """The kind of an alert sent without one (`notify` from code that predates kinds)."""
    for prefix, kind in _KEY_PREFIXES.items():
        if dedupe_key and dedupe_key.startswith(prefix):
            return kind
    lowered = title.strip().lower()
    for prefix, kind in _TITLE_PREFIXES.items():
        if lowered.startswith(prefix):
            return kind
    return None

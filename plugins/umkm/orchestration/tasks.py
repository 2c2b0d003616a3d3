"""The work behind each Airflow task, as plain functions (testable without Airflow).

Each function takes plain values and returns JSON-serialisable dicts (they travel as XCom).
Heavy imports happen inside the functions, at run time.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date

from umkm.sources import get_source, load_registry

log = logging.getLogger(__name__)


def _plain(value) -> dict:
    doc = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else dict(value)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in doc.items()}


def extract_load(source_id: str, snapshot: date, mode: str = "full", force: bool = False) -> dict:
    """Pull one snapshot of a source into its batch table (resumes an interrupted pull).

    A delivery equal to what is published for the snapshot ends here with status
    `unchanged` (validation and publish then skip it) unless `force`.
    """
    from umkm.ingest import land

    landed, origin = land(source_id, snapshot, mode=mode, skip_unchanged=not force)
    result = _plain(landed)
    if origin is not None:
        result["unchanged_of"] = origin
    log.info("extract_load %s", {k: result[k] for k in result if k != "error"})
    return result


def validate(load: dict) -> dict:
    """Validate a landed batch; quarantine failing rows; raise on a critical failure.

    A critical failure discards the batch (published rows stay as they were) and fails the
    task, so the publish task never runs for it.
    """
    if load["status"] != "loaded":
        return {"status": "skipped", "reason": f"load status {load['status']}"}
    from umkm.ingest import check

    return _plain(check(load["source_id"], load["snapshot"], load["batch_id"]))


def publish(load: dict) -> dict:
    """Replace the snapshot's published rows with the batch, in one transaction."""
    if load["status"] == "no_data":
        _alert_no_data(load)
        return {"status": "no_data", "rows_published": 0}
    if load["status"] != "loaded":  # unchanged: the published rows stay as they are
        return {"status": load["status"], "rows_published": 0}
    from umkm.loading import publish as _publish

    rows = _publish(load["source_id"], load["snapshot"], load["batch_id"])
    return {"status": "success", "rows_published": rows}


def _alert_no_data(load: dict) -> None:
    source = get_source(load["source_id"])
    message = f"source {source.source_id} has no data for snapshot {load['snapshot']}" + (
        f" (discontinued after {source.until})" if source.until else " (stale?)"
    )
    try:
        from umkm.alerts import notify
    except ImportError:
        log.warning("ALERT %s", message)
        return
    notify(
        title=f"no data: {source.source_id} {load['snapshot']}",
        text=message,
        level="warning",
        kind="no_data",
    )


def sources_status(snapshot: date, url: str | None = None) -> dict[str, str]:
    """The latest load status per source for a snapshot (missing: `missing`)."""
    from umkm.loading.audit import latest_loads, sources_loaded_by
    from umkm.warehouse import connect

    with connect(url) as conn:
        found = {sid: load["status"] for sid, load in latest_loads(conn, snapshot).items()}
        reference = sources_loaded_by(
            conn,
            snapshot,
            [s.source_id for s in load_registry().values() if s.kind == "reference"],
        )
    for sid in reference:  # reference data: any earlier successful load serves
        if found.get(sid) != "success":
            found[sid] = "success"
    return {sid: found.get(sid, "missing") for sid in load_registry()}


def check_sources(snapshot: date, url: str | None = None) -> dict[str, str]:
    """Gate of the warehouse build: every critical source has landed for the snapshot.

    Rule: a critical source must have `success`, or `no_data` when it is discontinued at the
    snapshot (its registry `until` is before it) -- a discontinued platform simply stops
    contributing. Reference data (BPS codes, loaded yearly) is satisfied by any successful
    load at or before the snapshot. A critical source with `no_data` before its end,
    `failed` or `missing` blocks the build. Optional sources never block (their state is reported).
    """
    status = sources_status(snapshot, url)
    blocking = []
    for sid, state in status.items():
        source = get_source(sid)
        if source.criticality != "critical" or state == "success":
            continue
        if state == "no_data" and source.discontinued_at(snapshot):
            continue
        blocking.append(f"{sid}={state}")
    if blocking:
        raise RuntimeError(
            f"snapshot {snapshot}: critical sources not landed: {', '.join(blocking)}; "
            "run their ingest_<source> DAGs (or `umkm ingest`) first"
        )
    return status


def begin_build(snapshot: date, force: bool = False) -> dict:
    """Whether the build must run: not when raw and the dbt project are as the last
    successful build of this snapshot left them (umkm.transform.build_state)."""
    from umkm.transform.build_state import begin_build as _begin_build

    return _plain(_begin_build(snapshot, force=force))


def finish_build(decision: dict) -> dict:
    from umkm.transform.build_state import finish_build as _finish_build

    _finish_build(decision["build_id"])
    return {"build_id": decision["build_id"], "status": "success"}


def dbt_build(snapshot: date) -> dict:
    """The build without Cosmos: under the build lock, dbt into `marts_build`, then the
    marts replaced in one transaction (umkm.transform.marts)."""
    from umkm.transform.marts import build_and_publish

    published = build_and_publish({"snapshot": str(snapshot)})
    return {"marts_published": len(published.relations), "attempts": published.attempts}


def drift(snapshot: date) -> dict:
    """Compare the snapshot's bridge with the previous snapshot's; alert once on drift."""
    from umkm.transform.drift import check_drift

    return _plain(check_drift(snapshot))


def report(snapshot: date) -> dict:
    """Write the static HTML report for the snapshot."""
    from umkm.report import build_report
    from umkm.transform.dbt import publish_docs

    page = build_report(snapshot)
    docs = publish_docs(page.parent)
    return {"snapshot": snapshot.isoformat(), "report": str(page), "dbt_docs": str(docs)}

"""Ingesting one source's snapshot: the one sequence that the Airflow tasks, `umkm ingest` and
the benchmarks all run.

    land      extract_load into the batch table; a delivery equal to what is published for
              the snapshot is closed here (status `unchanged`, nothing else runs)
    check     validate the landed batch; a critical failure discards the batch (published
              rows stay as they were) and raises CriticalValidationError
    publish   replace (or, incremental, upsert) the snapshot's published rows with the batch

`ingest_source` runs the three in order. The Airflow DAG runs them as three tasks, so it calls
`land`, `check` and `umkm.loading.publish` one by one.
"""

from __future__ import annotations

from datetime import date

from umkm.loading import LoadResult, Progress, discard, extract_load, publish, skip_if_unchanged


def land(
    source_id: str,
    snapshot: str | date,
    *,
    mode: str = "full",
    skip_unchanged: bool = True,
    url: str | None = None,
    progress: Progress | None = None,
) -> tuple[LoadResult, str | None]:
    """Pull the snapshot into its batch table (resuming an interrupted pull).

    Returns the result and, when the delivery equals what is published for the snapshot
    (and `skip_unchanged`), the batch whose rows it repeats: the result's status is then
    `unchanged` and its batch is closed."""
    result = extract_load(source_id, snapshot, mode=mode, url=url, progress=progress)
    if result.status != "loaded" or not skip_unchanged:
        return result, None
    origin = skip_if_unchanged(source_id, result.snapshot, result.batch_id, url=url)
    if origin is not None:
        result.status = "unchanged"
    return result, origin


def check(
    source_id: str,
    snapshot: str | date,
    batch_id: str,
    *,
    url: str | None = None,
    alert: bool = True,
):
    """Validate a landed batch (quarantining failing rows); on a critical failure discard the
    batch and re-raise CriticalValidationError. Returns the ValidationOutcome."""
    from umkm.validation import CriticalValidationError, validate_batch

    try:
        return validate_batch(source_id, snapshot, batch_id, url=url, alert=alert)
    except CriticalValidationError as exc:
        discard(source_id, snapshot, batch_id, f"validation: {exc}", url=url)
        raise


def ingest_source(
    source_id: str,
    snapshot: str | date,
    *,
    mode: str = "full",
    force: bool = False,
    do_publish: bool = True,
    url: str | None = None,
    progress: Progress | None = None,
    alert: bool = True,
) -> LoadResult:
    """land, check and publish one source's snapshot; the final LoadResult.

    `force` validates and publishes even an unchanged delivery; without `do_publish` the
    batch is left landed (for `umkm validate` or a later publish). A critical validation
    failure ends with status `failed` and the batch discarded."""
    from umkm.validation import CriticalValidationError

    result, _ = land(
        source_id,
        snapshot,
        mode=mode,
        skip_unchanged=do_publish and not force,
        url=url,
        progress=progress,
    )
    if result.status != "loaded" or not do_publish:
        return result
    try:
        check(source_id, snapshot, result.batch_id, url=url, alert=alert)
    except CriticalValidationError as exc:
        result.status, result.error = "failed", f"critical validation failure: {str(exc)[:500]}"
        return result
    result.rows_loaded = publish(source_id, snapshot, result.batch_id, url=url)
    result.rows_rejected = result.rows_fetched - result.rows_loaded
    result.status = "success"
    return result

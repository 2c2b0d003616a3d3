"""The alert sent when a validation run has warnings or failures (one message per run).

Its kind (the runbook section it links to) is `validation_failed`, `quarantine_above_threshold`
(the quarantine rate was the only critical failure) or `validation_warning`; its Data Docs
link is the validation's page on the docs server (`umkm serve`, `UMKM_DOCS_BASE_URL`).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("umkm.validation")


def airflow_context() -> dict | None:
    """The current Airflow task context, when running inside a task."""
    try:
        from airflow.sdk import get_current_context

        return dict(get_current_context())
    except Exception:  # noqa: BLE001 - not inside a task, or no Airflow
        return None


def alert_outcome(
    outcome, source_name: str, context: dict | None, *, url: str | None, rows_failing: int
) -> bool:
    """Send one alert for a validation run. Never raises."""
    from umkm.alerts import describe_context, kinds, links, notify

    try:
        ctx = describe_context(context if context is not None else airflow_context())
        failed = outcome.failed
        lines = [
            f"Validation {outcome.status.upper()} for {outcome.source_id} ({source_name}), "
            f"snapshot {outcome.snapshot}, batch {outcome.batch_id}",
        ]
        if ctx.get("dag_id"):
            lines.append(f"DAG {ctx['dag_id']}, task {ctx['task_id']}, run {ctx['run_id']}")
        lines.append(f"Failed expectations ({len(failed)}):")
        lines += [
            f"- [{r['severity']}] {r['name']}: observed {r['observed'] or '-'}; "
            f"expected {r['expected']}"
            for r in failed
        ]
        lines.append(
            f"Rows quarantined: {outcome.rows_quarantined} of {outcome.rows_checked} "
            f"(failing row checks: {rows_failing})"
        )
        if outcome.status == "failed":
            lines.append("A critical expectation failed: the batch is NOT published.")
        docs_url = links.data_docs_url(outcome.data_docs_path, outcome.run_id)
        lines.append(f"Data docs: {docs_url or 'not built'}")
        if ctx.get("log_url"):
            lines.append(f"Log: {ctx['log_url']}")
        lines.append(f"Validation run: {outcome.run_id} (audit.validation_results)")
        details: dict[str, Any] = {
            **ctx,
            "source_id": outcome.source_id,
            "snapshot": outcome.snapshot,
            "batch_id": outcome.batch_id,
            "run_id_validation": outcome.run_id,
            "status": outcome.status,
            "failed": failed,
            "rows_quarantined": outcome.rows_quarantined,
            "rows_checked": outcome.rows_checked,
            "data_docs": outcome.data_docs_path,
            "data_docs_url": docs_url,
        }
        run_key = ctx.get("run_id") or outcome.batch_id
        key = f"validation:{ctx.get('dag_id') or '-'}:{run_key}:{outcome.source_id}:"
        key += f"{outcome.snapshot}:{outcome.status}"
        level = "error" if outcome.status == "failed" else "warning"
        title = f"validation {outcome.status}: {outcome.source_id} {outcome.snapshot}"
        kind = kinds.validation_kind(outcome.status, failed)
        return notify(
            title,
            "\n".join(lines),
            level=level,
            details=details,
            dedupe_key=key,
            url=url,
            kind=kind,
        )
    except Exception:
        log.exception("event=alert_failed source=%s", outcome.source_id)
        return False

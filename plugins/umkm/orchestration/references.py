"""References as dependencies of the ingest DAGs (issue 21, item 3).

Some sources' validation reads a reference: the checks in
`umkm.validation.runner.REFERENCE_CHECKS` (a city that resolves to a BPS regency, a known
regency code) read the BPS region codes of the registry's `kind: reference` source (`bps`).
Without them validation stops with `ReferenceNotLoaded`. On a fresh warehouse the
`ingest_<source>` DAGs of those sources therefore wait first, in the sensor
`wait_for_reference`, until the reference has a successful load at or before the run's
snapshot: the rule `tasks.sources_status` applies to references (any earlier successful
load serves; BPS is loaded yearly). `ingest_bps` publishing its asset `raw.bps` is what
ends the wait: its publish task commits the reference's rows and their `success` row in
`audit.loads` together, then produces the asset; the next poke sees the load.

The wait (Airflow sensor in `reschedule` mode: no worker slot held between pokes):

- a poke every `UMKM_REFERENCE_POKE_INTERVAL` seconds, default 300 (5 minutes: one indexed
  query on `audit.loads`; the wait ends within 5 minutes of the reference's publish);
- gives up after `UMKM_REFERENCE_WAIT_TIMEOUT` seconds, default 21600 (6 hours: a monthly run
  firing at 02:00 WIB alerts the owner by 08:00 WIB), with one line naming the reference and
  the DAG to run (`ingest_bps` / `umkm ingest bps`). The poke raises that timeout itself;
  Airflow's own sensor timeout is one poke interval later, a backstop that cannot fire first
  (its message names nothing).

Both are read when the DAG file is parsed (scheduler, DAG processor and worker must agree).
The functions here are plain (no Airflow import at module level); `poke` is what the sensor
runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from umkm.sources import get_source, load_registry

log = logging.getLogger(__name__)

#: Task id of the sensor, the first task of an ingest DAG whose validation needs a reference.
SENSOR_TASK_ID = "wait_for_reference"

POKE_INTERVAL_ENV = "UMKM_REFERENCE_POKE_INTERVAL"
WAIT_TIMEOUT_ENV = "UMKM_REFERENCE_WAIT_TIMEOUT"
DEFAULT_POKE_INTERVAL = 300.0
DEFAULT_WAIT_TIMEOUT = 6 * 3600.0


@dataclass(frozen=True)
class WaitLimits:
    """How often the sensor pokes and when it gives up, in seconds."""

    poke_interval: float
    timeout: float

    @property
    def sensor_timeout(self) -> float:
        """Airflow's own timeout of the sensor: a backstop one poke after `timeout`, so the
        poke's named message always comes first."""
        return self.timeout + self.poke_interval


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number of seconds") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: expected a number of seconds >= 0")
    return value


def wait_limits(env: Mapping[str, str] | None = None) -> WaitLimits:
    """The sensor's poke interval and timeout: the environment's, else the defaults."""
    env = os.environ if env is None else env
    return WaitLimits(
        poke_interval=_seconds(env, POKE_INTERVAL_ENV, DEFAULT_POKE_INTERVAL),
        timeout=_seconds(env, WAIT_TIMEOUT_ENV, DEFAULT_WAIT_TIMEOUT),
    )


def reference_ids() -> list[str]:
    """The registry's reference sources (`kind: reference`)."""
    return sorted(sid for sid, source in load_registry().items() if source.kind == "reference")


def references_needed(source_id: str) -> list[str]:
    """The references a source's validation needs loaded first: the registry's references
    when the source's suite holds a check that reads them (`REFERENCE_CHECKS`), else none
    (a reference itself; a summary without regions)."""
    if get_source(source_id).kind == "reference":
        return []
    from umkm.validation.runner import REFERENCE_CHECKS
    from umkm.validation.suites import checks_for

    if not any(check.name in REFERENCE_CHECKS for check in checks_for(source_id)):
        return []
    return reference_ids()


def missing_references(
    snapshot: date, references: Sequence[str], url: str | None = None
) -> list[str]:
    """Those of `references` without a successful load at or before the snapshot (all of
    them on a warehouse whose audit tables do not exist yet)."""
    from umkm.loading.audit import sources_loaded_by
    from umkm.warehouse import connect

    wanted = list(references)
    if not wanted:
        return []
    with connect(url) as conn:
        if conn.execute("select to_regclass('audit.loads') is null").fetchone()[0]:
            return wanted
        loaded = set(sources_loaded_by(conn, snapshot, wanted))
    return [sid for sid in wanted if sid not in loaded]


def reference_loaded(
    snapshot: date, references: Sequence[str] | None = None, url: str | None = None
) -> bool:
    """The poke's question: has every reference (default: the registry's) a successful load
    at or before `snapshot` in `audit.loads`?"""
    return not missing_references(
        snapshot, reference_ids() if references is None else references, url
    )


def waiting_message(source_id: str, snapshot: date, missing: Sequence[str]) -> str:
    """One line: which reference is missing for which run, and what to run."""
    snap = snapshot.isoformat()
    names = ", ".join(missing)
    todo = " and ".join(
        f"the DAG ingest_{sid} (or `umkm ingest {sid} --snapshot {snap}`)" for sid in missing
    )
    return (
        f"ingest_{source_id}, snapshot {snap}: reference {names} not loaded (no successful "
        f"load at or before {snap} in audit.loads); its validation needs it: run {todo}"
    )


def waited_seconds(context: Mapping) -> float:
    """How long the sensor of this task instance has been waiting, measured as Airflow's
    sensor measures it: in reschedule mode since the start of its first rescheduled poke
    (kept by Airflow; 0 at the first poke), in poke mode since this try started."""
    ti = context.get("ti")
    if ti is None:
        return 0.0
    started = ti.get_first_reschedule_date(context)
    if started is None:
        if getattr(context.get("task"), "reschedule", False):
            return 0.0
        started = getattr(ti, "start_date", None)
    if started is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - started).total_seconds())


def poke(
    source_id: str,
    snapshot: date,
    references: Sequence[str],
    waited: float,
    timeout: float,
    url: str | None = None,
) -> bool:
    """One poke of the sensor: True when the references are loaded; False to wait on;
    `AirflowSensorTimeout` (a failure Airflow does not retry) with the message once
    `waited` has reached `timeout`."""
    missing = missing_references(snapshot, references, url)
    if not missing:
        log.info(
            "ingest_%s, snapshot %s: reference %s loaded",
            source_id,
            snapshot,
            ", ".join(references),
        )
        return True
    message = waiting_message(source_id, snapshot, missing)
    if waited >= timeout:
        from airflow.sdk.exceptions import AirflowSensorTimeout

        raise AirflowSensorTimeout(f"{message}; gave up after waiting {waited:.0f} s")
    log.warning("%s; waiting (%.0f of %.0f s)", message, waited, timeout)
    return False

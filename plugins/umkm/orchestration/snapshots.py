"""How a DAG run's logical date maps to a snapshot, and back.

Snapshots are the 15th of each month (the headline one, 2017-11-15, is when both ministries
published). A snapshot is the source's state at the end of that day in WIB (UTC+7), so the
monthly run fires after the day is over: at 02:00 WIB on the 16th (each source's `schedule`
in the registry; BPS yearly, on 16 January). The run's snapshot is the
WIB calendar day before its logical date. A run's `snapshot` param overrides this (manual
runs of any date). The snapshot never comes from `now()`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from umkm.naming import WIB, parse_snapshot

__all__ = ["logical_date_for", "parse_snapshot", "snapshot_for", "snapshot_from_context"]

SCHEDULE_TIMEZONE = "Asia/Jakarta"  # of the registry's `schedule` crons
RUN_HOUR_WIB = 2


def snapshot_for(logical_date: datetime) -> date:
    """The snapshot a run with this logical date loads.

    Airflow hands tasks a pendulum DateTime; pendulum's `-` on one converted to a stdlib
    timezone drops the zone (back to UTC), so the arithmetic is done on the WIB date."""
    local = datetime.fromtimestamp(logical_date.timestamp(), tz=WIB)
    return local.date() - timedelta(days=1)


def logical_date_for(snapshot: str | date) -> datetime:
    """The logical date of the scheduled run that loads `snapshot` (inverse of snapshot_for)."""
    day = parse_snapshot(snapshot) + timedelta(days=1)
    return datetime.combine(day, time(RUN_HOUR_WIB), tzinfo=WIB).astimezone(UTC)


def snapshot_from_context(context) -> date:
    """The run's snapshot: its `snapshot` param if given, else from its logical date."""
    params = context.get("params") or {}
    if params.get("snapshot"):
        return parse_snapshot(params["snapshot"])
    logical = context.get("logical_date")
    if logical is None:
        raise ValueError(
            "this run has neither a logical date nor a `snapshot` param: trigger it with "
            'a logical date or with conf {"snapshot": "YYYY-MM-DD"}'
        )
    return snapshot_for(logical)

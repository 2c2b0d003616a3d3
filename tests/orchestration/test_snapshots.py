"""Runs map to snapshots through the logical date, never through now()."""

from datetime import UTC, date, datetime

import pytest

from umkm.orchestration.snapshots import (
    logical_date_for,
    parse_snapshot,
    snapshot_for,
    snapshot_from_context,
)
from umkm.sources import load_registry


def test_monthly_run_loads_the_15th():
    # the scheduled run at 02:00 WIB on the 16th is 19:00 UTC on the 15th
    logical = datetime(2017, 11, 15, 19, 0, tzinfo=UTC)
    assert snapshot_for(logical) == date(2017, 11, 15)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Jakarta"])
def test_pendulum_logical_dates_as_airflow_hands_them(tz):
    """Airflow passes pendulum DateTimes; pendulum's arithmetic after astimezone() falls back
    to UTC, which once made every scheduled or backfilled run load the 14th."""
    import pendulum

    logical = pendulum.datetime(2017, 9, 15, 19, tz="UTC").in_timezone(tz)
    assert snapshot_for(logical) == date(2017, 9, 15)


def _scheduled_snapshots(cron: str) -> list[date]:
    """The snapshots an ingestion DAG's timetable (the scheduler's own class) loads when
    stepped over 2017-2019 as a backfill steps it."""
    import pendulum
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.trigger import CronTriggerTimetable

    from umkm.orchestration import snapshots

    timetable = CronTriggerTimetable(cron, timezone=snapshots.SCHEDULE_TIMEZONE)
    restriction = TimeRestriction(
        earliest=pendulum.datetime(2017, 1, 1, tz="UTC"),
        latest=pendulum.datetime(2019, 12, 31, tz="UTC"),
        catchup=True,
    )
    got, last = [], None
    while (
        info := timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
    ) is not None:
        got.append(snapshot_for(info.logical_date))
        last = info.data_interval
    return got


def test_the_dags_backfill_window_maps_to_the_15ths():
    """A monthly source over 2017-2019: 36 runs, each loading the 15th."""
    got = _scheduled_snapshots(load_registry()["tokopedia"].schedule)
    assert len(got) == 36
    assert got[0] == date(2017, 1, 15) and got[-1] == date(2019, 12, 15)
    assert {d.day for d in got} == {15}


def test_bps_is_loaded_yearly_on_the_january_snapshot():
    """The registry's schedule drives each ingestion DAG: BPS loads the 15th of January once
    a year."""
    got = _scheduled_snapshots(load_registry()["bps"].schedule)
    assert got == [date(2017, 1, 15), date(2018, 1, 15), date(2019, 1, 15)]


@pytest.mark.parametrize("day", ["2017-01-15", "2017-11-15", "2018-12-31", "2019-12-15"])
def test_round_trip(day):
    assert snapshot_for(logical_date_for(day)) == date.fromisoformat(day)


def test_param_overrides_logical_date():
    ctx = {"params": {"snapshot": "2018-03-15"}, "logical_date": logical_date_for("2017-11-15")}
    assert snapshot_from_context(ctx) == date(2018, 3, 15)


def test_no_logical_date_and_no_param_is_a_clear_error():
    with pytest.raises(ValueError, match="snapshot"):
        snapshot_from_context({"params": {}, "logical_date": None})


def test_bad_snapshot_text():
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_snapshot("15/11/2017")

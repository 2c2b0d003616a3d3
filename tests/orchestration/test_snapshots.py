"""Runs map to snapshots through the logical date, never through now()."""

from datetime import UTC, date, datetime

import pytest

from umkm.orchestration.snapshots import (
    logical_date_for,
    parse_snapshot,
    snapshot_for,
    snapshot_from_context,
)


def test_monthly_run_loads_the_15th():
    # the scheduled run at 02:00 WIB on the 16th is 19:00 UTC on the 15th
    logical = datetime(2017, 11, 15, 19, 0, tzinfo=UTC)
    assert snapshot_for(logical) == date(2017, 11, 15)


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

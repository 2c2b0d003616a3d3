"""The reference wait's rule (issue 21, item 3), on a real PostgreSQL: the sensor's poke is
true once the reference has a successful load at or before the snapshot in `audit.loads`."""

from __future__ import annotations

import os
from datetime import date

import psycopg
import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout

from umkm.orchestration import references, tasks
from umkm.sources import load_registry
from umkm.warehouse.bootstrap import ensure_database
from umkm.warehouse.db import connect, with_database

SNAPSHOT = date(2017, 11, 15)
BPS_LOADED = date(2017, 1, 15)


@pytest.fixture
def fresh(warehouse):
    """The module's warehouse with no load of the reference recorded."""
    with connect(warehouse) as conn:
        conn.execute("delete from audit.loads where source_id = 'bps'")
    return warehouse


def _load(url: str, snapshot: date, status: str = "success", source_id: str = "bps") -> None:
    with connect(url) as conn:
        conn.execute(
            "insert into audit.loads (source_id, snapshot, batch_id, mode, status) "
            "values (%s, %s, %s, 'full', %s)",
            (source_id, snapshot, f"{source_id}-{snapshot:%Y%m%d}-{status}", status),
        )


def test_the_reference_is_bps():
    assert references.reference_ids() == ["bps"]


def test_false_on_a_fresh_warehouse(fresh):
    assert references.reference_loaded(SNAPSHOT, url=fresh) is False
    assert references.missing_references(SNAPSHOT, ["bps"], url=fresh) == ["bps"]


def test_true_once_a_successful_load_at_or_before_the_snapshot(fresh):
    _load(fresh, BPS_LOADED)
    assert references.reference_loaded(SNAPSHOT, url=fresh) is True
    assert references.reference_loaded(BPS_LOADED, url=fresh) is True  # the same day serves


def test_false_for_a_snapshot_before_the_only_load(fresh):
    _load(fresh, BPS_LOADED)
    assert references.reference_loaded(date(2016, 12, 15), url=fresh) is False


def test_failed_running_or_other_sources_loads_do_not_count(fresh):
    _load(fresh, BPS_LOADED, "failed")
    _load(fresh, date(2017, 2, 15), "running")
    _load(fresh, BPS_LOADED, source_id="tokopedia")
    assert references.reference_loaded(SNAPSHOT, url=fresh) is False
    with connect(fresh) as conn:
        conn.execute("delete from audit.loads where source_id = 'tokopedia'")


def test_same_rule_as_the_build_gate(fresh):
    """`tasks.sources_status` counts a reference as landed by the same rule."""
    before, after = date(2016, 12, 15), SNAPSHOT

    def both(snapshot):
        gate = tasks.sources_status(snapshot, fresh)["bps"] == "success"
        return references.reference_loaded(snapshot, url=fresh), gate

    assert both(before) == both(after) == (False, False)
    _load(fresh, BPS_LOADED)
    assert both(before) == (False, False)
    assert both(after) == (True, True)


def test_false_on_a_warehouse_never_bootstrapped(admin_url):
    name = f"t_refs_bare_{os.getpid()}"
    ensure_database(admin_url, name)
    url = with_database(admin_url, name)
    try:
        assert references.reference_loaded(SNAPSHOT, url=url) is False
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_poke_waits_then_times_out_naming_the_reference_and_what_to_run(fresh):
    assert references.poke("tokopedia", SNAPSHOT, ["bps"], 10, 60, url=fresh) is False
    with pytest.raises(AirflowSensorTimeout) as caught:
        references.poke("tokopedia", SNAPSHOT, ["bps"], 60, 60, url=fresh)
    message = str(caught.value)
    assert "\n" not in message
    for part in ("ingest_tokopedia", "2017-11-15", "reference bps", "DAG ingest_bps"):
        assert part in message, part
    assert "umkm ingest bps --snapshot 2017-11-15" in message
    _load(fresh, BPS_LOADED)
    # loaded: passes, whatever the time waited
    assert references.poke("tokopedia", SNAPSHOT, ["bps"], 3600, 60, url=fresh) is True


def test_which_sources_need_the_reference():
    from umkm.validation.runner import REFERENCE_CHECKS
    from umkm.validation.suites import checks_for

    for sid, source in load_registry().items():
        reads = any(c.name in REFERENCE_CHECKS for c in checks_for(sid))
        expected = ["bps"] if reads and source.kind != "reference" else []
        assert references.references_needed(sid) == expected, sid
    assert references.references_needed("tokopedia") == ["bps"]
    assert references.references_needed("kemenkopukm") == ["bps"]  # regency codes
    assert references.references_needed("kominfo") == []
    assert references.references_needed("bps") == []


def test_wait_limits_defaults_and_environment():
    limits = references.wait_limits({})
    assert (limits.poke_interval, limits.timeout) == (300, 6 * 3600)
    assert limits.sensor_timeout == limits.timeout + limits.poke_interval
    env = {references.POKE_INTERVAL_ENV: "1", references.WAIT_TIMEOUT_ENV: "4.5"}
    assert references.wait_limits(env) == references.WaitLimits(1, 4.5)
    with pytest.raises(ValueError, match=references.WAIT_TIMEOUT_ENV):
        references.wait_limits({references.WAIT_TIMEOUT_ENV: "six hours"})
    with pytest.raises(ValueError, match=references.POKE_INTERVAL_ENV):
        references.wait_limits({references.POKE_INTERVAL_ENV: "-1"})

"""umkm.ingest: the one land -> check -> publish sequence the DAG tasks, `umkm ingest` and the
benchmarks run, against a feed served on loopback."""

from __future__ import annotations

import pytest

from tests.conftest import create_test_database, drop_test_database
from tests.validation.conftest import load_regencies
from tests.validation.fixtures import merchant
from tests.validation.test_end_to_end import _serve
from umkm.connectors.errors import ReferenceNotLoaded
from umkm.ingest import ingest_source
from umkm.warehouse.db import connect


@pytest.fixture
def served(monkeypatch):
    records = [merchant("bukalapak", i) for i in range(25)]
    records[5]["address"]["city"] = "Gotham"
    records[9]["state"] = "suspended"
    server = _serve(records)
    monkeypatch.setenv(
        "AIRFLOW_CONN_UMKM_BUKALAPAK", f"http://127.0.0.1:{server.server_address[1]}?api_key=k"
    )
    yield records
    server.shutdown()
    server.server_close()


# the warehouse is shared by the package's tests: each test its own snapshot
def _state(url, snapshot):
    with connect(url) as conn:
        loads = conn.execute(
            "select status, rows_fetched, rows_loaded, rows_rejected from audit.loads "
            "where source_id = 'bukalapak' and snapshot = %s order by load_id",
            (snapshot,),
        ).fetchall()
        published = conn.execute(
            "select count(*) from raw.bukalapak where snapshot = %s", (snapshot,)
        ).fetchone()[0]
    return loads, published


def test_ingest_source_publishes_then_recognises_the_same_delivery(wh, served):
    snapshot = "2018-03-15"
    first = ingest_source("bukalapak", snapshot, url=wh, alert=False)
    assert (first.status, first.rows_fetched, first.rows_loaded, first.rows_rejected) == (
        "success",
        25,
        23,
        2,
    )
    again = ingest_source("bukalapak", snapshot, url=wh, alert=False)
    assert again.status == "unchanged"
    loads, published = _state(wh, snapshot)
    assert published == 23
    assert loads[0] == ("success", 25, 23, 2)


def test_a_critical_failure_discards_the_batch_and_keeps_the_published_rows(
    wh, served, monkeypatch
):
    snapshot = "2018-04-15"
    assert ingest_source("bukalapak", snapshot, url=wh, alert=False).status == "success"
    served[3]["address"]["city"] = "Narnia"  # a new delivery, now above the allowed rate
    monkeypatch.setenv("UMKM_VALIDATION_MAX_QUARANTINE_RATE", "0.05")
    failed = ingest_source("bukalapak", snapshot, url=wh, alert=False)
    assert failed.status == "failed"
    assert failed.error.startswith("critical validation failure")
    loads, published = _state(wh, snapshot)
    assert [status for status, *_ in loads] == ["success", "failed"]
    assert published == 23  # the first delivery's rows, untouched


def test_without_publish_the_batch_stays_landed(wh, served):
    snapshot = "2018-05-15"
    landed = ingest_source("bukalapak", snapshot, url=wh, do_publish=False)
    assert landed.status == "loaded"
    loads, published = _state(wh, snapshot)
    assert published == 0 and loads[-1][0] == "running"


def test_without_the_region_reference_nothing_is_quarantined_and_the_fix_is_named(
    admin, state_dir, served
):
    """A fresh warehouse before `bps`: one line naming the reference, not 94 % of the rows
    quarantined as unknown regencies; after loading it, the kept batch goes through."""
    url = create_test_database(admin, "noref")
    try:
        snapshot = "2018-04-15"
        with pytest.raises(ReferenceNotLoaded) as caught:
            ingest_source("bukalapak", snapshot, url=url, alert=False)
        message = str(caught.value)
        assert "\n" not in message and "BPS region codes" in message
        assert f"umkm ingest bps --snapshot {snapshot}" in message
        with connect(url) as conn:
            quarantined = conn.execute("select count(*) from quarantine.bukalapak").fetchone()
        assert quarantined[0] == 0
        assert _state(url, snapshot)[1] == 0  # nothing published
        load_regencies(url)
        result = ingest_source("bukalapak", snapshot, url=url, alert=False)
        assert (result.status, result.rows_loaded, result.rows_rejected) == ("success", 23, 2)
    finally:
        drop_test_database(admin, url)


def test_validation_waits_for_no_one_while_another_writer_holds_the_snapshot(
    wh, served, monkeypatch
):
    """One writer per source and snapshot: with `UMKM_LOAD_LOCK_WAIT=0`, validating a batch
    while another session holds the snapshot's lock is refused in one line, and goes through
    once it is released."""
    monkeypatch.setenv("UMKM_LOAD_LOCK_WAIT", "0")
    from umkm.connectors.errors import BatchStateError
    from umkm.loading.extract import snapshot_lock
    from umkm.naming import parse_snapshot
    from umkm.validation.runner import validate_batch

    snapshot = "2018-05-15"
    landed = ingest_source("bukalapak", snapshot, url=wh, alert=False, do_publish=False)
    with (
        connect(wh, autocommit=True) as other,
        snapshot_lock(other, "bukalapak", parse_snapshot(snapshot)),
        pytest.raises(BatchStateError, match="another load or validation"),
    ):
        validate_batch("bukalapak", snapshot, landed.batch_id, url=wh, alert=False)
    outcome = validate_batch("bukalapak", snapshot, landed.batch_id, url=wh, alert=False)
    assert outcome.status in ("passed", "warning")


def test_validation_waits_for_another_writer_then_goes_through(wh, served, monkeypatch):
    """By default a validation waits (up to `UMKM_LOAD_LOCK_WAIT`) for the writer holding the
    snapshot rather than failing its task."""
    import threading
    import time

    from umkm.loading.extract import snapshot_lock
    from umkm.naming import parse_snapshot
    from umkm.validation.runner import validate_batch

    monkeypatch.setenv("UMKM_LOAD_LOCK_WAIT", "30")
    snapshot = "2018-07-15"
    landed = ingest_source("bukalapak", snapshot, url=wh, alert=False, do_publish=False)
    held, release = threading.Event(), threading.Event()

    def hold():
        with (
            connect(wh, autocommit=True) as other,
            snapshot_lock(other, "bukalapak", parse_snapshot(snapshot)),
        ):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    threading.Timer(1.5, release.set).start()
    began = time.monotonic()
    outcome = validate_batch("bukalapak", snapshot, landed.batch_id, url=wh, alert=False)
    holder.join(10)
    assert outcome.status in ("passed", "warning")
    assert time.monotonic() - began >= 1.0  # it waited for the holder


@pytest.mark.parametrize("order", ["publish_then_check", "check_twice_then_publish_twice"])
def test_two_runs_holding_one_batch_both_finish_with_one_publish(wh, served, order):
    """Two `umkm run`s of one snapshot: the second's pull finds the first's finished,
    unpublished batch and takes it as its own, so both runs then validate and publish the
    same batch, in either order. Neither fails (the clean-clone run once met 'batch table ...
    does not exist' here), the rows are published once, and the counts add up."""
    from umkm.ingest import check, land
    from umkm.loading import publish

    snapshot = {"publish_then_check": "2018-08-15", "check_twice_then_publish_twice": "2018-09-15"}[
        order
    ]
    first, _ = land("bukalapak", snapshot, url=wh)
    second, _ = land("bukalapak", snapshot, url=wh)
    assert second.batch_id == first.batch_id and second.status == "loaded"
    if order == "publish_then_check":
        check("bukalapak", snapshot, first.batch_id, url=wh, alert=False)
        assert publish("bukalapak", snapshot, first.batch_id, url=wh) == 23
        again = check("bukalapak", snapshot, second.batch_id, url=wh, alert=False)
        assert again.status == "already_published"
    else:
        for run in (first, second):
            outcome = check("bukalapak", snapshot, run.batch_id, url=wh, alert=False)
            assert outcome.status in ("passed", "warning")
        assert publish("bukalapak", snapshot, first.batch_id, url=wh) == 23
    assert publish("bukalapak", snapshot, second.batch_id, url=wh) == 23
    loads, published = _state(wh, snapshot)
    assert published == 23
    assert loads == [("success", 25, 23, 2)]
    third, origin = land("bukalapak", snapshot, url=wh)  # and a later run finds it unchanged
    assert third.status == "unchanged" and origin == first.batch_id


def test_a_run_holding_a_batch_the_other_run_discarded_is_told_so(wh, served, monkeypatch):
    """Two runs hold one batch and the first's validation fails critically (the batch is
    discarded): the second's validation says the batch was discarded and why, in one line,
    rather than 'batch table ... does not exist'."""
    from umkm.connectors.errors import BatchStateError
    from umkm.ingest import check, land
    from umkm.validation import CriticalValidationError

    snapshot = "2018-10-15"
    monkeypatch.setenv("UMKM_VALIDATION_MAX_QUARANTINE_RATE", "0.01")  # 2 of 25 fail
    first, _ = land("bukalapak", snapshot, url=wh)
    second, _ = land("bukalapak", snapshot, url=wh)
    assert second.batch_id == first.batch_id
    with pytest.raises(CriticalValidationError):
        check("bukalapak", snapshot, first.batch_id, url=wh, alert=False)
    with pytest.raises(BatchStateError) as caught:
        check("bukalapak", snapshot, second.batch_id, url=wh, alert=False)
    message = str(caught.value)
    assert "\n" not in message
    assert f"batch {first.batch_id} was discarded (validation:" in message
    assert f"umkm ingest bukalapak --snapshot {snapshot}" in message
    assert _state(wh, snapshot)[1] == 0  # nothing published

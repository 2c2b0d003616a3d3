"""Reruns that change nothing: a delivery equal to the published one, and a build with the
same inputs as the last, are recognised and skipped; any change is not."""

from __future__ import annotations

from datetime import date

from servers.feeds import SNAPSHOT
from servers.harness import FAST, loads, quarantined, raw_rows

from umkm.loading import extract_load, publish, skip_if_unchanged
from umkm.loading.batch import batch_exists
from umkm.transform.build_state import begin_build, finish_build
from umkm.warehouse import connect


def land(url: str, source_id: str, **kwargs):
    result = extract_load(source_id, SNAPSHOT, url=url, policy=FAST, **kwargs)
    assert result.status == "loaded"
    return result


def published_rows(url: str, source_id: str) -> list[tuple]:
    with connect(url) as db:
        return db.execute(
            f"select record_id, record, batch_id, loaded_at from raw.{source_id} "
            "where snapshot = %s order by record_id",
            (SNAPSHOT,),
        ).fetchall()


def test_same_delivery_again_is_unchanged_and_leaves_published_rows_as_they_were(wh, feed_server):
    feed_server("apikey-offset", "bukalapak", poison=True)
    first = land(wh, "bukalapak")
    assert skip_if_unchanged("bukalapak", SNAPSHOT, first.batch_id, url=wh) is None
    publish("bukalapak", SNAPSHOT, first.batch_id, url=wh)
    before, rejects_before = published_rows(wh, "bukalapak"), quarantined(wh, "bukalapak")
    assert rejects_before, "the poisoned feed should quarantine unparseable items"

    second = land(wh, "bukalapak")
    assert skip_if_unchanged("bukalapak", SNAPSHOT, second.batch_id, url=wh) == first.batch_id

    assert published_rows(wh, "bukalapak") == before  # same rows, same batch, same loaded_at
    assert quarantined(wh, "bukalapak") == rejects_before  # no second copy of the rejects
    with connect(wh) as db:
        assert not batch_exists(db, "bukalapak", date.fromisoformat(SNAPSHOT))
    attempts = loads(wh, "bukalapak")
    assert [a["status"] for a in attempts] == ["success", "success"]
    assert attempts[1]["unchanged_of"] == first.batch_id
    assert attempts[1]["fingerprint"] == attempts[0]["fingerprint"]
    assert (attempts[1]["rows_loaded"], attempts[1]["rows_rejected"]) == (
        attempts[0]["rows_loaded"],
        attempts[0]["rows_rejected"],
    )
    # a third identical delivery still points at the batch whose rows are published
    third = land(wh, "bukalapak")
    assert skip_if_unchanged("bukalapak", SNAPSHOT, third.batch_id, url=wh) == first.batch_id


def test_one_changed_record_goes_on_to_publish(wh, feed_server):
    server = feed_server("apikey-offset", "blibli")
    first = land(wh, "blibli")
    skip_if_unchanged("blibli", SNAPSHOT, first.batch_id, url=wh)
    publish("blibli", SNAPSHOT, first.batch_id, url=wh)

    server.records[5]["state"] = "closed"
    second = land(wh, "blibli")
    assert skip_if_unchanged("blibli", SNAPSHOT, second.batch_id, url=wh) is None
    publish("blibli", SNAPSHOT, second.batch_id, url=wh)
    states = {r[0]: r[1]["state"] for r in raw_rows(wh, "blibli", SNAPSHOT)}
    assert states[server.records[5]["store_id"]] == "closed"
    assert loads(wh, "blibli")[1]["unchanged_of"] is None


def test_first_delivery_of_a_snapshot_is_never_unchanged(wh, feed_server):
    feed_server("oauth-cursor", "tokopedia")
    first = land(wh, "tokopedia")
    assert skip_if_unchanged("tokopedia", SNAPSHOT, first.batch_id, url=wh) is None
    assert loads(wh, "tokopedia")[0]["status"] == "running"  # awaiting validation


def test_build_is_skipped_only_when_raw_and_project_are_as_the_last_build_left_them(
    wh, feed_server
):
    snap = date.fromisoformat(SNAPSHOT)
    server = feed_server("apikey-offset", "blibli")
    loaded = land(wh, "blibli")
    publish("blibli", SNAPSHOT, loaded.batch_id, url=wh)

    first = begin_build(snap, url=wh)
    assert first.needed and first.reason == "no earlier build"
    # a build that never finished (failed) is not a reference
    assert begin_build(snap, url=wh).needed
    finish_build(first.build_id, url=wh)
    again = begin_build(snap, url=wh)
    assert not again.needed and again.state == first.state
    assert begin_build(snap, force=True, url=wh).needed
    assert begin_build(date(2017, 10, 15), url=wh).needed  # another snapshot's build

    # an unchanged rerun of the source keeps the state; a changed one does not
    finish_build(begin_build(snap, force=True, url=wh).build_id, url=wh)
    rerun = land(wh, "blibli")
    assert skip_if_unchanged("blibli", SNAPSHOT, rerun.batch_id, url=wh)
    assert not begin_build(snap, url=wh).needed
    server.records[0]["state"] = "closed"
    changed = land(wh, "blibli")
    assert skip_if_unchanged("blibli", SNAPSHOT, changed.batch_id, url=wh) is None
    publish("blibli", SNAPSHOT, changed.batch_id, url=wh)
    decision = begin_build(snap, url=wh)
    assert decision.needed and decision.state != first.state
    with connect(wh) as db:
        statuses = [r[0] for r in db.execute("select status from audit.builds order by build_id")]
    assert statuses == [
        "success", "running", "skipped", "running", "running", "success", "skipped", "running",
    ]  # fmt: skip


def test_a_stewards_decision_makes_the_next_build_needed(wh, feed_server):
    """The next build follows a steward's decision (docs/ENTITY_RESOLUTION.md, "Stewards"):
    with raw and the project unchanged, a new or changed label is still a reason to build;
    a note alone is not (it changes no result)."""
    snap = date.fromisoformat(SNAPSHOT)
    feed_server("apikey-offset", "blibli")
    loaded = land(wh, "blibli")
    publish("blibli", SNAPSHOT, loaded.batch_id, url=wh)
    finish_build(begin_build(snap, force=True, url=wh).build_id, url=wh)
    skipped = begin_build(snap, url=wh)
    assert not skipped.needed and "decisions" in skipped.reason

    def decide(label: str, note: str) -> None:
        with connect(wh) as db:
            db.execute(
                "insert into stewardship.er_labels (source_id_a, record_id_a, source_id_b, "
                "record_id_b, label, note) values ('blibli', 'B1', 'tokopedia', 'T1', %s, %s) "
                "on conflict (source_id_a, record_id_a, source_id_b, record_id_b) "
                "do update set label = excluded.label, note = excluded.note",
                (label, note),
            )

    for label, note, needed in (
        ("match", "same NIB on paper", True),
        ("match", "same NIB, checked twice", False),
        ("non_match", "two branches", True),
    ):
        decide(label, note)
        decision = begin_build(snap, url=wh)
        assert decision.needed is needed, (label, note, decision.reason)
        if needed:
            assert "decisions" in decision.reason
            finish_build(decision.build_id, url=wh)
    with connect(wh) as db:
        db.execute("delete from stewardship.er_labels")
    assert begin_build(snap, url=wh).needed  # a decision withdrawn


def test_latest_loads_is_each_sources_last_attempt(wh, feed_server):
    from umkm.loading.audit import latest_loads

    feed_server("apikey-offset", "bukalapak")
    first = land(wh, "bukalapak")
    publish("bukalapak", SNAPSHOT, first.batch_id, url=wh)
    second = land(wh, "bukalapak")  # a new attempt, running (landed, unpublished)
    with connect(wh) as db:
        latest = latest_loads(db, date.fromisoformat(SNAPSHOT))
    assert set(latest) == {"bukalapak"}
    assert latest["bukalapak"]["batch_id"] == second.batch_id
    assert latest["bukalapak"]["status"] == "running"
    assert latest["bukalapak"]["rows_fetched"] == second.rows_fetched


def test_a_build_after_a_crash_emptied_the_unlogged_tables_is_needed(wh, feed_server):
    """Staging and intermediate are unlogged: a crash empties them, and the unlogged
    sentinel with them, so the next build is not skipped; a clean restart keeps both."""
    snap = date.fromisoformat(SNAPSHOT)
    feed_server("apikey-offset", "blibli")
    loaded = land(wh, "blibli")
    publish("blibli", SNAPSHOT, loaded.batch_id, url=wh)
    finish_build(begin_build(snap, force=True, url=wh).build_id, url=wh)
    assert not begin_build(snap, url=wh).needed
    with connect(wh) as db:  # what crash recovery does to every unlogged table
        persistence = db.execute(
            "select relpersistence from pg_class where oid = 'audit.build_sentinel'::regclass"
        ).fetchone()[0]
        assert persistence == "u"
        db.execute("truncate audit.build_sentinel")
    decision = begin_build(snap, url=wh)
    assert decision.needed and "crash" in decision.reason
    finish_build(decision.build_id, url=wh)
    assert not begin_build(snap, url=wh).needed


def test_two_builds_finishing_out_of_order_are_not_taken_for_a_crash(wh, feed_server):
    """Two runs decide at once and both build; the build lock lets the later-decided one
    finish first. The next run with nothing changed is skipped, not rebuilt as after a
    crash (the sentinel kept only the last id to finish: the e2e suite met it)."""
    snap = date.fromisoformat(SNAPSHOT)
    feed_server("apikey-offset", "blibli")
    loaded = land(wh, "blibli")
    publish("blibli", SNAPSHOT, loaded.batch_id, url=wh)
    first = begin_build(snap, force=True, url=wh)
    second = begin_build(snap, force=True, url=wh)
    assert first.build_id < second.build_id
    finish_build(second.build_id, url=wh)
    finish_build(first.build_id, url=wh)
    decision = begin_build(snap, url=wh)
    assert not decision.needed, decision.reason
    with connect(wh) as db:  # and a crash after them is still seen
        db.execute("truncate audit.build_sentinel")
    assert "crash" in begin_build(snap, url=wh).reason

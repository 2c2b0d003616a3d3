"""The stewards' review loop end to end, on the hand-made world of tests/transform/world.py:
the queue is built, `umkm er review` and `umkm er label` work from the command line, and a
decision changes the next build's clusters: a non_match splits a pair the model linked, a
match joins two records the model kept apart (even a pair blocking never proposed), and
the calibration table counts the decisions."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.transform.world import BUILD_VARIABLES, SNAPSHOT, TRUTH, insert_world
from umkm.stewardship.review import RecordRef, ReviewError, label_pair
from umkm.transform.dbt import run_dbt
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt

CAUTIOUS = ["--indirect-selection", "cautious"]
#: what a new label changes, within what the fixture built
ER_AND_AFTER = [
    "build",
    "--select",
    "stg_stewardship__er_labels+,+map_record_to_entity",
    "stg_stewardship__er_labels+,+stewardship",
    *CAUTIOUS,
]


def _build(url: str, args: list[str]) -> None:
    run_dbt(args, url=url, variables=BUILD_VARIABLES, capture=True)


def _entity(url: str, source_id: str, record_id: str) -> str:
    with connect(url) as conn:
        return conn.execute(
            "select entity_id from marts.map_record_to_entity "
            "where snapshot = %s and source_id = %s and record_id = %s",
            (SNAPSHOT, source_id, record_id),
        ).fetchone()[0]


def _umkm(url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, WAREHOUSE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "umkm", "er", *args], env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def built(warehouse):
    with connect(warehouse) as conn:
        insert_world(conn)
    _build(warehouse, ["build", "--select", "+map_record_to_entity", "+stewardship", *CAUTIOUS])
    return warehouse


def test_the_queue_and_the_review_command(built):
    with connect(built) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'stewardship' and table_name = 'er_review_queue'"
            )
        ]
    assert {"source_id_a", "record_id_b", "match_probability", "evidence"} <= set(columns)
    shown = _umkm(built, "review", "--limit", "3")
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr
    assert "decide: umkm er label" in shown.stdout or "no pair to review" in shown.stdout


def test_labels_change_the_next_build(built):
    # the two records of a business of two records, which the model links: one link
    by_business: dict[str, list] = {}
    for key, business in sorted(TRUTH.items()):
        by_business.setdefault(business, []).append(key)
    a, b = next(keys for keys in by_business.values() if len(keys) == 2)
    assert _entity(built, *a) == _entity(built, *b)
    # two records of different businesses the model keeps apart
    apart_a, apart_b = ("tokopedia", "T4"), ("lazada", "Z3")
    assert _entity(built, *apart_a) != _entity(built, *apart_b)

    labelled = _umkm(built, "label", f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}", "non_match")
    assert labelled.returncode == 0, labelled.stderr
    with connect(built) as conn:
        message = label_pair(
            conn, RecordRef(*apart_b), RecordRef(*apart_a), "match", "same owner, checked"
        )
    assert "match" in message
    _build(built, ER_AND_AFTER)

    assert _entity(built, *a) != _entity(built, *b)
    assert _entity(built, *apart_a) == _entity(built, *apart_b)
    with connect(built) as conn:
        rule = conn.execute(
            "select match_rule from intermediate.int_entity_links as l "
            "join intermediate.int_entity_records as x on l.rid_a = x.rid "
            "join intermediate.int_entity_records as y on l.rid_b = y.rid "
            "where (x.source_id, x.record_id, y.source_id, y.record_id) in ((%s, %s, %s, %s), "
            "(%s, %s, %s, %s))",
            (*apart_a, *apart_b, *apart_b, *apart_a),
        ).fetchone()
        decided = conn.execute(
            "select sum(decided_pairs) from stewardship.er_label_calibration"
        ).fetchone()[0]
    assert rule == ("steward",)
    assert decided >= 1  # the non_match pair was a candidate with a model probability


def test_the_audit_sample_and_its_calibration(built):
    with connect(built) as conn:
        audit = conn.execute(
            "select q.source_id_a, q.record_id_a, q.source_id_b, q.record_id_b, "
            "q.audit_stratum, q.audit_order, q.match_probability, c.pair_class, c.band_low, "
            "c.band_high from stewardship.er_review_queue as q "
            "join stewardship.er_calibration_strata as c on q.audit_stratum = c.stratum "
            "where q.audit_order is not null order by q.audit_order"
        ).fetchall()
    assert audit, "the hand-made world has uncertain pairs: the audit sample holds some"
    for *_, probability, pair_class, low, high in audit:
        assert low <= probability < high
        assert pair_class in ("marketplace", "marketplace-list", "list")
    # strata in turn: the first pair of every stratum comes before any second pair
    strata = [row[4] for row in audit]
    first_seen = [s for i, s in enumerate(strata) if s not in strata[:i]]
    assert strata[: len(first_seen)] == first_seen
    shown = _umkm(built, "review", "--audit", "--limit", "2")
    assert shown.returncode == 0, shown.stderr
    assert "decide: umkm er label" in shown.stdout

    # one decision calibrates its stratum when one is enough
    a_source, a_record, b_source, b_record, stratum = audit[0][:5]
    with connect(built) as conn:
        label_pair(
            conn, RecordRef(a_source, a_record), RecordRef(b_source, b_record), "match", None
        )
    run_dbt(
        ["build", "--select", "stg_stewardship__er_labels+,+er_calibration_strata", *CAUTIOUS],
        url=built,
        variables={**BUILD_VARIABLES, "er_calibration_min_labels": 1},
        capture=True,
    )
    with connect(built) as conn:
        decided, matches, share, shift = conn.execute(
            "select decided_pairs, steward_matches, calibrated_share, log_odds_shift "
            "from stewardship.er_calibration_strata where stratum = %s",
            (stratum,),
        ).fetchone()
    assert (decided, matches) == (1, 1)
    assert share is not None and shift > 0  # a match where the model was unsure


def test_bad_labels_are_one_line_errors(built):
    with connect(built) as conn:
        with pytest.raises(ReviewError, match="SOURCE:RECORD_ID"):
            RecordRef.parse("tokopedia-10")
        with pytest.raises(ReviewError, match="not a source"):
            RecordRef.parse("nosuch:1")
        with pytest.raises(ReviewError, match="no such record"):
            label_pair(
                conn, RecordRef("tokopedia", "nope"), RecordRef("lazada", "Z3"), "match", None
            )
    bad = _umkm(built, "label", "tokopedia:T4", "tokopedia:T4", "match")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "two different records" in bad.stderr


def test_a_queue_from_an_older_version_is_a_one_line_error(built):
    with connect(built) as conn:
        conn.execute("alter table stewardship.er_review_queue rename audit_order to older")
    try:
        shown = _umkm(built, "review", "--audit")
    finally:
        with connect(built) as conn:
            conn.execute("alter table stewardship.er_review_queue rename older to audit_order")
    assert shown.returncode == 3
    assert "Traceback" not in shown.stderr and "build the warehouse again" in shown.stderr

"""The scores `umkm eval` counts in the warehouse equal the in-memory reference
(`pairwise_scores`, pinned down by hand in test_pairwise.py), on the hand world and on a
random one; the truth file's snapshot column and repeated records are read as the reference
reads them."""

from __future__ import annotations

import random

import pytest

from tests.evaluation.test_pairwise import SLICE_LACKING, SLICE_PREDICTED, SLICE_TRUTH
from umkm.evaluation.in_warehouse import warehouse_pairwise_scores
from umkm.evaluation.pairwise import pairwise_scores, read_truth_records
from umkm.warehouse.db import connect

SNAPSHOT = "2017-11-15"
MAPPING = ("evaltest", "map")
RECORDS = ("evaltest", "records")


@pytest.fixture
def conn(warehouse):
    with connect(warehouse) as conn:
        conn.execute("drop schema if exists evaltest cascade")
        conn.execute("create schema evaltest")
        conn.execute(
            "create table evaltest.map (snapshot date, source_id text, record_id text, "
            "entity_id text)"
        )
        conn.execute(
            "create table evaltest.records (snapshot date, source_id text, record_id text, "
            "phone_hash bigint, email_hash bigint)"
        )
        yield conn
        conn.rollback()


def _store(conn, predicted, lacking, snapshot=SNAPSHOT):
    """The record map and the records (a null hash where a record lacks the field)."""
    with conn.cursor() as cur:
        cur.executemany(
            "insert into evaltest.map values (%s, %s, %s, %s)",
            [(snapshot, s, r, e) for (s, r), e in predicted.items()],
        )
        keys = set(predicted) | {k for gaps in lacking.values() for k in gaps}
        cur.executemany(
            "insert into evaltest.records values (%s, %s, %s, %s, %s)",
            [
                (
                    snapshot,
                    *key,
                    None if key in lacking.get("phone", ()) else 1,
                    None if key in lacking.get("email", ()) else 2,
                )
                for key in sorted(keys)
            ],
        )


def _write_truth(path, truth):
    path.write_text(
        "source_id,record_id,entity_id\n" + "".join(f"{s},{r},{e}\n" for (s, r), e in truth.items())
    )
    return path


def _in_warehouse(conn, truth_csv):
    return warehouse_pairwise_scores(
        conn, SNAPSHOT, truth_csv, mapping=MAPPING, records=RECORDS
    ).as_dict()


def test_the_hand_world_scores_as_the_reference(conn, tmp_path):
    _store(conn, SLICE_PREDICTED, SLICE_LACKING)
    got = _in_warehouse(conn, _write_truth(tmp_path / "records.csv", SLICE_TRUTH))
    want = pairwise_scores(SLICE_PREDICTED, SLICE_TRUTH, SLICE_LACKING).as_dict()
    assert got == want
    assert got["by_source_pair"] and got["lacking"]


def test_a_random_world_scores_as_the_reference(conn, tmp_path):
    rng = random.Random(23)
    sources = ["tokopedia", "shopee", "kemenkopukm", "kemenperin", "lazada"]
    keys = [(rng.choice(sources), str(i)) for i in range(600)]
    truth = {k: f"t{rng.randrange(200)}" for k in keys if rng.random() < 0.95}
    predicted = {k: (f"t{rng.randrange(200)}" if rng.random() < 0.1 else f"e{k}") for k in keys}
    for key, entity in list(truth.items()):
        if rng.random() < 0.8:
            predicted[key] = f"p-{entity}"  # most records mapped as the truth groups them
    lacking = {
        "phone": {k for k in keys if rng.random() < 0.25},
        "email": {k for k in keys if rng.random() < 0.5},
    }
    _store(conn, predicted, lacking)
    got = _in_warehouse(conn, _write_truth(tmp_path / "records.csv", truth))
    assert got == pairwise_scores(predicted, truth, lacking).as_dict()
    assert got["records_only_in_mapping"] > 0 and 0 < got["recall"] < 1


def test_the_truth_of_one_snapshot_and_its_last_word(conn, tmp_path):
    """A truth with a snapshot column: only the snapshot's rows count; a record listed twice
    keeps its last entity id (as `read_truth_records`)."""
    _store(conn, {("tokopedia", "7"): "p1", ("shopee", "7"): "p1", ("lazada", "3"): "p2"}, {})
    dated = tmp_path / "records.csv"
    dated.write_text(
        "snapshot,source_id,record_id,entity_id\n"
        "2017-10-15,tokopedia,7,OTHER\n"
        f"{SNAPSHOT},tokopedia,7,E9\n{SNAPSHOT},shopee,7,E1\n{SNAPSHOT},tokopedia,7,E1\n"
        f"{SNAPSHOT},lazada,3,E2\n"
    )
    got = _in_warehouse(conn, dated)
    predicted = {("tokopedia", "7"): "p1", ("shopee", "7"): "p1", ("lazada", "3"): "p2"}
    want = pairwise_scores(predicted, read_truth_records(dated, SNAPSHOT), {})
    assert got["true_positive_pairs"] == 1 and got["precision"] == 1.0
    assert {k: v for k, v in got.items() if k != "lacking"} == {
        k: v for k, v in want.as_dict().items() if k != "lacking"
    }


def test_without_the_records_relation_there_are_no_lacking_rows(conn, tmp_path):
    _store(conn, SLICE_PREDICTED, {})
    got = warehouse_pairwise_scores(
        conn,
        SNAPSHOT,
        _write_truth(tmp_path / "records.csv", SLICE_TRUTH),
        mapping=MAPPING,
        records=("evaltest", "absent"),
    )
    assert got.lacking == []
    assert got.as_dict() == pairwise_scores(SLICE_PREDICTED, SLICE_TRUTH).as_dict()


def test_a_truth_without_its_columns_is_named(conn, tmp_path):
    bad = tmp_path / "records.csv"
    bad.write_text("source,record,entity\na,1,x\n")
    with pytest.raises(ValueError, match="no column source_id, record_id, entity_id"):
        warehouse_pairwise_scores(conn, SNAPSHOT, bad, mapping=MAPPING, records=RECORDS)


def test_umkm_eval_names_a_bad_truth_file_in_one_line(warehouse, tmp_path, capsys):
    import argparse

    from umkm.evaluation.cli import _eval

    (tmp_path / "records.csv").write_text("source,record,entity\na,1,x\n")
    args = argparse.Namespace(truth=str(tmp_path), snapshot=SNAPSHOT, url=warehouse, json_out=None)
    assert _eval(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no column source_id" in err and "umkm sim truth" in err


def test_with_no_snapshot_mapped_every_truth_record_is_only_in_the_truth(conn, tmp_path):
    """An empty record map (no snapshot to score): as the reference scores an empty
    mapping against the whole truth file."""
    truth_csv = _write_truth(tmp_path / "records.csv", SLICE_TRUTH)
    got = warehouse_pairwise_scores(conn, None, truth_csv, mapping=MAPPING, records=RECORDS)
    assert got.records_only_in_truth == len(SLICE_TRUTH) and got.records_compared == 0
    assert got.as_dict() == pairwise_scores({}, read_truth_records(truth_csv)).as_dict()

"""Pairwise metrics on tiny hand cases (overall, per source pair, where a record lacks a
field), the truth reader and the bridge comparison."""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from umkm.evaluation.cli import format_report
from umkm.evaluation.pairwise import (
    compare_bridge,
    find_bridge,
    pairwise_scores,
    read_truth_records,
)


def _brute(predicted, truth):
    keys = sorted(predicted.keys() & truth.keys())
    pairs = list(combinations(keys, 2))
    pred = {p for p in pairs if predicted[p[0]] == predicted[p[1]]}
    true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    return len(pred & true), len(pred), len(true)


def test_perfect_match():
    truth = {("a", "1"): "x", ("b", "1"): "x", ("a", "2"): "y"}
    predicted = {("a", "1"): "e1", ("b", "1"): "e1", ("a", "2"): "e2"}
    result = pairwise_scores(predicted, truth)
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)
    assert result.predicted_entities == result.true_entities == 2


def test_one_false_merge_and_one_split():
    truth = {("s", str(i)): t for i, t in enumerate("AAABBC")}
    predicted = {("s", str(i)): p for i, p in enumerate("112223")}
    # predicted pairs: {0,1} in 1; {2,3},{2,4},{3,4} in 2 -> 4; true pairs: AAA 3 + BB 1 = 4
    # both: {0,1} and {3,4} -> 2
    result = pairwise_scores(predicted, truth)
    assert (result.true_positive_pairs, result.predicted_pairs, result.true_pairs) == (2, 4, 4)
    assert result.precision == pytest.approx(0.5)
    assert result.recall == pytest.approx(0.5)
    assert result.split_entities == 1  # A is split over 1 and 2
    assert result.merged_entities == 1  # 2 holds A and B


def test_contingency_counts_equal_brute_force():
    import random

    rng = random.Random(7)
    keys = [("src", str(i)) for i in range(300)]
    truth = {k: f"t{rng.randrange(90)}" for k in keys}
    predicted = {k: (truth[k] if rng.random() < 0.8 else f"p{rng.randrange(40)}") for k in keys}
    result = pairwise_scores(predicted, truth)
    assert (result.true_positive_pairs, result.predicted_pairs, result.true_pairs) == _brute(
        predicted, truth
    )


def test_only_shared_records_are_compared():
    truth = {("a", "1"): "x", ("a", "2"): "x", ("a", "3"): "x"}
    predicted = {("a", "1"): "e", ("a", "2"): "e", ("z", "9"): "e"}
    result = pairwise_scores(predicted, truth)
    assert result.records_compared == 2
    assert result.records_only_in_truth == 1 and result.records_only_in_mapping == 1
    assert result.precision == result.recall == 1.0


def test_no_pairs_at_all_is_perfect_not_a_division_by_zero():
    result = pairwise_scores({("a", "1"): "e"}, {("a", "1"): "t"})
    assert (result.precision, result.recall) == (1.0, 1.0)


# Five records of two businesses, A (two tokopedia shops and the registry entry) and B (a
# shopee shop and another registry entry); the matcher found the two tokopedia shops and
# wrongly joined the first registry entry with the shopee shop.
SLICE_TRUTH = {
    ("tokopedia", "1"): "A",
    ("tokopedia", "2"): "A",
    ("kemenkopukm", "1"): "A",
    ("shopee", "1"): "B",
    ("kemenkopukm", "2"): "B",
}
SLICE_PREDICTED = {
    ("tokopedia", "1"): "p1",
    ("tokopedia", "2"): "p1",
    ("kemenkopukm", "1"): "p2",
    ("shopee", "1"): "p2",
    ("kemenkopukm", "2"): "p3",
}
SLICE_LACKING = {
    "phone": {("kemenkopukm", "1")},
    "email": {("tokopedia", "2"), ("shopee", "1"), ("lazada", "9")},
}


def test_scores_per_source_pair_by_hand():
    result = pairwise_scores(SLICE_PREDICTED, SLICE_TRUTH, SLICE_LACKING)
    rows = {(r["source_a"], r["source_b"]): r for r in result.by_source_pair}
    # true pairs: A gives tok1-tok2 and tok1-reg1, tok2-reg1; B gives shp1-reg2.
    # predicted pairs: tok1-tok2 (right), reg1-shp1 (wrong).
    assert set(rows) == {
        ("tokopedia", "tokopedia"),
        ("kemenkopukm", "tokopedia"),
        ("kemenkopukm", "shopee"),
    }
    same = rows[("tokopedia", "tokopedia")]
    assert (same["true_pairs"], same["predicted_pairs"], same["true_positive_pairs"]) == (1, 1, 1)
    assert (same["precision"], same["recall"], same["f1"]) == (1.0, 1.0, 1.0)
    missed = rows[("kemenkopukm", "tokopedia")]
    assert (missed["true_pairs"], missed["predicted_pairs"], missed["true_positive_pairs"]) == (
        2,
        0,
        0,
    )
    # nothing predicted: no precision (not 1.0), recall 0, no F1
    assert (missed["precision"], missed["recall"], missed["f1"]) == (None, 0.0, None)
    wrong = rows[("kemenkopukm", "shopee")]
    assert (wrong["true_pairs"], wrong["predicted_pairs"], wrong["true_positive_pairs"]) == (
        1,
        1,
        0,
    )
    assert (wrong["precision"], wrong["recall"], wrong["f1"]) == (0.0, 0.0, 0.0)


def test_scores_where_a_record_lacks_a_field_by_hand():
    result = pairwise_scores(SLICE_PREDICTED, SLICE_TRUTH, SLICE_LACKING)
    rows = {r["field"]: r for r in result.lacking}
    # phone: pairs with reg1 -> true tok1-reg1, tok2-reg1; predicted reg1-shp1; none right
    phone = rows["phone"]
    assert phone["records_lacking"] == 1
    assert (phone["true_pairs"], phone["predicted_pairs"], phone["true_positive_pairs"]) == (
        2,
        1,
        0,
    )
    assert (phone["precision"], phone["recall"]) == (0.0, 0.0)
    # email: pairs with tok2 or shp1 -> true tok1-tok2, tok2-reg1, shp1-reg2;
    # predicted tok1-tok2, reg1-shp1; right: tok1-tok2. (lazada 9 is not compared.)
    email = rows["email"]
    assert email["records_lacking"] == 2
    assert (email["true_pairs"], email["predicted_pairs"], email["true_positive_pairs"]) == (
        3,
        2,
        1,
    )
    assert email["precision"] == pytest.approx(1 / 2)
    assert email["recall"] == pytest.approx(1 / 3)
    assert email["f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))


def test_without_lacking_sets_there_are_no_lacking_rows():
    result = pairwise_scores(SLICE_PREDICTED, SLICE_TRUTH)
    assert result.lacking == []
    assert len(result.by_source_pair) == 3


def test_slices_equal_brute_force_on_a_random_world():
    """Every slice counted from label counts equals the pairs enumerated one by one, and
    the source-pair slices add up to the overall counts."""
    import random

    rng = random.Random(11)
    sources = ["tokopedia", "shopee", "kemenkopukm", "kemenperin"]
    keys = [(rng.choice(sources), str(i)) for i in range(400)]
    truth = {k: f"t{rng.randrange(150)}" for k in keys}
    predicted = {k: (truth[k] if rng.random() < 0.85 else f"p{rng.randrange(60)}") for k in keys}
    lacking = {
        "phone": {k for k in keys if rng.random() < 0.2},
        "email": {k for k in keys if rng.random() < 0.5},
    }
    result = pairwise_scores(predicted, truth, lacking)

    pairs = list(combinations(sorted(keys), 2))
    pred = {p for p in pairs if predicted[p[0]] == predicted[p[1]]}
    true = {p for p in pairs if truth[p[0]] == truth[p[1]]}

    for row in result.by_source_pair:
        want = {
            p
            for p in pred | true
            if sorted((p[0][0], p[1][0])) == [row["source_a"], row["source_b"]]
        }
        assert (row["true_positive_pairs"], row["predicted_pairs"], row["true_pairs"]) == (
            len(want & pred & true),
            len(want & pred),
            len(want & true),
        )
    for row in result.lacking:
        with_gap = {
            p for p in pred | true if p[0] in lacking[row["field"]] or p[1] in lacking[row["field"]]
        }
        assert (row["true_positive_pairs"], row["predicted_pairs"], row["true_pairs"]) == (
            len(with_gap & pred & true),
            len(with_gap & pred),
            len(with_gap & true),
        )
        assert row["records_lacking"] == len(lacking[row["field"]])
    for name in ("true_positive_pairs", "predicted_pairs", "true_pairs"):
        assert sum(r[name] for r in result.by_source_pair) == getattr(result, name)
    assert len(result.by_source_pair) == 10  # 4 sources: 6 pairs + 4 with themselves


def test_truth_reader_accepts_a_snapshot_column(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("source_id,record_id,entity_id\ntokopedia,7,E1\nshopee,7,E1\n")
    assert read_truth_records(plain) == {("tokopedia", "7"): "E1", ("shopee", "7"): "E1"}
    dated = tmp_path / "dated.csv"
    dated.write_text(
        "snapshot,source_id,record_id,entity_id\n"
        "2017-10-15,tokopedia,7,E1\n2017-11-15,tokopedia,7,E1\n2017-11-15,lazada,3,E2\n"
    )
    assert read_truth_records(dated, "2017-10-15") == {("tokopedia", "7"): "E1"}
    assert len(read_truth_records(dated, "2017-11-15")) == 2


@pytest.mark.parametrize(
    "world",
    [
        {
            "snapshots": {
                "2017-11-15": {
                    "bridge": {
                        "kominfo_published": 100,
                        "ministry_list_records": -10,
                        "kemenkopukm_registry": 60,
                    }
                }
            }
        },
        {
            "2017-11-15": {
                "steps": [
                    {"step_id": "kominfo_published", "value": 100},
                    {"step_id": "ministry_list_records", "value": -10},
                    {"step_id": "kemenkopukm_registry", "value": 60},
                ]
            }
        },
        {
            "snapshots": [
                {
                    "snapshot": "2017-10-15",
                    "bridge": {
                        "kominfo_published": 1,
                        "ministry_list_records": 1,
                        "kemenkopukm_registry": 1,
                    },
                },
                {
                    "snapshot": "2017-11-15",
                    "bridge": {
                        "kominfo_published": {"value": 100},
                        "ministry_list_records": {"value": -10},
                        "kemenkopukm_registry": {"value": 60},
                    },
                },
            ]
        },
    ],
)
def test_bridge_found_in_any_layout(world):
    found = find_bridge(json.loads(json.dumps(world)), "2017-11-15")
    assert found == {
        "kominfo_published": 100,
        "ministry_list_records": -10,
        "kemenkopukm_registry": 60,
    }


def test_bridge_tolerance_is_two_percent_or_twenty_five_records():
    rows = compare_bridge(
        {
            "kominfo_published": 10_150,
            "ministry_list_records": -35,
            "feed_recount_gap": -36,
            "registry_only": 700,
        },
        {
            "kominfo_published": 10_000,
            "ministry_list_records": -10,
            "feed_recount_gap": -10,
            "registry_only": 1000,
        },
    )
    ok = {r["step_id"]: r["within_tolerance"] for r in rows}
    assert ok == {
        "kominfo_published": True,
        "ministry_list_records": True,
        "feed_recount_gap": False,
        "registry_only": False,
    }


def test_bridge_interval_covers_or_not():
    rows = compare_bridge(
        {"registry_only": 700, "not_in_registry": -500, "kominfo_published": 100},
        {"registry_only": 690, "not_in_registry": -480, "kominfo_published": 100},
        {
            "registry_only": (680, 700),
            "not_in_registry": (-510, -490),
            "kominfo_published": (100, 100),
        },
    )
    covered = {r["step_id"]: r["covered"] for r in rows}
    # a step whose interval is its value does not depend on matching: nothing to cover
    assert covered == {"registry_only": True, "not_in_registry": False, "kominfo_published": None}


def test_report_prints():
    result = pairwise_scores({("a", "1"): "e"}, {("a", "1"): "t"})
    text = format_report(
        {
            "snapshot": "2017-11-15",
            "pairwise": result.as_dict(),
            "bridge": compare_bridge({"kominfo_published": 1}, {"kominfo_published": 1}),
        }
    )
    assert "precision" in text and "kominfo_published" in text


def test_report_prints_the_slices():
    result = pairwise_scores(SLICE_PREDICTED, SLICE_TRUTH, SLICE_LACKING)
    text = format_report({"snapshot": "2017-11-15", "pairwise": result.as_dict()})
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    # label, truth, predicted, both, precision, recall, F1
    assert lines["kemenkopukm-tokopedia"][1:] == ["2", "0", "0", "-", "0.0000", "-"]
    assert lines["tokopedia-tokopedia"][1:] == ["1", "1", "1", "1.0000", "1.0000", "1.0000"]
    assert lines["email"][-6:] == ["3", "2", "1", "0.5000", "0.3333", "0.4000"]
    assert "(2 records)" in text


def test_population_coverage_per_method():
    from umkm.evaluation.pairwise import compare_population, find_population

    world = {
        "snapshots": {
            "2017-11-15": {"true_online_umkm": {"listed": 100, "on_no_list": 50, "total": 150}}
        }
    }
    planted = find_population(world, "2017-11-15")
    assert find_population(world, "2018-01-15") is None
    rows = [
        {"method": "observed", "estimate": 101, "ci_low": 101, "ci_high": 101},
        {"method": "chapman_2list", "estimate": 148, "ci_low": 140, "ci_high": 156},
        {"method": "loglinear_3list_pairwise", "estimate": 170, "ci_low": 160, "ci_high": 180},
        {"method": "broken", "estimate": 150, "ci_low": None, "ci_high": None},
    ]
    got = {r["method"]: (r["planted"], r["covered"]) for r in compare_population(rows, planted)}
    assert got == {
        "observed": (100, True),
        "chapman_2list": (150, True),
        "loglinear_3list_pairwise": (150, False),
        "broken": (150, False),
    }


def test_truth_folder_is_the_folder_or_its_truth(tmp_path):
    from umkm.evaluation.cli import truth_folder

    assert truth_folder(tmp_path) is None
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "records.csv").write_text("snapshot,source_id,record_id,entity_id\n")
    assert truth_folder(tmp_path) == tmp_path / "truth"  # `umkm sim truth --out DIR`
    assert truth_folder(tmp_path / "truth") == tmp_path / "truth"

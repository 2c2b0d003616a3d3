"""The draws of entity resolution's uncertain links (int_entity_cluster_draws), from which
the bridge and the population estimate take their intervals.

A small graph of scored pairs: a certain pair, uncertain pairs at 0.2, 0.5 and 0.8, one
of them chaining a third record, and an improbable pair. Over 400 draws each uncertain pair
must be a match about as often as its probability says, the certain pair always, the
improbable one never, a chain must join its records only when both links are drawn, and
records no uncertain pair touches are not drawn. With the draws' shared factor
(er_draw_correlation) each pair keeps its probability, but the pairs rise and fall
together: the number of pairs drawn varies more from draw to draw than independent pairs do.

Stewards decided twelve other pairs of one stratum (a marketplace and the registry, model
probability 0.2 to 0.5: each at 0.35), all matches: the model is underconfident there. With
the calibration (int_er_calibration) the undecided pair of that stratum is drawn far more
often than its 0.2; the pairs of the other strata keep their probabilities; with fewer
decisions than er_calibration_min_labels nothing moves.
"""

from __future__ import annotations

from statistics import NormalDist, pvariance

import pytest

from umkm.transform.dbt import run_dbt
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt

DRAWS = 400

#: (rid_a, rid_b, match probability); clusters as entity resolution chose them (links at
#: er_match_probability or more)
PAIRS = [
    (1, 2, 0.9999),  # certain: one cluster {1, 2}
    (2, 3, 0.5),  # uncertain: 3 joins {1, 2} in about half the draws
    (4, 5, 0.2),
    (6, 7, 0.8),
    (7, 8, 0.8),  # a chain 6-7-8: all three together in about 0.64 of the draws
    (9, 10, 0.001),  # improbable: never drawn
    (11, 12, 0.9995),  # certain and untouched: 11 and 12 are not drawn
]
CLUSTERS = {1: 1, 2: 1, 3: 3, 4: 4, 5: 5, 6: 6, 7: 6, 8: 8, 9: 9, 10: 10, 11: 11, 12: 11}
#: twelve decided pairs (101-102, 103-104, ...) in the stratum of pair 4-5: model 0.35,
#: every one a match
DECIDED = [(101 + 2 * i, 102 + 2 * i) for i in range(12)]
DECIDED_PROBABILITY = 0.35
#: the first record of a pair is on a marketplace, the second in the registry
SOURCES = ("tokopedia", "kemenkopukm")
#: no calibration: more decisions needed than there are
UNCALIBRATED = {"er_calibration_min_labels": 1000}


@pytest.fixture(scope="module")
def scored(warehouse):
    """The scored pairs and the chosen clusters, as entity resolution leaves them."""
    with connect(warehouse) as conn:
        conn.execute(
            "create table intermediate.int_entity_pairs_scored (rid_a bigint, rid_b bigint, "
            "source_id_a text, source_id_b text, match_weight float8, "
            "match_probability float8, steward_label text, decided_probability float8)"
        )
        insert = (
            "insert into intermediate.int_entity_pairs_scored "
            "values (%s, %s, %s, %s, 0, %s, %s, %s)"
        )
        for a, b, p in PAIRS:
            conn.execute(insert, (a, b, *SOURCES, p, None, p))
        for a, b in DECIDED:
            conn.execute(insert, (a, b, *SOURCES, DECIDED_PROBABILITY, "match", 1.0))
        conn.execute(
            "create table intermediate.int_entity_clusters (rid bigint, entity_rid bigint)"
        )
        linked = {b: a for a, b in DECIDED} | {a: a for a, _ in DECIDED}
        for rid, entity in (CLUSTERS | linked).items():
            conn.execute(
                "insert into intermediate.int_entity_clusters values (%s, %s)", (rid, entity)
            )
    return warehouse


def _by_draw(rows) -> dict[int, dict[int, int]]:
    by_draw: dict[int, dict[int, int]] = {}
    for draw, rid, entity in rows:
        by_draw.setdefault(draw, {})[rid] = entity
    return by_draw


@pytest.fixture(scope="module")
def draws(scored):
    """Independent pairs (no shared factor), no calibration."""
    return _by_draw(_build_draws(scored, correlation=0.0, **UNCALIBRATED))


@pytest.fixture(scope="module")
def correlated(scored):
    """Pairs that share most of their latent value within a draw, no calibration."""
    return _by_draw(_build_draws(scored, correlation=0.9, **UNCALIBRATED))


@pytest.fixture(scope="module")
def calibrated(scored):
    """Independent pairs, calibrated by the stewards' twelve decisions."""
    return _by_draw(_build_draws(scored, correlation=0.0))


def _build_draws(warehouse, correlation: float, **settings) -> list[tuple[int, int, int]]:
    """Build the calibration, the drawn records and the draws; their rows (draw, rid,
    entity_rid)."""
    run_dbt(
        [
            "run",
            "--select",
            "int_er_calibration",
            "int_entity_drawn_records",
            "int_entity_cluster_draws",
        ],
        url=warehouse,
        variables={"er_interval_draws": DRAWS, "er_draw_correlation": correlation, **settings},
        capture=True,
    )
    with connect(warehouse) as conn:
        return conn.execute(
            "select draw, rid, entity_rid from intermediate.int_entity_cluster_draws"
        ).fetchall()


def _together(by_draw, *rids) -> float:
    drawn = [d for n, d in by_draw.items() if n > 0]
    return sum(1 for d in drawn if len({d[r] for r in rids}) == 1) / len(drawn)


def test_draw_zero_is_the_chosen_clusters_and_only_touched_clusters_are_drawn(draws):
    assert set(draws) == set(range(DRAWS + 1))
    assert draws[0] == {rid: CLUSTERS[rid] for rid in range(1, 9)}
    for draw in draws.values():
        assert set(draw) == set(range(1, 9))  # 9-10 improbable, 11-12 certain: not drawn


def test_pairs_are_matches_as_often_as_their_probability(draws):
    assert _together(draws, 1, 2) == 1.0
    assert _together(draws, 2, 3) == pytest.approx(0.5, abs=0.08)
    assert _together(draws, 4, 5) == pytest.approx(0.2, abs=0.06)
    assert _together(draws, 6, 7) == pytest.approx(0.8, abs=0.06)
    assert _together(draws, 6, 7, 8) == pytest.approx(0.64, abs=0.08)


def test_a_cluster_is_named_by_its_smallest_record(draws):
    for draw in draws.values():
        for rid, entity in draw.items():
            assert entity <= rid
            assert draw.get(entity, entity) == entity


def test_a_rebuild_draws_the_same(draws, warehouse):
    again = _build_draws(warehouse, correlation=0.0, **UNCALIBRATED)
    assert {(d, r): e for d, r, e in again} == {
        (d, r): e for d, rows in draws.items() for r, e in rows.items()
    }


def _pairs_drawn(draw: dict[int, int]) -> int:
    """How many of the four uncertain pairs a draw made matches (in this graph a pair is a
    match exactly when its two records share a cluster)."""
    return sum(draw[a] == draw[b] for a, b in [(2, 3), (4, 5), (6, 7), (7, 8)])


def test_shared_factor_keeps_each_probability_and_moves_the_pairs_together(draws, correlated):
    assert _together(correlated, 1, 2) == 1.0
    assert _together(correlated, 2, 3) == pytest.approx(0.5, abs=0.08)
    assert _together(correlated, 4, 5) == pytest.approx(0.2, abs=0.06)
    assert _together(correlated, 6, 7) == pytest.approx(0.8, abs=0.06)
    # two links at 0.8 whose latent values correlate 0.9 are drawn together far more often
    # than 0.64 (independent): the bivariate normal gives about 0.75
    assert _together(correlated, 6, 7, 8) > 0.70
    independent = pvariance([_pairs_drawn(d) for n, d in draws.items() if n > 0])
    together = pvariance([_pairs_drawn(d) for n, d in correlated.items() if n > 0])
    # independent: the sum of p(1 - p) over the four pairs, 0.73
    assert independent == pytest.approx(0.73, abs=0.15)
    assert together > 1.8 * independent


def test_stewards_decisions_calibrate_their_stratum_only(calibrated, warehouse):
    with connect(warehouse) as conn:
        strata = {
            row[0]: row[1:]
            for row in conn.execute(
                "select stratum, pair_class, band_low, decided_pairs, steward_matches, "
                "is_calibrated, calibrated_share, log_odds_shift "
                "from intermediate.int_er_calibration"
            )
        }
    # a marketplace and the registry (class 2 of 3), band 0.2-0.5 (2 of 4): stratum 6
    pair_class, band_low, decided, matches, is_calibrated, share, shift = strata[6]
    assert (pair_class, band_low, decided, matches, is_calibrated) == (
        "marketplace-list",
        0.2,
        12,
        12,
        True,
    )
    # Beta posterior: (2 x 0.35 + 12) / (2 + 12)
    assert share == pytest.approx((2 * DECIDED_PROBABILITY + 12) / 14)
    assert shift > 2.5  # logit(0.907) - logit(0.35) = 2.90
    assert all(not row[4] and row[6] == 0 for stratum, row in strata.items() if stratum != 6)
    # the undecided pair of the stratum: 0.2 by the model, about 0.8 after the decisions
    assert _together(calibrated, 4, 5) > 0.65
    # the others keep their probabilities
    assert _together(calibrated, 2, 3) == pytest.approx(0.5, abs=0.08)
    assert _together(calibrated, 6, 7) == pytest.approx(0.8, abs=0.06)
    assert _together(calibrated, 1, 2) == 1.0


def test_normal_quantile_agrees_with_python(warehouse):
    probabilities = [1e-9, 0.001, 0.01, 0.02425, 0.3, 0.5, 0.8, 0.975, 0.999, 1 - 1e-9]
    with connect(warehouse) as conn:
        got = conn.execute(
            "select public.umkm_normal_quantile(p) from unnest(%s::float8[]) "
            "with ordinality as t (p, i) order by i",
            (probabilities,),
        ).fetchall()
        outside = conn.execute(
            "select public.umkm_normal_quantile(0), public.umkm_normal_quantile(1)"
        ).fetchone()
    for p, (x,) in zip(probabilities, got, strict=True):
        assert x == pytest.approx(NormalDist().inv_cdf(p), rel=1e-8, abs=1e-9)
    assert outside == (None, None)

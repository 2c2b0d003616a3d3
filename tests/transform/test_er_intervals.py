"""The draws of entity resolution's uncertain links (int_entity_cluster_draws), from which
the bridge and the population estimate take their intervals.

A small graph of scored pairs: a certain pair, uncertain pairs at 0.2, 0.5 and 0.8, one
of them chaining a third record, and an improbable pair. Over 400 draws each uncertain pair
must be a match about as often as its probability says, the certain pair always, the
improbable one never, a chain must join its records only when both links are drawn, and
records no uncertain pair touches are not drawn. With the draws' shared factor
(er_draw_correlation) each pair keeps its probability, but the pairs rise and fall
together: the number of pairs drawn varies more from draw to draw than independent pairs do.
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


@pytest.fixture(scope="module")
def scored(warehouse):
    """The scored pairs and the chosen clusters, as entity resolution leaves them."""
    with connect(warehouse) as conn:
        conn.execute(
            "create table intermediate.int_entity_pairs_scored (rid_a bigint, rid_b bigint, "
            "match_weight float8, match_probability float8, decided_probability float8)"
        )
        for a, b, p in PAIRS:
            conn.execute(
                "insert into intermediate.int_entity_pairs_scored values (%s, %s, 0, %s, %s)",
                (a, b, p, p),
            )
        conn.execute(
            "create table intermediate.int_entity_clusters (rid bigint, entity_rid bigint)"
        )
        for rid, entity in CLUSTERS.items():
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
    """Independent pairs (no shared factor)."""
    return _by_draw(_build_draws(scored, correlation=0.0))


@pytest.fixture(scope="module")
def correlated(scored):
    """Pairs that share most of their latent value within a draw."""
    return _by_draw(_build_draws(scored, correlation=0.9))


def _build_draws(warehouse, correlation: float) -> list[tuple[int, int, int]]:
    """Build the drawn records and the draws; their rows (draw, rid, entity_rid)."""
    run_dbt(
        ["run", "--select", "int_entity_drawn_records", "int_entity_cluster_draws"],
        url=warehouse,
        variables={"er_interval_draws": DRAWS, "er_draw_correlation": correlation},
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
    again = _build_draws(warehouse, correlation=0.0)
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

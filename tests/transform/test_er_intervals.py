"""The draws of entity resolution's uncertain links (int_entity_cluster_draws), from which
the bridge and the population estimate take their intervals.

A small graph of scored pairs: a certain pair, uncertain pairs at 0.2, 0.5 and 0.8, one
of them chaining a third record, and an improbable pair. Over 400 draws each uncertain pair
must be a match about as often as its probability says, the certain pair always, the
improbable one never, a chain must join its records only when both links are drawn, and
records no uncertain pair touches are not drawn.
"""

from __future__ import annotations

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
def draws(warehouse):
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
    by_draw: dict[int, dict[int, int]] = {}
    for draw, rid, entity in _build_draws(warehouse):
        by_draw.setdefault(draw, {})[rid] = entity
    return by_draw


def _build_draws(warehouse) -> list[tuple[int, int, int]]:
    """Build the drawn records and the draws; their rows (draw, rid, entity_rid)."""
    run_dbt(
        ["run", "--select", "int_entity_drawn_records", "int_entity_cluster_draws"],
        url=warehouse,
        variables={"er_interval_draws": DRAWS},
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
    again = _build_draws(warehouse)
    assert {(d, r): e for d, r, e in again} == {
        (d, r): e for d, rows in draws.items() for r, e in rows.items()
    }

"""public.umkm_connected_components (migration V052), which int_entity_clusters calls: the
components of a graph given as two arrays of edge ends, each node labelled with the
smallest node of its component, on the warehouse under test."""

from __future__ import annotations

import itertools
import random

from umkm.warehouse.db import connect


def _components(url: str, edges: list[tuple[int, int]]) -> dict[int, int]:
    with connect(url) as conn:
        rows = conn.execute(
            "select rid, comp_rid "
            "from public.umkm_connected_components(%s::bigint[], %s::bigint[])",
            ([a for a, _ in edges], [b for _, b in edges]),
        ).fetchall()
    labels = dict(rows)
    assert len(labels) == len(rows), "one row per node"
    return labels


def _expected(edges: list[tuple[int, int]]) -> dict[int, int]:
    """Union-find in Python: each node -> the smallest node of its component."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a == b:
            continue
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: find(node) for node in list(parent)}


def test_a_long_chain_is_one_component(warehouse):
    """A chain of 200 links in shuffled order: the six fixed rounds this replaced covered
    chains of 64 at most; the function goes on until no label changes."""
    nodes = list(range(1000, 1201))
    random.Random(24).shuffle(nodes)
    edges = list(itertools.pairwise(nodes))
    labels = _components(warehouse, edges)
    assert set(labels) == set(nodes)
    assert set(labels.values()) == {1000}


def test_components_match_union_find(warehouse):
    rng = random.Random(7)
    edges = [(rng.randrange(1, 400), rng.randrange(1, 400)) for _ in range(300)]
    edges += [(5, 5), (9, 10), (10, 9), (9, 10)]  # a self-loop, both directions, a repeat
    expected = _expected(edges)
    assert _components(warehouse, edges) == expected
    assert len(set(expected.values())) > 10  # many components, not one


def test_no_edges_no_rows_and_two_calls_in_one_transaction(warehouse):
    assert _components(warehouse, []) == {}
    with connect(warehouse) as conn:
        first, second = conn.execute(
            "select (select count(*) from public.umkm_connected_components("
            "array[1, 2]::bigint[], array[2, 3]::bigint[])), "
            "(select count(*) from public.umkm_connected_components("
            "array[7]::bigint[], array[8]::bigint[]))"
        ).fetchone()
    assert (first, second) == (3, 2)

"""The Fellegi-Sunter model's estimation (int_er_parameters) and scoring
(int_entity_pairs_scored) on a small labelled world with known parameters.

Pairs are drawn with independent comparison levels: matching pairs from the m
probabilities below, different businesses from the u probabilities, and among the
candidates, as blocking gives them, different businesses that agree on what a training
session selects on (a reseller's shared phone, namesakes in one regency). The random pairs
are drawn from u. dbt then builds the parameters from these tables alone: EM must recover
m (it is never told which pair is which) and the prior must find the number of matching
pairs; the scores must follow from the parameters.
"""

from __future__ import annotations

import math
import random

import pytest

from umkm.transform.dbt import run_dbt
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt

#: comparison -> P(level | same business), levels 0.. (as macro er_comparisons orders them)
M_TRUE = {
    "name": [0.01, 0.02, 0.05, 0.12, 0.05, 0.75],
    "owner": [0.02, 0.03, 0.05, 0.10, 0.80],
    "address": [0.30, 0.20, 0.50],
    "region": [0.02, 0.08, 0.90],
    "phone": [0.20, 0.80],
    "email": [0.10, 0.90],
    "licence": [0.05, 0.95],
    "national_id": [0.05, 0.95],
    "platform_named": [0.30, 0.70],
    "commodity": [0.15, 0.85],
}
#: comparison -> P(level | different businesses)
U_TRUE = {
    "name": [0.97, 0.02, 0.006, 0.002, 0.0005, 0.0015],
    "owner": [0.95, 0.04, 0.008, 0.001, 0.001],
    "address": [0.97, 0.028, 0.002],
    "region": [0.70, 0.25, 0.05],
    "phone": [0.999, 0.001],
    "email": [0.999, 0.001],
    "licence": [0.999, 0.001],
    "national_id": [0.9999, 0.0001],
    "platform_named": [0.80, 0.20],
    "commodity": [0.85, 0.15],
}
#: share of pairs where the comparison does not apply (a value missing): level -1
MISSING = {"email": 0.5, "licence": 0.7, "national_id": 0.95, "platform_named": 0.8,
           "address": 0.4}  # fmt: skip
COMPARISONS = list(M_TRUE)
#: comparisons that describe the owner (macro er_comparisons, `group`): one agreement counts
OWNER_GROUP = {"owner", "email", "national_id"}
N_MATCHES = 1500
N_RECORDS = 6000


def _levels(rng: random.Random, probabilities: dict, forced: dict | None = None) -> dict:
    out = {}
    for name in COMPARISONS:
        if forced and name in forced:
            out[name] = forced[name]
        elif rng.random() < MISSING.get(name, 0.0):
            out[name] = -1
        else:
            out[name] = rng.choices(range(len(probabilities[name])), probabilities[name])[0]
    return out


def _world() -> tuple[list[dict], list[dict]]:
    rng = random.Random(19)
    candidates = [_levels(rng, M_TRUE) | {"match": True} for _ in range(N_MATCHES)]
    # different businesses the blocks bring in: a reseller's phone, namesakes, the same
    # owner's name in one regency, and others found by weaker blocks
    for forced, n in (
        ({"phone": 1}, 700),
        ({"name": 5, "region": 2}, 700),
        ({"owner": 4, "region": 2}, 700),
        ({}, 4000),
    ):
        candidates += [_levels(rng, U_TRUE, forced) | {"match": False} for _ in range(n)]
    random_pairs = [_levels(rng, U_TRUE) for _ in range(200_000)]
    return candidates, random_pairs


@pytest.fixture(scope="module")
def model(warehouse):
    candidates, random_pairs = _world()
    columns = ", ".join(f"level_{c} smallint" for c in COMPARISONS)
    with connect(warehouse) as conn:
        conn.execute(
            "create table intermediate.int_entity_records as select i as rid, "
            "'world' as source_id, i::text as record_id "
            f"from generate_series(1, {N_RECORDS}) as i"
        )
        conn.execute(
            "create table intermediate.int_entity_pairs_compared (rid_a bigint, rid_b bigint, "
            "source_id_a text, source_id_b text, blocks text, "
            f"{columns}, name_value_key bigint, owner_value_key bigint, "
            "phone_value_key bigint, email_value_key bigint, is_match boolean)"
        )
        conn.execute(f"create table intermediate.int_er_random_pairs_compared ({columns})")
        with conn.cursor().copy(
            "copy intermediate.int_entity_pairs_compared (rid_a, rid_b, "
            + ", ".join(f"level_{c}" for c in COMPARISONS)
            + ", is_match) from stdin"
        ) as copy:
            for i, pair in enumerate(candidates):
                copy.write_row(
                    [2 * i + 1, 2 * i + 2, *(pair[c] for c in COMPARISONS), pair["match"]]
                )
        with conn.cursor().copy(
            "copy intermediate.int_er_random_pairs_compared from stdin"
        ) as copy:
            for pair in random_pairs:
                copy.write_row([pair[c] for c in COMPARISONS])
        conn.execute(
            "create table intermediate.int_er_term_frequencies "
            "(comparison text, value_key bigint, n_records bigint, term_frequency float8)"
        )
    run_dbt(
        [
            "run",
            "--select",
            "stg_stewardship__er_labels",
            "int_er_parameters",
            "int_entity_pairs_scored",
        ],
        url=warehouse,
        capture=True,
    )
    with connect(warehouse) as conn:
        rows = conn.execute(
            "select parameter, comparison, level_number, m_probability, u_probability, "
            "match_weight, prior_probability, expected_matching_pairs "
            "from intermediate.int_er_parameters"
        ).fetchall()
    return rows


def test_em_recovers_m_without_labels(model):
    levels = {(r[1], r[2]): r for r in model if r[0] == "level"}
    for name, probabilities in M_TRUE.items():
        for level, expected in enumerate(probabilities):
            estimated = levels[(name, level)][3]
            assert estimated == pytest.approx(expected, abs=0.05), (name, level, estimated)


def test_u_is_the_share_among_random_pairs(model):
    levels = {(r[1], r[2]): r for r in model if r[0] == "level"}
    for name, probabilities in U_TRUE.items():
        for level, expected in enumerate(probabilities):
            estimated = levels[(name, level)][4]
            assert estimated == pytest.approx(expected, rel=0.25, abs=1e-4), (name, level)


def test_prior_finds_the_matching_pairs(model):
    prior = next(r for r in model if r[0] == "prior")
    assert prior[7] == pytest.approx(N_MATCHES, rel=0.05)
    assert prior[6] == pytest.approx(prior[7] / (N_RECORDS * (N_RECORDS - 1) / 2))


def test_scores_follow_from_the_parameters_and_separate_the_classes(model, warehouse):
    weights = {(r[1], r[2]): r[5] for r in model if r[0] == "level"}
    prior_weight = next(r[5] for r in model if r[0] == "prior")
    with connect(warehouse) as conn:
        scored = conn.execute(
            "select s.match_weight, s.match_probability, c.is_match, "
            + ", ".join(f"s.level_{c}" for c in COMPARISONS)
            + " from intermediate.int_entity_pairs_scored as s "
            "join intermediate.int_entity_pairs_compared as c using (rid_a, rid_b)"
        ).fetchall()
    for row in scored[:200]:
        levels = zip(COMPARISONS, row[3:], strict=True)
        applying = {c: weights[(c, level)] for c, level in levels if level >= 0}
        owner = [w for c, w in applying.items() if c in OWNER_GROUP]
        # the owner's name, e-mail and national ID: every disagreement, the strongest agreement
        expected = (
            prior_weight
            + sum(w for c, w in applying.items() if c not in OWNER_GROUP)
            + sum(min(w, 0.0) for w in owner)
            + max([0.0, *owner])
        )
        assert row[0] == pytest.approx(expected, abs=1e-9)
        assert row[1] == pytest.approx(1 / (1 + 2**-expected), abs=1e-9)
    accepted = [(p >= 0.9, is_match) for _w, p, is_match, *_ in scored]
    true_positive = sum(1 for a, m in accepted if a and m)
    precision = true_positive / sum(1 for a, _m in accepted if a)
    recall = true_positive / sum(1 for _a, m in accepted if m)
    assert precision > 0.98 and recall > 0.95, (precision, recall)
    assert not math.isnan(prior_weight)

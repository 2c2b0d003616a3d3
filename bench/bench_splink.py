"""Benchmark: Splink 4 (DuckDB) beside our entity resolution, on the same staged records.

Reads the records of `intermediate.int_entity_records` from a built warehouse (one kept by
`bench/bench_pipeline.py --scale S --keep --keep-work-tables`) and gives Splink our
Fellegi-Sunter model as it is defined in dbt (the definitions below, one place: COLUMNS,
COMPARISONS, BLOCKS, and the settings and training sessions read from
dbt_project/macros/entity_resolution.sql): the same comparisons and levels, term-frequency
adjustments on the same exact levels, the same blocking rules, u by random sampling of as
many pairs as ours draws, m by EM over our training sessions (pairs that are candidates
and agree on the session's comparisons), the prior as ours computes it (the fixed point of
the expected matching pairs among the candidates), our match-probability threshold and our
guard against chained clusters. Then it rebuilds our entity resolution on the same
warehouse (`dbt run`, timed), checks that both give every candidate pair the same level on
every comparison, and prints for both pairwise precision, recall and F1 against the
simulator's truth (`umkm.evaluation.pairwise`), seconds, and what each model learned; with
`calibration_s` (bench_pipeline.CALIBRATION_SQL) and the machine's cores and load.

    make bench-splink SCALE=0.1                 # installs bench/requirements-splink.txt
    .venv/bin/python bench/bench_splink.py --scale 0.1 [--url postgresql://...]
        [--truth DIR] [--threshold P] [--u-pairs N]

Seconds: Splink's are the wall times of its training (u sampling, EM sessions), prediction
(blocking, comparing and scoring every candidate pair), the prior (ours' fixed point, then
the scores with it) and clustering (with the guard), the records already in DuckDB (the
copy out of PostgreSQL is printed apart); ours are the execution times dbt records in
`run_results.json` for the entity-resolution models (`int_entity_records+` within
`models/intermediate/entities`), rebuilt in this run, without the interval draws
(DRAW_MODELS: printed apart, Splink has no counterpart). The numbers are
measured, never asserted: this is not a test. `make test` never imports Splink.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import resource
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from umkm import settings

SNAPSHOT = "2017-11-15"

ER_MACROS = Path(__file__).resolve().parents[1] / "dbt_project/macros/entity_resolution.sql"


def _macro_literal(pattern: str):
    """A Python-compatible literal of ER_MACROS: the first group of `pattern`."""
    found = re.search(pattern, ER_MACROS.read_text(), re.S)
    if not found:
        raise RuntimeError(f"{ER_MACROS.name} no longer matches {pattern!r}: update the bench")
    return ast.literal_eval(found.group(1))


#: Our entity-resolution settings (macro er_setting's defaults: the project sets no vars).
OURS = _macro_literal(r"set defaults = (\{.*?\}) -%\}")

#: Our EM training sessions (macro er_training_sessions): name and fixed comparisons.
TRAINING_SESSIONS = _macro_literal(r"macro er_training_sessions\(\).*?return\((\[.*?\])\)")

# --- what both matchers compare: grow these when our matcher changes ---------------------

#: Splink's input, one row per record of intermediate.int_entity_records (alias `r`):
#: column -> (PostgreSQL expression, DuckDB type). The hashed keys stay 64-bit integers;
#: a list goes out joined by "|" (LIST_TYPES) and is split again in DuckDB.
COLUMNS = {
    "unique_id": ("r.rid", "BIGINT"),
    "source_id": ("r.source_id", "VARCHAR"),
    "record_id": ("r.record_id", "VARCHAR"),
    # what the comparisons read (macro er_comparisons)
    "name_norm": ("r.name_norm", "VARCHAR"),
    "name_sorted": ("r.name_sorted", "VARCHAR"),
    # pg_trgm's own trigrams of the name (show_trgm), so the similarity below is the
    # pg_trgm similarity ours uses: shared trigrams / all trigrams of the two names
    "name_trigrams": ("array_to_string(show_trgm(r.name_norm), '|')", "HASH[]"),
    "owner_hash": ("r.owner_hash", "BIGINT"),
    "owner_words": ("array_to_string(r.owner_words, '|')", "BIGINT[]"),
    "owner_initials": ("array_to_string(r.owner_initials, '|')", "VARCHAR[]"),
    "street_key": ("r.street_key", "BIGINT"),
    "address_key": ("r.address_key", "BIGINT"),
    "match_region": ("r.match_region", "VARCHAR"),
    "province_code": ("r.province_code", "VARCHAR"),
    "phone_hash": ("r.phone_hash", "BIGINT"),
    "email_hash": ("r.email_hash", "BIGINT"),
    "licence": ("r.licence", "VARCHAR"),
    "nik_hash": ("r.nik_hash", "BIGINT"),
    "platform": ("r.platform", "VARCHAR"),
    "platforms_named": ("array_to_string(r.platforms_named, '|')", "VARCHAR[]"),
    "commodity": ("r.commodity", "VARCHAR"),
    # the blocks' keys, the expressions of int_entity_candidate_pairs (identifier_blocks),
    # in columns of their own: a training session's rule reads them without Splink taking
    # the comparisons that read the same attribute out of the session
    "key_phone": ("r.phone_hash", "BIGINT"),
    "key_email": ("r.email_hash", "BIGINT"),
    "key_licence": ("hashtextextended(r.licence, 0)", "BIGINT"),
    "key_national_id": ("r.nik_hash", "BIGINT"),
    "key_owner_regency": ("hashtextextended(r.match_region, r.owner_hash)", "BIGINT"),
    "key_name_ends_regency": (
        "hashtextextended(least(substring(r.name_norm from '^[^ ]+'), "
        "substring(r.name_norm from '[^ ]+$')) || ' ' || greatest(substring(r.name_norm "
        "from '^[^ ]+'), substring(r.name_norm from '[^ ]+$')), "
        "hashtextextended(r.match_region, 0))",
        "BIGINT",
    ),
    "key_initials_regency": (
        "hashtextextended(array_to_string(r.owner_initials, ''), "
        "hashtextextended(r.match_region, 0))",
        "BIGINT",
    ),
    "key_address_regency": ("hashtextextended(r.match_region, r.address_key)", "BIGINT"),
    # the name's first and last word, which refine the e-mail, owner, initials and address
    # blocks (the last only when the name has two words or more, as ours)
    "name_first": ("substring(r.name_norm from '^[^ ]+')", "VARCHAR"),
    "name_last": ("nullif(substring(r.name_norm from '[^ ]+$'), r.name_norm)", "VARCHAR"),
}

#: DuckDB list types of COLUMNS; HASH[]: a list of texts kept as their 64-bit hashes.
LIST_TYPES = {"HASH[]": "UBIGINT[]", "BIGINT[]": "BIGINT[]", "VARCHAR[]": "VARCHAR[]"}


def trigram_similarity_at_least(column: str, level: float) -> str:
    """DuckDB condition on `l.column` and `r.column`: pg_trgm similarity >= `level`.

    similarity = shared / (|a| + |b| - shared), so with level = p/q it holds when
    shared * (p + q) >= p * (|a| + |b|): integers only (pg_trgm's float4 quotient of
    exactly 3/5 is above the float8 0.6 ours compares it with, and so is this), and the
    shared count computed once. show_trgm lists each trigram once, so the shared ones are
    those of `a` found in `b` (list_intersect gives the same count 30 times slower: 14.8 s
    against 0.5 s for a million pairs)."""
    fraction = Fraction(str(level)).limit_denominator(1000)
    p, q = fraction.numerator, fraction.denominator
    left, right = f"l.{column}", f"r.{column}"
    shared = f"len(list_filter({left}, lambda t: list_contains({right}, t)))"
    return f"len({left}) > 0 and {shared} * {p + q} >= {p} * (len({left}) + len({right}))"


def _equal(column: str) -> str:
    return f"l.{column} = r.{column}"


def _both(column: str) -> str:
    return f"l.{column} is not null and r.{column} is not null"


#: Either owner's words within the other's, initials too (PostgreSQL's `a <@ b`:
#: list_has_all(b, a)).
_OWNER_WITHIN = (
    "list_has_any(l.owner_words, r.owner_words) and ("
    "(list_has_all(r.owner_words, l.owner_words)"
    " and list_has_all(r.owner_initials, l.owner_initials))"
    " or (list_has_all(l.owner_words, r.owner_words)"
    " and list_has_all(l.owner_initials, r.owner_initials)))"
)

#: Our comparisons (macro er_comparisons), in DuckDB SQL over the two records `l` and `r`:
#: `applies` (else Splink's null level, our -1) and the levels from the most alike down as
#: (label, condition, term-frequency column or None); none of them is level 0. Splink
#: numbers the levels as ours: 0 for none, then up to the first. The name's similarity
#: bands are levels here (the first band that holds, from 0.8 down, as width_bucket).
COMPARISONS = [
    {
        "name": "name",
        "applies": _both("name_norm"),
        "levels": [
            ("equal", _equal("name_norm"), "name_norm"),
            ("the same words in another order", _equal("name_sorted"), None),
        ]
        + [
            (
                f"trigram similarity {bound} or more",
                trigram_similarity_at_least("name_trigrams", bound),
                None,
            )
            for bound in (0.8, 0.6, 0.4)
        ],
    },
    {
        "name": "owner",
        "applies": _both("owner_hash"),
        "levels": [
            ("equal (titles, degrees and word order aside)", _equal("owner_hash"), "owner_hash"),
            ("one name within the other, initials too", _OWNER_WITHIN, None),
            (
                "a word and the initials agree",
                "list_has_any(l.owner_words, r.owner_words)"
                " and l.owner_initials = r.owner_initials",
                None,
            ),
            ("a word agrees", "list_has_any(l.owner_words, r.owner_words)", None),
        ],
    },
    {
        "name": "address",
        "applies": _both("street_key"),
        "levels": [
            ("same street and number", _equal("address_key"), None),
            ("same street", _equal("street_key"), None),
        ],
    },
    {
        "name": "region",
        "applies": _both("province_code"),
        "levels": [
            ("same regency", _equal("match_region"), None),
            ("same province", _equal("province_code"), None),
        ],
    },
    {
        "name": "phone",
        "applies": _both("phone_hash"),
        "levels": [("equal", _equal("phone_hash"), "phone_hash")],
    },
    {
        "name": "email",
        "applies": _both("email_hash"),
        "levels": [("equal", _equal("email_hash"), "email_hash")],
    },
    {
        "name": "licence",
        "applies": _both("licence"),
        "levels": [("equal", _equal("licence"), None)],
    },
    {
        "name": "national_id",
        "applies": _both("nik_hash"),
        "levels": [("equal", _equal("nik_hash"), None)],
    },
    {
        "name": "platform_named",
        "applies": "(l.platform is not null and r.platforms_named is not null)"
        " or (r.platform is not null and l.platforms_named is not null)",
        "levels": [
            (
                "the list names the account's marketplace",
                "list_contains(r.platforms_named, l.platform)"
                " or list_contains(l.platforms_named, r.platform)",
                None,
            )
        ],
    },
    {
        "name": "commodity",
        "applies": "l.commodity <> 'Lainnya' and r.commodity <> 'Lainnya'",
        "levels": [("equal", _equal("commodity"), None)],
    },
]

#: Either end word of one name equal to either end word of the other (our word blocks
#: key each record by its first and its last word).
_END_WORDS = (
    "(l.name_first = r.name_first or l.name_first = r.name_last"
    " or l.name_last = r.name_first or l.name_last = r.name_last)"
)

#: Our blocks (int_entity_candidate_pairs, identifier_blocks), in its order: name -> (key
#: column, whether an end word of the name refines it). Ours caps a block at
#: er_max_block_size records and splits a larger one by name within regency and a sorted
#: neighbourhood; Splink has no cap (the bench prints the largest block of each rule).
#: Not mirrored: owner_word_regency (any word of the owner with any shop-name word of three
#: letters or more, within a regency; a block above er_max_block_size dropped), added after
#: the numbers in docs/PERFORMANCE.md. Splink would need the keys as an array exploded by
#: its blocking rule; its pairs show as "ours only" in the candidate check.
BLOCKS = {
    "phone": ("key_phone", False),
    "email": ("key_email", True),
    "licence": ("key_licence", False),
    "national_id": ("key_national_id", False),
    "owner_regency": ("key_owner_regency", True),
    "name_ends_regency": ("key_name_ends_regency", False),
    "initials_regency": ("key_initials_regency", True),
    "address_regency": ("key_address_regency", True),
}

#: Our entity-resolution models, rebuilt and timed in the run: int_entity_records and what
#: depends on it within the entities folder.
OUR_MODELS = "int_entity_records+,path:models/intermediate/entities"

#: The models of the matching (each must be in the run: the bench says so when one is not).
MATCHING_MODELS = (
    "int_entity_records",
    "int_entity_candidate_pairs",
    "int_entity_pairs_compared",
    "int_er_random_pairs_compared",
    "int_er_term_frequencies",
    "int_er_parameters",
    "int_entity_pairs_scored",
    "int_entity_links",
    "int_entity_clusters",
)

#: The selected models that are not matching: the interval draws of the clusters and the
#: bridge (Splink has no counterpart); timed apart.
DRAW_MODELS = ("int_entity_drawn_records", "int_entity_cluster_draws", "int_bridge_matching_draws")


def block_rule(name: str) -> str:
    """The blocking rule (Splink's l./r. SQL) of our block `name`."""
    key, by_word = BLOCKS[name]
    rule = _equal(key)
    return f"{rule} and {_END_WORDS}" if by_word else rule


def is_candidate() -> str:
    """A pair of records is one of our candidates: some block finds it."""
    return " or ".join(f"({block_rule(name)})" for name in BLOCKS)


def comparison(name: str) -> dict:
    for comp in COMPARISONS:
        if comp["name"] == name:
            return comp
    raise KeyError(f"no comparison {name!r} in COMPARISONS (ours: macro er_comparisons)")


def session_rule(fixed: list[str]) -> str:
    """The pairs of a training session, as ours takes them: candidates at the top level of
    every fixed comparison. Splink leaves out of the session the comparisons whose columns
    the rule reads: the fixed ones (the block keys are columns of their own)."""
    tops = [f"({comparison(n)['applies']}) and ({comparison(n)['levels'][0][1]})" for n in fixed]
    return " and ".join(f"({top})" for top in tops) + f" and ({is_candidate()})"


def level_sql(sql: str) -> str:
    """l.column / r.column (blocking rules) as column_l / column_r (comparison levels)."""
    return re.sub(r"\b([lr])\.(\w+)", r"\2_\1", sql)


def splink_comparisons() -> list:
    """COMPARISONS as Splink 4 comparison objects."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    out = []
    for comp in COMPARISONS:
        levels = [
            cll.CustomLevel(
                level_sql(f"not coalesce(({comp['applies']}), false)"), "does not apply"
            ).configure(is_null_level=True)
        ]
        for label, condition, tf_column in comp["levels"]:
            level = cll.CustomLevel(level_sql(condition), label)
            if tf_column:
                level = level.configure(tf_adjustment_column=tf_column)
            levels.append(level)
        levels.append(cll.ElseLevel())
        out.append(
            cl.CustomComparison(
                comparison_levels=levels,
                output_column_name=comp["name"],
                comparison_description=f"{comp['name']} (macro er_comparisons)",
            )
        )
    return out


# --- the records ---------------------------------------------------------------------------


def _copy_out(conn, query: str, path: Path) -> None:
    """COPY `query` out of the warehouse into the CSV file `path` (with a header)."""
    with (
        conn.cursor() as cur,
        open(path, "wb") as out,
        cur.copy(f"copy ({query}) to stdout with (format csv, header)") as copy,
    ):
        for chunk in copy:
            out.write(chunk)


def export_records(url: str, path: Path) -> int:
    """COPY the Splink input (COLUMNS) out of the warehouse into a CSV file."""
    from umkm.warehouse.db import connect

    select = ", ".join(f"{sql} as {name}" for name, (sql, _type) in COLUMNS.items())
    with connect(url) as conn:
        _copy_out(
            conn, f"select {select} from intermediate.int_entity_records as r order by r.rid", path
        )
        return conn.execute("select count(*) from intermediate.int_entity_records").fetchone()[0]


def _list_column(name: str, kind: str) -> str:
    """DuckDB expression: the "|"-joined text of a list column as its list ('' is empty)."""
    target = LIST_TYPES[kind]
    items = f"string_split({name}, '|')"
    if kind == "HASH[]":
        items = f"list_transform({items}, lambda t: hash(t))"
    return f"case when {name} = '' then []::{target} else {items}::{target} end as {name}"


def load_duckdb(path: Path, memory_limit: str = "4GB"):
    """The exported records as the DuckDB table `records`, in a connection held to
    `memory_limit` that spills beside `path` (sampling 1e7 pairs for u took 10 GB
    unbounded: the machine is shared)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"set memory_limit = '{memory_limit}'")
    con.execute(f"set temp_directory = '{path.parent / 'duckdb-spill'}'")
    types = ", ".join(
        f"'{name}': '{'VARCHAR' if kind in LIST_TYPES else kind}'"
        for name, (_sql, kind) in COLUMNS.items()
    )
    con.execute(
        f"create table records_csv as select * from read_csv('{path}', header = true, "
        f"columns = {{{types}}}, allow_quoted_nulls = false)"
    )
    # each trigram as its 64-bit hash, the same sets: u sampling held to 3 GB took 85.1 s
    # on these against 127.0 s on the texts (scale 0.01, the machine under load)
    lists = ", ".join(
        _list_column(name, kind) for name, (_sql, kind) in COLUMNS.items() if kind in LIST_TYPES
    )
    con.execute(f"create table records as select * replace ({lists}) from records_csv")
    con.execute("drop table records_csv")
    return con


def largest_blocks(con) -> dict[str, int]:
    """The largest block of each rule in records, counted as ours counts it (a word block
    per key and end word; a name with one word twice counts twice)."""
    out = {}
    for name, (key, by_word) in BLOCKS.items():
        if by_word:
            sizes = (
                f"select count(*) as n from (select {key} as k, name_first as w from records "
                f"union all select {key}, name_last from records) "
                "where k is not null and w is not null group by k, w"
            )
        else:
            sizes = f"select count(*) as n from records where {key} is not null group by {key}"
        out[name] = con.execute(f"select coalesce(max(n), 0) from ({sizes})").fetchall()[0][0]
    return out


# --- Splink --------------------------------------------------------------------------------


def fixed_point_prior(con, predictions, n_records: int) -> tuple[float, float]:
    """Ours' prior (int_er_parameters): starting from every candidate a match, the expected
    matching pairs = the sum over the candidates of their match probability under the
    level weights (`bf_*`: m/u of each pair's levels, 1 where a comparison does not apply;
    no term frequencies), 100 rounds. Returns (probability, pairs)."""
    factors = " * ".join(f"bf_{comp['name']}" for comp in COMPARISONS)
    # ln(1 / Bayes factor) per pattern of levels, clamped as ours (exp of +-700)
    patterns = con.execute(
        f"select count(*), least(700, greatest(-700, -ln({factors}))) "
        f"from {predictions.physical_name} group by all"
    ).fetchall()
    all_pairs = n_records * (n_records - 1) / 2
    expected = float(sum(n for n, _ in patterns))
    for _ in range(100):
        odds_against = (all_pairs - expected) / max(expected, 1e-9)
        expected = sum(n / (1.0 + odds_against * math.exp(w)) for n, w in patterns)
    return expected / all_pairs, expected


def rescored(con, db_api, predictions, prior: float):
    """`predictions` (scored with Splink's default prior) scored again with `prior`, by
    Splink's own formula (predict.py, _combine_prior_and_bfs: the prior's Bayes factor
    times each comparison's and each term frequency's, held within 1e-300..1e300): the
    prior is one factor, so the pairs need not be compared again."""
    factors = [f"bf_{comp['name']}" for comp in COMPARISONS]
    factors += [
        f"bf_tf_adj_{comp['name']}" for comp in COMPARISONS if any(t for *_, t in comp["levels"])
    ]
    product = " * ".join(factors)
    infinite = " or ".join(f"{f} = 'infinity'" for f in factors)
    name = f"{predictions.physical_name}_prior"
    con.execute(
        f"create table {name} as select * replace (log2(bf) as match_weight, case when "
        f"{infinite} then 1.0 else bf / (1 + bf) end as match_probability) from (select *, "
        f"least(greatest(cast({prior / (1 - prior)!r} as float8) * {product}, 1e-300), 1e300) "
        f"as bf from {predictions.physical_name})"
    )
    predictions.drop_table_from_database_and_remove_from_cache()
    return db_api.table_to_splink_dataframe(name, name)


def guarded(con, plain, strong, cap: int) -> str:
    """Ours' guard (int_entity_clusters) on Splink's clusters `plain`: a cluster above
    er_max_cluster_size records is clustered again on its strong links alone (`strong`:
    the clusters at er_strong_probability, which lie within it). Returns the table of
    (unique_id, cluster)."""
    name = f"{plain.physical_name}_guarded"
    con.execute(
        f"create or replace table {name} as select p.unique_id, case when count(*) over "
        f"(partition by p.cluster_id) > {cap} then 'strong:' || s.cluster_id else "
        f"p.cluster_id::varchar end as cluster from {plain.physical_name} as p inner join "
        f"{strong.physical_name} as s on p.unique_id = s.unique_id"
    )
    return name


def _mapping(con, table: str) -> dict:
    """record (source_id, record_id) -> cluster of the guarded clusters `table`."""
    rows = con.execute(
        f"select r.source_id, r.record_id, c.cluster from {table} as c "
        "inner join records as r on c.unique_id = r.unique_id"
    ).fetchall()
    return {(s, r): c for s, r, c in rows}


def run_splink(
    con, threshold: float, u_pairs: float, seed: int, other_thresholds: list[float]
) -> dict:
    """Train, predict and cluster; returns the record -> cluster map and the timings, the
    predictions' table name (for the level check), the model, and the maps at
    `other_thresholds` (clustered again, not timed)."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    n_records = con.execute("select count(*) from records").fetchall()[0][0]
    settings_obj = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=splink_comparisons(),
        blocking_rules_to_generate_predictions=[block_rule(name) for name in BLOCKS],
        retain_matching_columns=False,
        # the weights of each pair's levels and term frequencies (bf_*), for the prior
        retain_intermediate_calculation_columns=True,
        # ours runs er_em_iterations rounds of EM, without a convergence test
        max_iterations=int(OURS["er_em_iterations"]),
        em_convergence=1e-12,
    )
    # Splink's INFO logging (every EM iteration) off: warnings still print
    db_api = DuckDBAPI(connection=con)
    linker = Linker("records", settings_obj, db_api=db_api, set_up_basic_logging=False)
    times: dict[str, float] = {}

    started = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    times["u_sampling_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for session in TRAINING_SESSIONS:
        # ours' EM weighs levels, not values: no term frequencies in it
        linker.training.estimate_parameters_using_expectation_maximisation(
            session_rule(session["fixed"]), estimate_without_term_frequencies=True
        )
    times["em_s"] = time.perf_counter() - started
    times["training_s"] = times["u_sampling_s"] + times["em_s"]

    started = time.perf_counter()
    scored_default = linker.inference.predict()
    times["prediction_s"] = time.perf_counter() - started
    started = time.perf_counter()
    prior, expected_pairs = fixed_point_prior(con, scored_default, n_records)
    predictions = rescored(con, db_api, scored_default, prior)
    times["prior_s"] = time.perf_counter() - started
    # links by the first prediction rule (BLOCKS, in order) that found their pair
    names = list(BLOCKS)
    by_rule = con.execute(
        f"select match_key, count(*) from {predictions.physical_name} "
        "where match_probability >= ? group by match_key order by 1",
        [threshold],
    ).fetchall()
    # fetchall: DuckDB 2 refuses other work on a connection with a result left unfetched
    scored, above = con.execute(
        f"select count(*), count(*) filter (where match_probability >= ?) "
        f"from {predictions.physical_name}",
        [threshold],
    ).fetchall()[0]

    strong_p = float(OURS["er_strong_probability"])
    cap = int(OURS["er_max_cluster_size"])
    cluster = linker.clustering.cluster_pairwise_predictions_at_threshold
    started = time.perf_counter()
    strong = cluster(predictions, threshold_match_probability=strong_p)
    chosen = guarded(con, cluster(predictions, threshold_match_probability=threshold), strong, cap)
    times["clustering_s"] = time.perf_counter() - started
    times["total_s"] = (
        times["training_s"] + times["prediction_s"] + times["prior_s"] + times["clustering_s"]
    )
    mapping = _mapping(con, chosen)
    split = con.execute(f"select count(*) from {chosen} where cluster like 'strong:%'")
    split = split.fetchall()[0][0]
    others = {
        other: _mapping(
            con,
            guarded(con, cluster(predictions, threshold_match_probability=other), strong, cap),
        )
        for other in other_thresholds
    }
    # the same predictions with each pair's levels (gamma_*), for the level check (untimed)
    linker._settings_obj._retain_matching_columns = True
    linker._settings_obj._retain_intermediate_calculation_columns = False
    with_levels = linker.inference.predict()
    return {
        "mapping": mapping,
        "other_mappings": others,
        "predictions": with_levels.physical_name,
        "model": splink_model(linker),
        "times": {k: round(v, 2) for k, v in times.items()},
        "candidate_pairs": scored,
        "links": above,
        "split_by_guard": split,
        "links_by_first_rule": {names[int(key)]: n for key, n in by_rule},
        "prior": prior,
        "expected_matching_pairs": round(expected_pairs, 1),
        "duckdb_threads": con.execute("select current_setting('threads')").fetchall()[0][0],
    }


def splink_model(linker) -> dict:
    """comparison -> level -> (m, u, which of them Splink could not estimate): a level its
    u sample or its EM sessions never showed keeps Splink's default (m and u of a level
    ours never sees are floored at 1e-6 and half a pair instead)."""
    return {
        comp.output_column_name: {
            level.comparison_vector_value: (
                level.m_probability,
                level.u_probability,
                ("" if level._m_is_trained else "m") + ("" if level._u_is_trained else "u"),
            )
            for level in comp.comparison_levels
            if not level.is_null_level
        }
        for comp in linker._settings_obj.comparisons
    }


# --- ours ------------------------------------------------------------------------------


def run_ours(url: str) -> dict:
    """`dbt run` of our entity-resolution models on the warehouse: the execution time of
    each model from run_results.json (the interval draws apart), the wall time of the dbt
    process, the clusters, and the model it learned (int_er_parameters)."""
    from umkm.transform.dbt import run_dbt, target_dir
    from umkm.warehouse.db import connect

    started = time.perf_counter()
    run_dbt(
        ["run", "--select", OUR_MODELS], url=url, variables={"snapshot": SNAPSHOT}, capture=True
    )
    wall = time.perf_counter() - started
    results = json.loads((target_dir() / "run_results.json").read_text())["results"]
    models = {r["unique_id"].rsplit(".", 1)[-1]: round(r["execution_time"], 2) for r in results}
    missing = [m for m in MATCHING_MODELS if m not in models]
    if missing:
        print(f"warning: {OUR_MODELS} no longer selects {', '.join(missing)}")
    draws = {m: s for m, s in models.items() if m in DRAW_MODELS}
    matching = {m: s for m, s in models.items() if m not in DRAW_MODELS}
    with connect(url) as conn:
        rows = conn.execute(
            "select source_id, record_id, entity_id from intermediate.int_entity_clusters"
        ).fetchall()
        pairs = conn.execute("select count(*) from intermediate.int_entity_candidate_pairs")
        candidate_pairs = pairs.fetchone()[0]
        links = conn.execute("select count(*) from intermediate.int_entity_links").fetchone()[0]
        split = conn.execute(
            "select count(*) from intermediate.int_entity_clusters where split_by_guard"
        ).fetchone()[0]
        params = conn.execute(
            "select comparison, level_number, meaning, m_probability, u_probability, "
            "prior_probability, expected_matching_pairs from intermediate.int_er_parameters "
            "order by slot_index nulls last"
        ).fetchall()
    model: dict = {}
    prior = expected = None
    for comp, level, meaning, m, u, p, e in params:
        if comp is None:
            prior, expected = p, e
        else:
            model.setdefault(comp, {})[level] = (m, u, meaning)
    return {
        "mapping": {(s, r): e for s, r, e in rows},
        "models_s": matching,
        "total_s": round(sum(matching.values()), 2),
        # without int_entity_records (the records' latest attributes and keys: Splink's
        # counterpart is the export and load, not counted in its seconds)
        "matching_s": round(sum(s for m, s in matching.items() if m != "int_entity_records"), 2),
        "draws_s": draws,
        "dbt_wall_s": round(wall, 2),
        "candidate_pairs": candidate_pairs,
        "links": links,
        "split_by_guard": split,
        "model": model,
        "prior": prior,
        "expected_matching_pairs": round(expected, 1) if expected is not None else None,
    }


# --- the two side by side ------------------------------------------------------------------


def check_levels(con, url: str, predictions: str, path: Path) -> dict:
    """Both matchers' candidate pairs and their levels: ours from
    int_entity_pairs_compared, Splink's from its predictions (gamma_*). Counts the pairs
    both propose, each alone, and per comparison the shared pairs whose levels differ."""
    from umkm.warehouse.db import connect

    with connect(url) as conn:
        names = [
            row[0][len("level_") :]
            for row in conn.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'intermediate' and table_name = 'int_entity_pairs_compared' and column_name "
                "like 'level\\_%' order by ordinal_position"
            ).fetchall()
        ]
        columns = ", ".join(["rid_a", "rid_b", "blocks"] + [f"level_{n}" for n in names])
        _copy_out(conn, f"select {columns} from intermediate.int_entity_pairs_compared", path)
    con.execute(f"create table ours_pairs as select * from read_csv('{path}', header = true)")
    ours_names = set(names)
    splink_names = {comp["name"] for comp in COMPARISONS}
    shared = [n for n in names if n in splink_names]
    join = (
        f"ours_pairs as o inner join {predictions} as s "
        "on o.rid_a = s.unique_id_l and o.rid_b = s.unique_id_r"
    )
    differing = {}
    examples = {}
    for name in shared:
        where = f"o.level_{name} <> s.gamma_{name}"
        differing[name] = con.execute(f"select count(*) from {join} where {where}").fetchall()[0][0]
        if differing[name]:
            examples[name] = con.execute(
                f"select o.rid_a, o.rid_b, o.level_{name}, s.gamma_{name} from {join} "
                f"where {where} limit 3"
            ).fetchall()
    both = con.execute(f"select count(*) from {join}").fetchall()[0][0]
    ours_only = con.execute(
        f"select o.blocks, count(*) from ours_pairs as o anti join {predictions} as s "
        "on o.rid_a = s.unique_id_l and o.rid_b = s.unique_id_r group by 1 order by 2 desc"
    ).fetchall()
    splink_only = con.execute(
        f"select s.match_key, count(*) from {predictions} as s anti join ours_pairs as o "
        "on o.rid_a = s.unique_id_l and o.rid_b = s.unique_id_r group by 1 order by 2 desc"
    ).fetchall()
    rules = list(BLOCKS)
    return {
        "pairs_both": both,
        "pairs_ours_only": sum(n for _, n in ours_only),
        "pairs_ours_only_by_blocks": dict(ours_only[:5]),
        "pairs_splink_only": sum(n for _, n in splink_only),
        "pairs_splink_only_by_first_rule": {rules[int(k)]: n for k, n in splink_only},
        "comparisons_only_ours": sorted(ours_names - splink_names),
        "comparisons_only_splink": sorted(splink_names - ours_names),
        "pairs_with_other_levels": differing,
        "examples": examples,
    }


# --- driver --------------------------------------------------------------------------------


def _bench_url(scale: float) -> str:
    """The database bench_pipeline.py --keep leaves for this scale."""
    from umkm.warehouse.db import warehouse_url, with_database

    return with_database(warehouse_url(), f"bench_{str(scale).replace('.', '_')}")


def _check_warehouse(url: str, scale: float) -> str | None:
    """None when the warehouse holds built entity records, else the one-line fix."""
    import psycopg

    from umkm.warehouse.db import connect

    fix = (
        f"build it first: .venv/bin/python bench/bench_pipeline.py --scale {scale} --keep "
        "--keep-work-tables --no-rerun (or pass --url of a built warehouse)"
    )
    try:
        with connect(url) as conn:
            found = conn.execute(
                "select to_regclass('intermediate.int_entity_records') is not null"
            ).fetchone()[0]
            # the pipeline's build empties it (a work table) unless told to keep it
            filled = (
                found
                and conn.execute(
                    "select exists (select from intermediate.int_entity_records)"
                ).fetchone()[0]
            )
    except psycopg.OperationalError:
        return f"no warehouse at {url}: {fix}"
    if not found:
        return f"{url} has no intermediate.int_entity_records: {fix}"
    return None if filled else f"{url} has intermediate.int_entity_records emptied: {fix}"


def _truth_dir(args) -> Path:
    """The folder holding records.csv: --truth (or its truth/), else written here."""
    if args.truth:
        given = Path(args.truth)
        return given / "truth" if (given / "truth" / "records.csv").exists() else given
    from umkm_sim import write_truth

    out = settings.state_dir() / "bench" / f"truth-{args.scale}-seed{args.seed}"
    if not (out / "truth" / "records.csv").exists():
        write_truth(out, seed=args.seed, scale=args.scale, snapshots=SNAPSHOT)
    return out / "truth"


def _scores(mapping, truth, lacking) -> dict:
    from umkm.evaluation.pairwise import pairwise_scores

    result = pairwise_scores(mapping, truth, lacking).as_dict()
    result.pop("by_source")
    return result


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _weight(m, u) -> str:
    return f"{math.log2(m / u):7.2f}" if m and u else "      -"


def print_levels(check: dict) -> None:
    differing = check["pairs_with_other_levels"]
    same = [name for name, n in differing.items() if n == 0]
    print(
        f"candidate pairs: {check['pairs_both']:,} in both, {check['pairs_ours_only']:,} ours "
        f"only, {check['pairs_splink_only']:,} Splink's only; levels identical on all shared "
        f"pairs for {len(same)} of {len(differing)} comparisons"
    )
    for name, n in differing.items():
        if n:
            print(f"  {name}: {n:,} shared pairs at other levels, e.g. {check['examples'][name]}")
    for key in ("comparisons_only_ours", "comparisons_only_splink"):
        if check[key]:
            print(f"  {key.replace('_', ' ')}: {', '.join(check[key])}")
    if check["pairs_ours_only"]:
        print(f"  ours only, by blocks: {check['pairs_ours_only_by_blocks']}")
    if check["pairs_splink_only"]:
        print(f"  Splink's only, by first rule: {check['pairs_splink_only_by_first_rule']}")


def print_models(ours: dict, splink: dict) -> None:
    print("\nWhat each learned (weight = log2(m/u); default: what Splink could not estimate):")
    print(
        f"| {'comparison':<14} | lvl | {'meaning':<44} | {'m ours':>8} | {'m Splink':>8} | "
        f"{'u ours':>8} | {'u Splink':>8} | {'w ours':>7} | {'w Splink':>8} | default |"
    )
    for comp in COMPARISONS:
        name = comp["name"]
        for level, (m, u, meaning) in sorted(ours["model"].get(name, {}).items()):
            sm, su, default = splink["model"].get(name, {}).get(level, (math.nan, math.nan, ""))
            print(
                f"| {name:<14} | {level:>3} | {meaning[:44]:<44} | {m:>8.2g} | {sm:>8.2g} | "
                f"{u:>8.2g} | {su:>8.2g} | {_weight(m, u)} |  {_weight(sm, su)} | "
                f"{default:<7} |"
            )
    print(
        f"prior: ours {ours['prior']:.3g} ({ours['expected_matching_pairs']:,} expected "
        f"matching pairs), Splink {splink['prior']:.3g} "
        f"({splink['expected_matching_pairs']:,})"
    )


def print_results(results: dict) -> None:
    print(
        f"\nSplink side by side at scale {results['scale']} ({results['records']:,} records, "
        f"snapshot {SNAPSHOT}), {results['cores']} cores, load {results['load_average']}, "
        f"calibration_s {results['calibration_s']}"
    )
    print(
        f"| {'matcher':<7} | {'precision':>9} | {'recall':>7} | {'F1':>7} | "
        f"{'pred. pairs':>11} | {'true pairs':>10} | {'candidates':>10} | {'links':>9} | "
        f"{'seconds':>7} |"
    )
    print("|" + "|".join("-" * w for w in (9, 11, 9, 9, 13, 12, 12, 11, 9)) + "|")
    for name in ("ours", "splink"):
        run, pw = results[name], results[name]["pairwise"]
        print(
            f"| {name:<7} | {pw['precision']:>9.4f} | {pw['recall']:>7.4f} | {pw['f1']:>7.4f} | "
            f"{pw['predicted_pairs']:>11,} | {pw['true_pairs']:>10,} | "
            f"{run['candidate_pairs']:>10,} | {run['links']:>9,} | {run['total_s']:>7.1f} |"
        )
    for name in ("ours", "splink"):
        for row in results[name]["pairwise"]["lacking"]:
            print(
                f"{name} where a record lacks {row['field']} ({row['records_lacking']:,} "
                f"records): precision {_fmt(row['precision'])}, recall {_fmt(row['recall'])}, "
                f"F1 {_fmt(row['f1'])}"
            )
    for row in results["splink"]["other_thresholds"]:
        print(
            f"splink at match probability >= {row['threshold']}: precision "
            f"{row['precision']:.4f}, recall {row['recall']:.4f}, F1 {row['f1']:.4f}"
        )
    ours = results["ours"]
    per_model = ", ".join(f"{m} {s:.1f}" for m, s in ours["models_s"].items())
    draws = ", ".join(f"{m} {s:.1f}" for m, s in ours["draws_s"].items()) or "none"
    print(
        f"ours: {per_model} s (models' execution times; without int_entity_records "
        f"{ours['matching_s']} s; dbt run wall {ours['dbt_wall_s']} s, with the interval "
        f"draws: {draws} s); {ours['split_by_guard']:,} records split by the cluster guard"
    )
    t = results["splink"]["times"]
    print(
        f"splink: training {t['training_s']} s (u sampling {t['u_sampling_s']}, EM "
        f"{t['em_s']}), prediction {t['prediction_s']} s, prior {t['prior_s']} s (fixed "
        f"point and scores again), clustering "
        f"{t['clustering_s']} s at match probability >= {results['threshold']} (guard at "
        f"{OURS['er_strong_probability']} above {OURS['er_max_cluster_size']} records: "
        f"{results['splink']['split_by_guard']:,} records split); DuckDB threads "
        f"{results['splink']['duckdb_threads']}, load from PostgreSQL {results['load_s']} s "
        f"(not counted), peak RSS {results['peak_rss_mib']} MiB"
    )
    by_rule = ", ".join(f"{k} {n:,}" for k, n in results["splink"]["links_by_first_rule"].items())
    print(f"splink links by the first rule that found them: {by_rule}")
    largest = ", ".join(f"{k} {n}" for k, n in results["largest_blocks"].items())
    cap = int(OURS["er_max_block_size"])
    over = [k for k, n in results["largest_blocks"].items() if n > cap]
    print(
        f"largest block per rule: {largest} (ours caps at {cap}"
        + (f"; above it: {', '.join(over)}, which Splink does not split)" if over else ")")
    )
    print_levels(results["levels"])
    print_models(results["ours"], results["splink"])


def main() -> int:
    # a harness on the simulator's made-up worlds: the public development pseudonymisation
    # key is fine here (the pipeline refuses it elsewhere; UMKM_PII_KEY still wins)
    os.environ.setdefault("UMKM_DEV_MODE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=2017, help="the world's seed (for truth)")
    parser.add_argument(
        "--url",
        help="a built warehouse (default: bench_<scale>, kept by "
        "bench_pipeline.py --keep, on the warehouse server)",
    )
    parser.add_argument("--truth", help="umkm sim truth's --out folder (default: written now)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=float(OURS["er_match_probability"]),
        help="match probability (default: ours, er_match_probability)",
    )
    parser.add_argument(
        "--u-pairs",
        type=float,
        default=float(OURS["er_u_sample_pairs"]),
        help="pairs sampled for u (default: as many as ours, er_u_sample_pairs)",
    )
    parser.add_argument("--u-seed", type=int, default=1, help="seed of the u sampling")
    parser.add_argument(
        "--also-thresholds",
        default="0.5,0.99",
        help="match probabilities also clustered and scored (not timed)",
    )
    parser.add_argument("--duckdb-memory", default="4GB", help="DuckDB's memory_limit")
    args = parser.parse_args()
    others = [float(t) for t in args.also_thresholds.split(",") if t.strip()]

    try:
        import splink
    except ImportError:
        print("splink is not installed: run `make bench-splink` (bench/requirements-splink.txt)")
        return 2
    url = args.url or _bench_url(args.scale)
    problem = _check_warehouse(url, args.scale)
    if problem:
        print(problem)
        return 2
    from bench_pipeline import calibrate

    from umkm.evaluation.pairwise import read_lacking, read_truth_records
    from umkm.warehouse.db import connect

    truth = read_truth_records(_truth_dir(args) / "records.csv", SNAPSHOT)
    with connect(url) as conn:
        lacking = read_lacking(conn, SNAPSHOT)
    results: dict = {
        "scale": args.scale,
        "snapshot": SNAPSHOT,
        "cores": os.cpu_count(),
        "threshold": args.threshold,
        "u_pairs": args.u_pairs,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "calibration_s": calibrate(url),
    }
    print(
        f"calibration_s {results['calibration_s']} (load {results['load_average']}); "
        "rebuilding our models ...",
        flush=True,
    )
    ours = run_ours(url)
    print(f"ours: {ours['total_s']} s; exporting the records for Splink ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        results["records"] = export_records(url, Path(tmp) / "records.csv")
        con = load_duckdb(Path(tmp) / "records.csv", args.duckdb_memory)
        results["load_s"] = round(time.perf_counter() - started, 2)
        results["largest_blocks"] = largest_blocks(con)
        print(f"{results['records']:,} records in DuckDB; running Splink ...", flush=True)
        splink_run = run_splink(con, args.threshold, args.u_pairs, args.u_seed, others)
        results["levels"] = check_levels(
            con, url, splink_run.pop("predictions"), Path(tmp) / "pairs.csv"
        )
        con.close()
    results["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["splink_version"] = splink.__version__
    for run in (ours, splink_run):
        mapping = run.pop("mapping")
        run["pairwise"] = _scores(mapping, truth, lacking)
    splink_run["total_s"] = splink_run["times"]["total_s"]
    splink_run["other_thresholds"] = []
    for other, mapping in splink_run.pop("other_mappings").items():
        pw = _scores(mapping, truth, None)
        splink_run["other_thresholds"].append(
            {"threshold": other, **{k: pw[k] for k in ("precision", "recall", "f1")}}
        )
    results["ours"], results["splink"] = ours, splink_run
    print_results(results)
    out = settings.state_dir() / "bench" / f"splink-{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"Results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: Splink 4 (DuckDB) beside our entity resolution, on the same staged records.

Reads the records of `intermediate.int_entity_records` from a built warehouse (one kept by
`bench/bench_pipeline.py --scale S --keep`), runs Splink with blocking rules and comparisons
that mirror ours (the definitions below: COLUMNS, COMPARISONS, BLOCKS), u probabilities by
random sampling, m probabilities by EM over blocking-rule training sessions, a match
probability threshold and connected-components clustering; then rebuilds our entity
resolution models on the same warehouse (`dbt run`, timed) and prints, for both, pairwise
precision, recall and F1 against the simulator's truth (`umkm.evaluation.pairwise`) and
seconds, with `calibration_s` (bench_pipeline.CALIBRATION_SQL) and the machine's cores.

    make bench-splink SCALE=0.1                 # installs bench/requirements-splink.txt
    .venv/bin/python bench/bench_splink.py --scale 0.1 [--url postgresql://...]
        [--truth DIR] [--threshold 0.9] [--u-pairs 1e7]

Seconds: Splink's are its training (probability two records match, u sampling, EM
sessions), prediction (blocking and scoring every candidate pair) and clustering wall
times, with the records already in DuckDB (the copy out of PostgreSQL is printed apart);
ours are the execution times dbt records in `run_results.json` for the entity-resolution
models (`int_entity_records+` within `models/intermediate/entities`), rebuilt in this run.
The numbers are measured, never asserted: this is not a test. `make test` never imports
Splink.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from umkm import settings

SNAPSHOT = "2017-11-15"

# --- what both matchers compare: grow these when our matcher gains attributes -------------

#: Splink's input, one row per record of intermediate.int_entity_records (alias `r`):
#: column -> (PostgreSQL expression, DuckDB type). The hashed keys stay 64-bit integers.
COLUMNS = {
    "unique_id": ("r.rid", "BIGINT"),
    "source_id": ("r.source_id", "VARCHAR"),
    "record_id": ("r.record_id", "VARCHAR"),
    "name_norm": ("r.name_norm", "VARCHAR"),
    # pg_trgm's own trigrams of the name (show_trgm), so the similarity below is the
    # pg_trgm similarity our links use: shared trigrams / all trigrams of the two names
    "name_trigrams": ("array_to_string(show_trgm(r.name_norm), '|')", "VARCHAR"),
    # the name's first and last word, as our e-mail and owner blocks split by them
    "name_first": ("substring(r.name_norm from '^[^ ]+')", "VARCHAR"),
    "name_last": ("nullif(substring(r.name_norm from '[^ ]+$'), r.name_norm)", "VARCHAR"),
    "owner_hash": ("r.owner_hash", "BIGINT"),
    "phone_hash": ("r.phone_hash", "BIGINT"),
    "email_hash": ("r.email_hash", "BIGINT"),
    "licence": ("r.licence", "VARCHAR"),
    "nik_hash": ("r.nik_hash", "BIGINT"),
    "match_region": ("r.match_region", "VARCHAR"),
    "commodity": ("r.commodity", "VARCHAR"),
}

#: Columns Splink keeps beside the comparisons (to map its clusters back to records).
RETAINED = ["source_id", "record_id"]

#: The name's trigram similarity levels, as in our macro er_name_score.
NAME_SIMILARITY_LEVELS = (0.8, 0.6, 0.4)

#: The comparisons: (column, kind). "trigram": null / equal / similarity at each of
#: NAME_SIMILARITY_LEVELS / else; "exact": null / equal / else (Splink's ExactMatch).
#: Ours weighs the same attributes (macros er_score_without_name and er_name_score).
COMPARISONS = [
    ("name_norm", "trigram"),
    ("owner_hash", "exact"),
    ("phone_hash", "exact"),
    ("email_hash", "exact"),
    ("licence", "exact"),
    ("nik_hash", "exact"),
    ("match_region", "exact"),
    ("commodity", "exact"),
]

#: Either end word of one name equal to either end word of the other.
_END_WORDS = (
    "(l.name_first = r.name_first or l.name_first = r.name_last"
    " or l.name_last = r.name_first or l.name_last = r.name_last)"
)

#: Blocking rules for prediction, named after our blocks (int_entity_candidate_pairs):
#: identifiers alone; e-mail and owner-within-region refined by an end word of the name;
#: the same name within a region.
BLOCKS = {
    "phone": "l.phone_hash = r.phone_hash",
    "email": f"l.email_hash = r.email_hash and {_END_WORDS}",
    "licence": "l.licence = r.licence",
    "national_id": "l.nik_hash = r.nik_hash",
    "owner_regency": (
        f"l.owner_hash = r.owner_hash and l.match_region = r.match_region and {_END_WORDS}"
    ),
    "name_regency": "l.name_norm = r.name_norm and l.match_region = r.match_region",
}

#: EM training sessions (Splink's usual way): each estimates the m probabilities of every
#: comparison its rule does not use; together they cover all comparisons.
EM_SESSIONS = [
    BLOCKS["phone"],
    BLOCKS["name_regency"],
]

#: Rules taken as (almost) certain matches, and the recall assumed for them, to estimate the
#: probability that two random records match (Splink's
#: estimate_probability_two_random_records_match).
DETERMINISTIC_RULES = [
    BLOCKS["licence"],
    BLOCKS["national_id"],
    "l.phone_hash = r.phone_hash and l.name_norm = r.name_norm",
]
DETERMINISTIC_RECALL = 0.7

#: Our entity-resolution models, rebuilt and timed in the run: int_entity_records and what
#: depends on it within the entities folder (records, pairs, links, clusters, and any model
#: added there).
OUR_MODELS = "int_entity_records+,path:models/intermediate/entities"


def trigram_similarity_at_least(column: str, level: float) -> str:
    """DuckDB condition: pg_trgm similarity of two trigram sets >= `level`.

    similarity = shared / (|a| + |b| - shared), so with level = p/q it holds when
    shared * (p + q) >= p * (|a| + |b|): integers only (a similarity of exactly 3/5 is
    0.6 on both sides), and the shared count computed once. show_trgm lists each trigram
    once, so the shared ones are those of `a` found in `b` (list_intersect gives the same
    count 30 times slower: 14.8 s against 0.5 s for a million pairs)."""
    fraction = Fraction(str(level)).limit_denominator(1000)
    p, q = fraction.numerator, fraction.denominator
    left, right = f"{column}_l", f"{column}_r"
    shared = f"len(list_filter({left}, lambda t: list_contains({right}, t)))"
    return f"len({left}) > 0 and {shared} * {p + q} >= {p} * (len({left}) + len({right}))"


def splink_comparisons() -> list:
    """COMPARISONS as Splink 4 comparison objects."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    out = []
    for column, kind in COMPARISONS:
        if kind == "exact":
            out.append(cl.ExactMatch(column))
        elif kind == "trigram":
            levels = [cll.NullLevel(column), cll.ExactMatchLevel(column)]
            levels += [
                cll.CustomLevel(
                    trigram_similarity_at_least("name_trigrams", level),
                    f"trigram similarity >= {level}",
                )
                for level in NAME_SIMILARITY_LEVELS
            ]
            levels.append(cll.ElseLevel())
            out.append(
                cl.CustomComparison(
                    comparison_levels=levels,
                    output_column_name=column,
                    comparison_description=f"{column}: equal, pg_trgm similarity levels",
                )
            )
        else:
            raise ValueError(f"unknown comparison kind {kind!r} for {column}")
    return out


# --- the records ---------------------------------------------------------------------------


def export_records(url: str, path: Path) -> int:
    """COPY the Splink input (COLUMNS) out of the warehouse into a CSV file."""
    from umkm.warehouse.db import connect

    select = ", ".join(f"{sql} as {name}" for name, (sql, _type) in COLUMNS.items())
    query = (
        f"copy (select {select} from intermediate.int_entity_records as r order by r.rid) "
        "to stdout with (format csv, header)"
    )
    with connect(url) as conn, conn.cursor() as cur, open(path, "wb") as out:
        with cur.copy(query) as copy:
            for chunk in copy:
                out.write(chunk)
        return conn.execute("select count(*) from intermediate.int_entity_records").fetchone()[0]


def load_duckdb(path: Path, memory_limit: str = "4GB"):
    """The exported records as the DuckDB table `records` (trigrams as lists of hashes), in a
    connection held to `memory_limit` that spills beside `path` (sampling 1e7 pairs for u
    took 10 GB unbounded: the machine is shared)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"set memory_limit = '{memory_limit}'")
    con.execute(f"set temp_directory = '{path.parent / 'duckdb-spill'}'")
    types = ", ".join(f"'{name}': '{kind}'" for name, (_sql, kind) in COLUMNS.items())
    con.execute(
        f"create table records_csv as select * from read_csv('{path}', header = true, "
        f"columns = {{{types}}}, allow_quoted_nulls = false)"
    )
    # each trigram as its 64-bit hash, the same sets: u sampling held to 3 GB took 85.1 s
    # on these against 127.0 s on the texts (scale 0.01, the machine under load)
    con.execute(
        "create table records as select * replace (list_transform("
        "string_split(name_trigrams, '|'), lambda t: hash(t)) as name_trigrams) from records_csv"
    )
    con.execute("drop table records_csv")
    return con


# --- Splink --------------------------------------------------------------------------------


def _clusters(con, clusters) -> dict:
    rows = con.execute(
        f"select source_id, record_id, cluster_id::varchar from {clusters.physical_name}"
    ).fetchall()
    return {(s, r): c for s, r, c in rows}


def run_splink(
    con, threshold: float, u_pairs: float, seed: int, other_thresholds: list[float]
) -> dict:
    """Train, predict and cluster; returns the record -> cluster map and the timings, and
    the maps at `other_thresholds` (clustered again, not timed)."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    settings_obj = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=splink_comparisons(),
        blocking_rules_to_generate_predictions=list(BLOCKS.values()),
        additional_columns_to_retain=RETAINED,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    # Splink's INFO logging (every EM iteration) off: warnings still print
    linker = Linker(
        "records", settings_obj, db_api=DuckDBAPI(connection=con), set_up_basic_logging=False
    )
    times: dict[str, float] = {}

    started = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        DETERMINISTIC_RULES, recall=DETERMINISTIC_RECALL
    )
    times["lambda_s"] = time.perf_counter() - started
    started = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    times["u_sampling_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for rule in EM_SESSIONS:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    times["em_s"] = time.perf_counter() - started
    times["training_s"] = times["lambda_s"] + times["u_sampling_s"] + times["em_s"]

    started = time.perf_counter()
    predictions = linker.inference.predict()
    times["prediction_s"] = time.perf_counter() - started
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

    started = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    times["clustering_s"] = time.perf_counter() - started
    times["total_s"] = times["training_s"] + times["prediction_s"] + times["clustering_s"]
    mapping = _clusters(con, clusters)
    others = {
        other: _clusters(
            con,
            linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=other
            ),
        )
        for other in other_thresholds
    }
    lam = linker._settings_obj._probability_two_random_records_match
    return {
        "mapping": mapping,
        "other_mappings": others,
        "times": {k: round(v, 2) for k, v in times.items()},
        "candidate_pairs": scored,
        "links": above,
        "links_by_first_rule": {names[int(key)]: n for key, n in by_rule},
        "probability_two_random_records_match": lam,
        "duckdb_threads": con.execute("select current_setting('threads')").fetchall()[0][0],
    }


# --- ours ------------------------------------------------------------------------------


def run_ours(url: str) -> dict:
    """`dbt run` of our entity-resolution models on the warehouse: the execution time of
    each model from run_results.json, the wall time of the dbt process, and the clusters."""
    from umkm.transform.dbt import run_dbt, target_dir
    from umkm.warehouse.db import connect

    started = time.perf_counter()
    run_dbt(
        ["run", "--select", OUR_MODELS], url=url, variables={"snapshot": SNAPSHOT}, capture=True
    )
    wall = time.perf_counter() - started
    results = json.loads((target_dir() / "run_results.json").read_text())["results"]
    models = {r["unique_id"].rsplit(".", 1)[-1]: round(r["execution_time"], 2) for r in results}
    with connect(url) as conn:
        rows = conn.execute(
            "select source_id, record_id, entity_id from intermediate.int_entity_clusters"
        ).fetchall()
        pairs = conn.execute("select count(*) from intermediate.int_entity_candidate_pairs")
        candidate_pairs = pairs.fetchone()[0]
        links = conn.execute("select count(*) from intermediate.int_entity_links").fetchone()[0]
    return {
        "mapping": {(s, r): e for s, r, e in rows},
        "models_s": models,
        "total_s": round(sum(models.values()), 2),
        # without int_entity_records (the records' latest attributes and keys: Splink's
        # counterpart is the export and load, not counted in its seconds)
        "matching_s": round(sum(s for m, s in models.items() if m != "int_entity_records"), 2),
        "dbt_wall_s": round(wall, 2),
        "candidate_pairs": candidate_pairs,
        "links": links,
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
        "--no-rerun (or pass --url of a built warehouse)"
    )
    try:
        with connect(url) as conn:
            found = conn.execute(
                "select to_regclass('intermediate.int_entity_records') is not null"
            ).fetchone()[0]
    except psycopg.OperationalError:
        return f"no warehouse at {url}: {fix}"
    return None if found else f"{url} has no intermediate.int_entity_records: {fix}"


def _truth_dir(args) -> Path:
    """The folder holding records.csv: --truth (or its truth/), else written here."""
    if args.truth:
        given = Path(args.truth)
        return given / "truth" if (given / "truth" / "records.csv").exists() else given
    from umkm.sim import write_truth

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


def print_results(results: dict) -> None:
    print(
        f"\nSplink side by side at scale {results['scale']} ({results['records']:,} records, "
        f"snapshot {SNAPSHOT}), {results['cores']} cores, "
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
    print(
        f"ours: {per_model} s (models' execution times; without int_entity_records "
        f"{ours['matching_s']} s; dbt run wall {ours['dbt_wall_s']} s)"
    )
    t = results["splink"]["times"]
    print(
        f"splink: training {t['training_s']} s (probability two records match "
        f"{t['lambda_s']}, u sampling {t['u_sampling_s']}, EM {t['em_s']}), prediction "
        f"{t['prediction_s']} s, clustering {t['clustering_s']} s at match probability >= "
        f"{results['threshold']}; DuckDB threads {results['splink']['duckdb_threads']}, "
        f"load from PostgreSQL {results['load_s']} s (not counted), "
        f"peak RSS {results['peak_rss_mib']} MiB"
    )
    by_rule = ", ".join(f"{k} {n:,}" for k, n in results["splink"]["links_by_first_rule"].items())
    lam = results["splink"]["probability_two_random_records_match"]
    print(f"splink links by the first rule that found them: {by_rule}")
    print(f"splink probability two random records match: {lam:.3g}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=2017, help="the world's seed (for truth)")
    parser.add_argument(
        "--url",
        help="a built warehouse (default: bench_<scale>, kept by "
        "bench_pipeline.py --keep, on the warehouse server)",
    )
    parser.add_argument("--truth", help="umkm sim truth's --out folder (default: written now)")
    parser.add_argument("--threshold", type=float, default=0.9, help="match probability")
    parser.add_argument("--u-pairs", type=float, default=1e7, help="pairs sampled for u")
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
        "calibration_s": calibrate(url),
    }
    print(f"calibration_s {results['calibration_s']}; rebuilding our models ...", flush=True)
    ours = run_ours(url)
    print(f"ours: {ours['total_s']} s; exporting the records for Splink ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        results["records"] = export_records(url, Path(tmp) / "records.csv")
        con = load_duckdb(Path(tmp) / "records.csv", args.duckdb_memory)
        results["load_s"] = round(time.perf_counter() - started, 2)
        print(f"{results['records']:,} records in DuckDB; running Splink ...", flush=True)
        splink_run = run_splink(con, args.threshold, args.u_pairs, args.u_seed, others)
        con.close()
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

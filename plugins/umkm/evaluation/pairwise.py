"""Pairwise precision, recall and F1 of `marts.map_record_to_entity` against a truth.

Pairs are counted from the contingency table of (predicted entity, true entity) sizes,
never enumerated: with n_ij records in cell (i, j), the true-positive pairs are
sum C(n_ij, 2), the predicted pairs sum_i C(n_i., 2), the true pairs sum_j C(n_.j, 2).
Only records present in both the mapping and the truth are compared (a record the
warehouse quarantined is not a matching error); how many were left out is reported.

The same counts are split by the pair's two sources (an unordered pair, a source with
itself included: tokopedia-tokopedia are same-platform duplicate shops) and restricted to
pairs where at least one record lacks a field (phone, e-mail). Each record gets a label
(its source, which fields it lacks); a group (cell, predicted or true entity) with n_a
records of label a and n_b of label b holds n_a * n_b pairs of the two labels and
C(n_a, 2) of a with itself, so every slice is counted from label counts, never from pairs.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import asdict, dataclass, field
from pathlib import Path

from umkm.bridge import STEP_IDS

RecordKey = tuple[str, str]

#: The bridge's step ids, in order (docs/BRIDGE.md).
BRIDGE_STEPS = list(STEP_IDS)

#: Fields whose absence `umkm eval` slices by: name -> column of
#: `intermediate.int_records_unioned` that is null when a record lacks it.
LACKING_COLUMNS = {"phone": "phone_hash", "email": "email_hash"}


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass
class PairwiseResult:
    records_compared: int
    records_only_in_truth: int
    records_only_in_mapping: int
    predicted_entities: int
    true_entities: int
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    precision: float
    recall: float
    f1: float
    split_entities: int  # true entities spread over more than one predicted entity
    merged_entities: int  # predicted entities holding records of more than one true entity
    by_source: dict = field(default_factory=dict)
    # one row per unordered pair of sources with a true or a predicted pair (slice_row)
    by_source_pair: list[dict] = field(default_factory=list)
    # one row per field of `lacking`: pairs where at least one record lacks it
    lacking: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def slice_row(true_positive: int, predicted: int, true: int) -> dict:
    """Counts and scores of one slice of the pairs. Unlike the overall figures, a slice
    with no predicted (true) pairs has no precision (recall): None, not 1.0."""
    precision = true_positive / predicted if predicted else None
    recall = true_positive / true if true else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true_pairs": true,
        "predicted_pairs": predicted,
        "true_positive_pairs": true_positive,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def label_pair_counts(groups: dict, labels) -> Counter:
    """Pairs of records in one group, by the (sorted) pair of their integer labels.

    `groups` holds one or more aligned integer columns naming each record's group (a
    cell is a predicted and a true entity), `labels` each record's label. A group with n_a
    records of label a and n_b of label b holds n_a * n_b pairs of (a, b) and C(n_a, 2) of
    (a, a): counted on the (group, label) counts with pandas (the same in pure Python, a
    Counter per group, took 20 s at scale 0.1)."""
    import pandas as pd

    frame = pd.DataFrame({**groups, "label": labels})
    by = list(groups)
    counts = frame.groupby([*by, "label"], sort=False).size().rename("n").reset_index()
    counts = counts[counts.groupby(by)["n"].transform("sum") > 1]
    same = counts[counts["n"] > 1]
    parts = [same.assign(other=same["label"], pairs=same["n"] * (same["n"] - 1) // 2)]
    several = counts[counts.groupby(by)["label"].transform("size") > 1]
    cross = several.merge(several, on=by, suffixes=("", "_other"))
    cross = cross[cross["label"] < cross["label_other"]]
    parts.append(cross.assign(other=cross["label_other"], pairs=cross["n"] * cross["n_other"]))
    summed = (
        pd.concat([part[["label", "other", "pairs"]] for part in parts])
        .groupby(["label", "other"])["pairs"]
        .sum()
    )
    return Counter({(int(a), int(b)): int(n) for (a, b), n in summed.items() if n})


def _slices(counts: tuple[Counter, Counter, Counter], slice_of) -> dict:
    """(true positive, predicted, true) pair counts by label pair -> slice key -> row.
    `slice_of(label_a, label_b)` names the pair's slice, or None to leave it out."""
    totals: dict = defaultdict(lambda: [0, 0, 0])
    for position, counter in enumerate(counts):
        for (a, b), n in counter.items():
            key = slice_of(a, b)
            if key is not None:
                totals[key][position] += n
    return {key: slice_row(*values) for key, values in sorted(totals.items())}


def pairwise_scores(
    predicted: Mapping[RecordKey, str],
    truth: Mapping[RecordKey, str],
    lacking: Mapping[str, Set[RecordKey]] | None = None,
) -> PairwiseResult:
    """Compare two record -> entity mappings over the records they share.

    `lacking` names, per field (e.g. "phone"), the records without it; the result then
    also holds the scores over the pairs where at least one record lacks that field."""
    lacking = lacking or {}
    fields = list(lacking)
    common = predicted.keys() & truth.keys()
    cells: Counter = Counter()
    pred_sizes: Counter = Counter()
    true_sizes: Counter = Counter()
    for key in common:
        p, t = predicted[key], truth[key]
        cells[(p, t)] += 1
        pred_sizes[p] += 1
        true_sizes[t] += 1
    tp = sum(_pairs(n) for n in cells.values())
    pp = sum(_pairs(n) for n in pred_sizes.values())
    tt = sum(_pairs(n) for n in true_sizes.values())
    preds_per_truth = Counter(t for (_p, t) in cells)
    truths_per_pred = Counter(p for (p, _t) in cells)
    by_source = Counter(source for source, _ in common)

    # each record's label: its source and which fields it lacks, as one integer
    # (source number, then a bit per field) so pandas groups plain integers
    import numpy as np
    import pandas as pd

    keys = list(common)
    sources = sorted({source for source, _ in keys})
    number = {source: i for i, source in enumerate(sources)}
    code = np.fromiter((number[key[0]] for key in keys), dtype=np.int64, count=len(keys))
    for f in fields:
        gaps = lacking[f]
        code = (code << 1) | np.fromiter((key in gaps for key in keys), dtype=bool, count=len(keys))
    width = len(fields)

    def label(value: int) -> tuple:
        bits = tuple(bool(value >> (width - 1 - i) & 1) for i in range(width))
        return sources[value >> width], bits

    pred_of = pd.factorize(np.array([predicted[key] for key in keys], dtype=object))[0]
    true_of = pd.factorize(np.array([truth[key] for key in keys], dtype=object))[0]
    counts = tuple(
        Counter({(label(a), label(b)): n for (a, b), n in counter.items()})
        for counter in (
            label_pair_counts({"predicted": pred_of, "true": true_of}, code),
            label_pair_counts({"predicted": pred_of}, code),
            label_pair_counts({"true": true_of}, code),
        )
    )
    return result_from_counts(
        {
            "records_compared": len(common),
            "records_only_in_truth": len(truth.keys() - predicted.keys()),
            "records_only_in_mapping": len(predicted.keys() - truth.keys()),
            "predicted_entities": len(pred_sizes),
            "true_entities": len(true_sizes),
            "true_positive_pairs": tp,
            "predicted_pairs": pp,
            "true_pairs": tt,
            "split_entities": sum(1 for n in preds_per_truth.values() if n > 1),
            "merged_entities": sum(1 for n in truths_per_pred.values() if n > 1),
            "by_source": dict(sorted(by_source.items())),
        },
        counts,
        {name: sum(1 for k in common if k in lacking[name]) for name in fields},
    )


def result_from_counts(
    counts: Mapping, label_pairs: tuple[Counter, Counter, Counter], lacking: Mapping[str, int]
) -> PairwiseResult:
    """The result from what was counted (in memory here, or in the warehouse by
    `in_warehouse.warehouse_pairwise_scores`): `counts` holds the result's plain counts,
    `label_pairs` the (true positive, predicted, true) pairs by the pair of the records'
    labels ((source, (lacks field 1, ...)), as label_pair_counts), `lacking` the records
    lacking each field, in the order of the labels' bits."""
    tp, pp, tt = counts["true_positive_pairs"], counts["predicted_pairs"], counts["true_pairs"]
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    by_source_pair = [
        {"source_a": a, "source_b": b, **row}
        for (a, b), row in _slices(label_pairs, lambda x, y: tuple(sorted((x[0], y[0])))).items()
    ]
    lacking_rows = []
    for i, (name, records_lacking) in enumerate(lacking.items()):
        row = _slices(label_pairs, lambda x, y, i=i: True if x[1][i] or y[1][i] else None)
        lacking_rows.append(
            {
                "field": name,
                "records_lacking": records_lacking,
                **row.get(True, slice_row(0, 0, 0)),
            }
        )
    return PairwiseResult(
        **counts,
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        by_source_pair=by_source_pair,
        lacking=lacking_rows,
    )


def read_truth_records(path: Path, snapshot: str | None = None) -> dict[RecordKey, str]:
    """`truth/records.csv`: source_id,record_id,entity_id, optionally a leading snapshot.

    With a snapshot column, only that snapshot's rows are kept (all when `snapshot` is None;
    a record then keeps its last entity id)."""
    truth: dict[RecordKey, str] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        has_snapshot = "snapshot" in (reader.fieldnames or [])
        for row in reader:
            if has_snapshot and snapshot and row["snapshot"] != snapshot:
                continue
            truth[(row["source_id"], str(row["record_id"]))] = row["entity_id"]
    return truth


def read_lacking(conn, snapshot: str) -> dict[str, set[RecordKey]] | None:
    """Per field of LACKING_COLUMNS, the records of `snapshot` without it, from
    `intermediate.int_records_unioned` (None when the table is absent). Evaluation runs
    outside the pipeline and may read intermediate tables."""
    exists = conn.execute(
        "select to_regclass('intermediate.int_records_unioned') is not null"
    ).fetchone()[0]
    if not exists:
        return None
    flags = ", ".join(f"{column} is null" for column in LACKING_COLUMNS.values())
    any_null = " or ".join(f"{column} is null" for column in LACKING_COLUMNS.values())
    rows = conn.execute(
        f"select source_id, record_id, {flags} from intermediate.int_records_unioned "
        f"where snapshot = %s and ({any_null})",
        (snapshot,),
    )
    out: dict[str, set[RecordKey]] = {name: set() for name in LACKING_COLUMNS}
    for source_id, record_id, *nulls in rows:
        for name, is_null in zip(LACKING_COLUMNS, nulls, strict=True):
            if is_null:
                out[name].add((source_id, record_id))
    return out


# --- the bridge ------------------------------------------------------------------------


def _step_values(node) -> dict[str, float] | None:
    """Step id -> value from a dict or a list of step rows, in whatever shape it comes."""
    if isinstance(node, Mapping):
        found = {}
        for key, value in node.items():
            if key in BRIDGE_STEPS:
                if isinstance(value, Mapping):
                    value = value.get("value", value.get("planted"))
                if isinstance(value, int | float):
                    found[key] = float(value)
        if len(found) >= 3:
            return found
    if isinstance(node, list):
        found = {}
        for item in node:
            if isinstance(item, Mapping):
                step = item.get("step_id") or item.get("step") or item.get("id")
                value = item.get("value", item.get("planted"))
                if step in BRIDGE_STEPS and isinstance(value, int | float):
                    found[step] = float(value)
        if len(found) >= 3:
            return found
    return None


def _children(node) -> Iterable:
    if isinstance(node, Mapping):
        return node.values()
    if isinstance(node, list):
        return node
    return ()


def find_bridge(world, snapshot: str | None) -> dict[str, float] | None:
    """Find the planted bridge for `snapshot` in a world.json of unknown layout: descend
    into the subtree keyed by the snapshot first (dict key, or a list item whose
    `snapshot`/`date` is it), then take the first node that holds three or more step ids."""

    def snapshot_subtree(node):
        if snapshot is None:
            return None
        if isinstance(node, Mapping):
            if snapshot in node:
                return node[snapshot]
            if node.get("snapshot") == snapshot or node.get("date") == snapshot:
                return node
        for child in _children(node):
            hit = snapshot_subtree(child)
            if hit is not None:
                return hit
        return None

    def first_bridge(node):
        values = _step_values(node)
        if values:
            return values
        for child in _children(node):
            hit = first_bridge(child)
            if hit:
                return hit
        return None

    subtree = snapshot_subtree(world)
    return first_bridge(subtree if subtree is not None else world)


#: A bridge step is right when within this share of the planted value or this many records,
#: whichever is larger (issue 19's target: max(2 %, 25 records)).
STEP_TOLERANCE_SHARE = 0.02
STEP_TOLERANCE_RECORDS = 25


def compare_bridge(
    warehouse: Mapping[str, float],
    planted: Mapping[str, float],
    intervals: Mapping[str, tuple[float, float]] | None = None,
) -> list[dict]:
    """Per step: warehouse value, planted value, difference, within tolerance
    (STEP_TOLERANCE_SHARE of the planted value or STEP_TOLERANCE_RECORDS, whichever is
    larger) and, for a step whose 95 % interval is wider than its value (the steps that
    depend on matching), the interval and whether it covers the planted value."""
    rows = []
    for step in BRIDGE_STEPS:
        if step not in planted and step not in warehouse:
            continue
        got, want = warehouse.get(step), planted.get(step)
        ok = None
        if got is not None and want is not None:
            tolerance = max(STEP_TOLERANCE_SHARE * abs(want), STEP_TOLERANCE_RECORDS)
            ok = abs(got - want) <= tolerance
        low, high = (intervals or {}).get(step, (None, None))
        if low is not None and low == high:
            low = high = None
        rows.append(
            {
                "step_id": step,
                "warehouse": got,
                "planted": want,
                "difference": None if got is None or want is None else got - want,
                "within_tolerance": ok,
                "ci_low": low,
                "ci_high": high,
                "covered": None if low is None or want is None else low <= want <= high,
            }
        )
    return rows


def read_bridge(conn, snapshot: str) -> dict[str, float] | None:
    """`marts.mart_reconciliation_bridge` for a snapshot, or None when the mart is absent."""
    rows = _bridge_rows(conn, snapshot)
    if rows is None:
        return None
    return {step: float(value) for step, value, _low, _high in rows if value is not None}


def read_bridge_intervals(conn, snapshot: str) -> dict[str, tuple[float, float]]:
    """Each step's 95 % interval (ci_low, ci_high) in the bridge mart, where it has one."""
    rows = _bridge_rows(conn, snapshot) or []
    return {
        step: (float(low), float(high))
        for step, _value, low, high in rows
        if low is not None and high is not None
    }


def _bridge_rows(conn, snapshot: str) -> list[tuple] | None:
    exists = conn.execute(
        "select to_regclass('marts.mart_reconciliation_bridge') is not null"
    ).fetchone()[0]
    if not exists:
        return None
    return conn.execute(
        "select step_id, value, ci_low, ci_high from marts.mart_reconciliation_bridge "
        "where snapshot = %s",
        (snapshot,),
    ).fetchall()


def bridge_against_world(conn, world_path: Path, snapshot: str) -> list[dict] | None:
    if not world_path.exists():
        return None
    planted = find_bridge(json.loads(world_path.read_text()), snapshot)
    warehouse = read_bridge(conn, snapshot)
    if not planted or warehouse is None:
        return None
    return compare_bridge(warehouse, planted, read_bridge_intervals(conn, snapshot))


# --- the population estimate ------------------------------------------------------------


def find_population(world, snapshot: str) -> dict | None:
    """The planted `true_online_umkm` ({listed, on_no_list, total}) for `snapshot`."""
    node = (world.get("snapshots") or {}).get(snapshot) if isinstance(world, Mapping) else None
    found = node.get("true_online_umkm") if isinstance(node, Mapping) else None
    return dict(found) if isinstance(found, Mapping) and "total" in found else None


def compare_population(rows: Iterable[Mapping], planted: Mapping) -> list[dict]:
    """Per method of `mart_online_umkm_population`: does its 95% interval cover the planted
    total? ('observed' is compared with the planted count of listed businesses instead:
    it counts those, within 2%.)"""
    out = []
    for row in rows:
        method, estimate = row["method"], row["estimate"]
        if method == "observed":
            want = planted["listed"]
            ok = abs(estimate - want) <= 0.02 * want
        else:
            want = planted["total"]
            ok = row["ci_low"] is not None and row["ci_low"] <= want <= row["ci_high"]
        out.append(
            {
                "method": method,
                "estimate": estimate,
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "planted": want,
                "covered": ok,
            }
        )
    return out


def population_against_world(conn, world_path: Path, snapshot: str) -> list[dict] | None:
    if not world_path.exists():
        return None
    planted = find_population(json.loads(world_path.read_text()), snapshot)
    exists = conn.execute(
        "select to_regclass('marts.mart_online_umkm_population') is not null"
    ).fetchone()[0]
    if not planted or not exists:
        return None
    cur = conn.execute(
        "select method, estimate, ci_low, ci_high from marts.mart_online_umkm_population "
        "where snapshot = %s order by method",
        (snapshot,),
    )
    names = [c.name for c in cur.description]
    return compare_population([dict(zip(names, r, strict=True)) for r in cur], planted)


def evaluate(truth_dir: Path, snapshot: str | None = None, url: str | None = None) -> dict:
    """Everything `umkm eval` reports, as one dict."""
    from umkm.evaluation.in_warehouse import latest_mapped_snapshot, warehouse_pairwise_scores
    from umkm.warehouse.db import connect

    with connect(url) as conn:
        snapshot = snapshot or latest_mapped_snapshot(conn)
        # no snapshot mapped: every record of the truth is only in the truth
        result = warehouse_pairwise_scores(conn, snapshot, truth_dir / "records.csv")
        world = truth_dir / "world.json"
        bridge = bridge_against_world(conn, world, snapshot) if snapshot else None
        population = population_against_world(conn, world, snapshot) if snapshot else None
    return {
        "snapshot": snapshot,
        "pairwise": result.as_dict(),
        "bridge": bridge,
        "population": population,
    }

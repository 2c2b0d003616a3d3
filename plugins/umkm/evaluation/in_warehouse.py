"""Pairwise scores counted by the warehouse: what `umkm eval` runs.

`pairwise.pairwise_scores` holds both mappings in Python dicts: at scale 1.0 (9 million
records on each side) that process grew to about 9 GiB. Here the truth's records.csv is
streamed into a temporary table with COPY, joined to the snapshot's record map and each
record's lacking fields in PostgreSQL, and only the counts come back: per cell, predicted
and true entity, the pairs by the (sorted) pair of the records' labels (their source and
which fields they lack), exactly what `pairwise_scores` counts with pandas. The two agree
(tests/evaluation/test_in_warehouse.py); `pairwise_scores` stays the reference the hand
cases of tests/evaluation/test_pairwise.py pin down.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from psycopg import sql

from umkm.evaluation.pairwise import LACKING_COLUMNS, PairwiseResult, result_from_counts

MAPPING = ("marts", "map_record_to_entity")
RECORDS = ("intermediate", "int_records_unioned")
#: The truth's columns `umkm eval` reads; a records.csv may hold a `snapshot` column too.
TRUTH_COLUMNS = ("source_id", "record_id", "entity_id")


class TruthFileError(ValueError):
    """A truth file `umkm eval` cannot read."""


def _exists(conn, relation: tuple[str, str]) -> bool:
    name = sql.Identifier(*relation).as_string(conn)
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def latest_mapped_snapshot(conn, mapping: tuple[str, str] = MAPPING) -> str | None:
    """The latest snapshot of the record map (None when it is empty)."""
    row = conn.execute(
        sql.SQL("select max(snapshot)::text from {}").format(sql.Identifier(*mapping))
    ).fetchone()
    return row[0] if row else None


def load_truth(conn, path: Path, snapshot: str | None) -> None:
    """`path` (records.csv: source_id, record_id, entity_id, optionally snapshot) into the
    temporary table eval_truth, one row per record: with a snapshot column only that
    snapshot's rows; a record listed twice keeps its last entity id (as
    `pairwise.read_truth_records`)."""
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    missing = [c for c in TRUTH_COLUMNS if c not in header]
    if missing:
        raise TruthFileError(f"{path}: no column {', '.join(missing)} in its header")
    columns = [sql.Identifier(f"c{i}") for i in range(len(header))]
    conn.execute(
        sql.SQL("create temporary table eval_truth_rows ({}, seq bigserial)").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(c) for c in columns)
        )
    )
    copy = sql.SQL("copy eval_truth_rows ({}) from stdin with (format csv, header true)").format(
        sql.SQL(", ").join(columns)
    )
    with open(path, "rb") as handle, conn.cursor().copy(copy) as pipe:
        while chunk := handle.read(1 << 20):
            pipe.write(chunk)

    def col(name: str) -> sql.Identifier:
        return columns[header.index(name)]

    where = sql.SQL("true")
    if "snapshot" in header and snapshot:
        where = sql.SQL("{} = {}").format(col("snapshot"), sql.Literal(snapshot))
    conn.execute(
        sql.SQL(
            "create temporary table eval_truth as "
            "select distinct on ({s}, {r}) {s} as source_id, {r} as record_id, "
            "{e} as entity_id from eval_truth_rows where {where} "
            "order by {s}, {r}, seq desc"
        ).format(s=col("source_id"), r=col("record_id"), e=col("entity_id"), where=where)
    )
    conn.execute("drop table eval_truth_rows")
    conn.execute("analyze eval_truth")


def _label(text: str, width: int) -> tuple:
    """'<source>|<bits>' -> (source, (lacks field 1, ...))."""
    source, _, bits = text.rpartition("|")
    return source, tuple(bit == "1" for bit in bits[:width])


def warehouse_pairwise_scores(
    conn,
    snapshot: str | None,
    truth_csv: Path,
    *,
    mapping: tuple[str, str] = MAPPING,
    records: tuple[str, str] = RECORDS,
) -> PairwiseResult:
    """`pairwise.pairwise_scores` of the record map at `snapshot` against the truth file
    (every truth record only in the truth when `snapshot` is None), counted in the
    warehouse (temporary tables of this connection). `records`: the relation whose
    LACKING_COLUMNS are null where a record lacks the field (no lacking rows when it is
    absent or there is no snapshot)."""
    load_truth(conn, truth_csv, snapshot)
    fields = list(LACKING_COLUMNS) if snapshot and _exists(conn, records) else []
    bits = (
        sql.SQL(" || ").join(
            sql.SQL("(case when l.{} is null then '1' else '0' end)").format(
                sql.Identifier(LACKING_COLUMNS[f])
            )
            for f in fields
        )
        if fields
        else sql.Literal("")
    )
    lacking_join = (
        sql.SQL(
            "left join {rel} as l on l.snapshot = m.snapshot and l.source_id = m.source_id "
            "and l.record_id = m.record_id"
        ).format(rel=sql.Identifier(*records))
        if fields
        else sql.SQL("")
    )
    conn.execute(
        sql.SQL(
            "create temporary table eval_records as "
            "select m.entity_id as pred, t.entity_id as truth, "
            "m.source_id || '|' || {bits} as label "
            "from {mapping} as m join eval_truth as t "
            "on t.source_id = m.source_id and t.record_id = m.record_id "
            "{lacking_join} where m.snapshot = %s"
        ).format(bits=bits, mapping=sql.Identifier(*mapping), lacking_join=lacking_join),
        (snapshot,),
    )
    conn.execute("analyze eval_records")
    (only_in_truth,) = conn.execute(
        sql.SQL(
            "select count(*) from eval_truth as t where not exists (select from {mapping} as m "
            "where m.snapshot = %s and m.source_id = t.source_id and m.record_id = t.record_id)"
        ).format(mapping=sql.Identifier(*mapping)),
        (snapshot,),
    ).fetchone()
    (in_mapping,) = conn.execute(
        sql.SQL("select count(*) from {} where snapshot = %s").format(sql.Identifier(*mapping)),
        (snapshot,),
    ).fetchone()
    tp, pp, tt, predicted_entities, true_entities, split, merged = conn.execute(
        """
        with cells as (select pred, truth, count(*) as n from eval_records group by 1, 2),
        preds as (
            select pred, sum(n) as n, count(*) as truths from cells group by pred
        ),
        truths as (
            select truth, sum(n) as n, count(*) as preds from cells group by truth
        )
        select
            (select coalesce(sum(n * (n - 1) / 2), 0) from cells),
            (select coalesce(sum(n * (n - 1) / 2), 0) from preds),
            (select coalesce(sum(n * (n - 1) / 2), 0) from truths),
            (select count(*) from preds),
            (select count(*) from truths),
            (select count(*) from truths where preds > 1),
            (select count(*) from preds where truths > 1)
        """
    ).fetchone()
    width = len(fields)
    # each label's records: by source, and by the fields they lack
    by_label = [
        (_label(text, width), n)
        for text, n in conn.execute("select label, count(*) from eval_records group by label")
    ]
    by_source: Counter = Counter()
    for (source, _bits), n in by_label:
        by_source[source] += n
    compared = sum(by_source.values())
    lacking = {
        name: sum(n for (_source, bits), n in by_label if bits[i]) for i, name in enumerate(fields)
    }
    label_pairs = tuple(
        Counter(
            {
                (_label(a, width), _label(b, width)): int(n)
                for a, b, n in conn.execute(_label_pairs_sql(group))
                if n
            }
        )
        for group in (("pred", "truth"), ("pred",), ("truth",))
    )
    conn.execute("drop table eval_records, eval_truth")
    return result_from_counts(
        {
            "records_compared": compared,
            "records_only_in_truth": only_in_truth,
            "records_only_in_mapping": in_mapping - compared,
            "predicted_entities": predicted_entities,
            "true_entities": true_entities,
            "true_positive_pairs": int(tp),
            "predicted_pairs": int(pp),
            "true_pairs": int(tt),
            "split_entities": split,
            "merged_entities": merged,
            "by_source": dict(sorted(by_source.items())),
        },
        label_pairs,
        lacking,
    )


def _label_pairs_sql(group: tuple[str, ...]) -> sql.Composed:
    """Pairs of eval_records within one group (a cell, a predicted or a true entity) by the
    sorted pair of their labels: n_a * n_b for two labels, C(n_a, 2) for one with itself."""
    keys = sql.SQL(", ").join(sql.Identifier(c) for c in group)
    same = sql.SQL(" and ").join(
        sql.SQL("a.{c} = b.{c}").format(c=sql.Identifier(c)) for c in group
    )
    return sql.SQL(
        "with counted as (select {keys}, label, count(*) as n from eval_records "
        "group by {keys}, label) "
        "select a.label, b.label, sum(case when a.label = b.label then a.n * (a.n - 1) / 2 "
        "else a.n * b.n end) from counted as a join counted as b on {same} "
        "and a.label <= b.label group by 1, 2"
    ).format(keys=keys, same=same)

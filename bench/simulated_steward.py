"""Measure what a data steward's review does: decide the review queue's next pairs by the
simulator's truth, as a steward who always decides right would, through the same code as
`umkm er label` (umkm.stewardship.review.label_pair).

An evaluation harness, outside the pipeline (as `umkm eval`): it reads the simulator's
truth, which nothing in the pipeline may read, and writes decisions to
`stewardship.er_labels` like a steward. The next build follows them (the decisions are part
of the build's state, so `umkm run` of the same snapshot builds again); `umkm eval` then
shows what they changed. Each decision's note says it came from the truth.

    umkm run --snapshot 2017-11-15 --scale 0.01 --seed 7 --sim-profile heldout
    umkm sim truth --seed 7 --scale 0.01 --snapshot 2017-11-15 --profile heldout --out /tmp/t
    .venv/bin/python bench/simulated_steward.py --truth /tmp/t --pairs 100
    umkm run --snapshot 2017-11-15 --scale 0.01 --seed 7 --sim-profile heldout   # builds again
    umkm eval --truth /tmp/t

Prints how many pairs it decided, how many were matches, and how many of those the model
had linked (above er_match_probability) and not. The numbers are measured, never asserted:
this is not a test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NOTE = "simulated steward: decided by the simulator's truth (bench/simulated_steward.py)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", required=True, help="folder of `umkm sim truth --out`")
    parser.add_argument("--pairs", type=int, default=100, help="pairs to decide, queue order")
    parser.add_argument(
        "--audit", action="store_true", help="decide the audit sample (`umkm er review --audit`)"
    )
    parser.add_argument("--url", help="warehouse URL (default: the configured warehouse)")
    args = parser.parse_args()

    from umkm.evaluation.cli import truth_folder
    from umkm.evaluation.pairwise import read_truth_records
    from umkm.stewardship.review import label_pair, next_pairs
    from umkm.warehouse.db import connect, warehouse_url

    folder = truth_folder(Path(args.truth))
    if folder is None:
        print(
            f"error: no records.csv in {args.truth}: write it with `umkm sim truth`",
            file=sys.stderr,
        )
        return 2
    truth = read_truth_records(folder / "records.csv")
    decided = {"match": 0, "non_match": 0, "unknown": 0}
    linked = {"match": 0, "non_match": 0}
    with connect(args.url or warehouse_url()) as conn:
        for pair in next_pairs(conn, args.pairs, audit=args.audit):
            a, b = pair["a"], pair["b"]
            entity_a = truth.get((a.source_id, a.record_id))
            entity_b = truth.get((b.source_id, b.record_id))
            if entity_a is None or entity_b is None:
                decided["unknown"] += 1  # a record the truth does not hold: left undecided
                continue
            label = "match" if entity_a == entity_b else "non_match"
            label_pair(conn, a, b, label, NOTE)
            decided[label] += 1
            linked[label] += bool(pair["linked"])
    print(
        f"decided {decided['match'] + decided['non_match']} pairs of the "
        f"{'audit sample' if args.audit else 'review queue'}: "
        f"{decided['match']} match ({linked['match']} linked by the model, "
        f"{decided['match'] - linked['match']} not), {decided['non_match']} non_match "
        f"({linked['non_match']} linked by the model); {decided['unknown']} not in the truth"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

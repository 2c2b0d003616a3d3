"""`umkm er review` and `umkm er label`: the data stewards' review of entity resolution.

    umkm er review [--limit N]                 the next pairs to decide, with their evidence
    umkm er review --audit [--limit N]         the next pairs of the random audit sample
    umkm er label SOURCE:ID SOURCE:ID match|non_match [--note TEXT]

A decision is stored in stewardship.er_labels; the next build follows it over the model
(a match links the two records, a non_match keeps them apart) and checks the model against
all decisions (stewardship.er_label_calibration). Decisions on the audit sample, a random
sample of every class of pair and band of probability, calibrate the bridge's intervals
(stewardship.er_calibration_strata). See docs/ENTITY_RESOLUTION.md.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers) -> None:
    er = subparsers.add_parser(
        "er",
        help="entity resolution for data stewards: review uncertain pairs, record decisions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = er.add_subparsers(dest="er_action", required=True)
    review = actions.add_parser(
        "review",
        help="print the next pairs to decide (stewardship.er_review_queue)",
    )
    review.add_argument("--limit", type=int, default=5, help="pairs to print")
    review.add_argument(
        "--audit",
        action="store_true",
        help="the random audit sample instead of the review band: decisions on it "
        "calibrate the bridge's intervals",
    )
    review.add_argument("--json", action="store_true", help="print JSON instead of text")
    review.add_argument("--url", help="warehouse URL (default: the configured warehouse)")
    review.set_defaults(func=_review)
    label = actions.add_parser(
        "label",
        help="record a decision on a pair: match or non_match",
    )
    label.add_argument("record_a", help="the first record, SOURCE:RECORD_ID")
    label.add_argument("record_b", help="the second record, SOURCE:RECORD_ID")
    label.add_argument(
        "decision",
        choices=["match", "non_match"],
        help="the steward's decision; the next build follows it over the model",
    )
    label.add_argument("--note", help="why (kept with the decision)")
    label.add_argument("--url", help="warehouse URL (default: the configured warehouse)")
    label.set_defaults(func=_label)


def _connect(url: str | None):
    from umkm.warehouse.db import connect, warehouse_url

    return connect(url or warehouse_url())


def _review(args: argparse.Namespace) -> int:
    import psycopg

    from umkm.stewardship.review import next_pairs

    try:
        with _connect(args.url) as conn:
            pairs = next_pairs(conn, args.limit, audit=args.audit)
    except psycopg.errors.UndefinedTable:
        print(
            "umkm er review: no review queue yet: build the warehouse first "
            "(umkm run, or dbt build)",
            file=sys.stderr,
        )
        return 3
    except psycopg.errors.UndefinedColumn:
        print(
            "umkm er review: the review queue is from an older version of the project: "
            "build the warehouse again (umkm run; a changed dbt project always builds)",
            file=sys.stderr,
        )
        return 3
    if args.json:
        print(json.dumps(pairs, default=str, indent=2))
        return 0
    if not pairs:
        where = "audit sample" if args.audit else "review band"
        print(f"no pair to review: every pair in the {where} is decided")
        return 0
    for n, pair in enumerate(pairs, start=1):
        state = "a link now" if pair["linked"] else "not a link now"
        print(f"{n}. {pair['a']}  /  {pair['b']}   p = {pair['probability']:.3f} ({state})")
        for side in ("a", "b"):
            fields = pair[f"fields_{side}"] or {}
            shown = ", ".join(f"{k}: {v}" for k, v in fields.items() if v not in (None, ""))
            print(f"   {side}: {shown}")
        for comparison, detail in sorted(pair["evidence"].items()):
            weight = detail.get("weight")
            weight_text = f"{weight:+.1f}" if weight is not None else "   ."
            print(f"   {comparison:<15} {weight_text}  {detail.get('meaning')}")
        print(f"   decide: umkm er label {pair['a']} {pair['b']} match|non_match")
    return 0


def _label(args: argparse.Namespace) -> int:
    import psycopg

    from umkm.stewardship.review import RecordRef, ReviewError, label_pair

    try:
        a, b = RecordRef.parse(args.record_a), RecordRef.parse(args.record_b)
        with _connect(args.url) as conn:
            print(label_pair(conn, a, b, args.decision, args.note))
    except ReviewError as exc:
        print(f"umkm er label: {exc}", file=sys.stderr)
        return 2
    except psycopg.errors.UndefinedTable:
        print(
            "umkm er label: the warehouse has no stewardship schema: run "
            "`umkm warehouse bootstrap`",
            file=sys.stderr,
        )
        return 3
    return 0

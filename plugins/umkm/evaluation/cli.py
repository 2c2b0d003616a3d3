"""`umkm eval --truth DIR`: entity-resolution accuracy against a simulator's truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="pairwise precision/recall of entity resolution against a simulator's truth",
    )
    p.add_argument(
        "--truth",
        required=True,
        help="folder holding records.csv (and world.json), or the --out folder of "
        "`umkm sim truth` (which holds them in truth/)",
    )
    p.add_argument("--snapshot", help="snapshot date (default: the latest mapped)")
    p.add_argument("--url", help="warehouse URL (default: the configured warehouse)")
    p.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    p.set_defaults(func=_eval)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _slice_line(label: str, row: dict, width: int = 28) -> str:
    return (
        f"  {label:<{width}} {row['true_pairs']:>9,} {row['predicted_pairs']:>9,}"
        f" {row['true_positive_pairs']:>9,} {_score(row['precision']):>9}"
        f" {_score(row['recall']):>7} {_score(row['f1']):>7}"
    )


def format_slices(pw: dict) -> list[str]:
    """The per-source-pair and lacking-field tables of a pairwise result."""
    lines = []
    header = f"{'truth':>9} {'predicted':>9} {'both':>9} {'precision':>9} {'recall':>7} {'F1':>7}"
    if pw.get("by_source_pair"):
        lines.append(f"  {'pairs by source pair':<28} {header}")
        for row in pw["by_source_pair"]:
            lines.append(_slice_line(f"{row['source_a']}-{row['source_b']}", row))
    if pw.get("lacking"):
        lines.append(f"  {'pairs where a record lacks':<28} {header}")
        for row in pw["lacking"]:
            label = f"{row['field']} ({row['records_lacking']:,} records)"
            lines.append(_slice_line(label, row))
    return lines


def format_report(report: dict) -> str:
    pw = report["pairwise"]
    lines = [
        f"entity resolution vs truth, snapshot {report['snapshot']}",
        f"  records compared      {pw['records_compared']:>12,}"
        f"   (only in truth {pw['records_only_in_truth']:,},"
        f" only in mapping {pw['records_only_in_mapping']:,})",
        f"  entities  predicted   {pw['predicted_entities']:>12,}   truth {pw['true_entities']:,}",
        f"  pairs     predicted   {pw['predicted_pairs']:>12,}"
        f"   truth {pw['true_pairs']:,}   both {pw['true_positive_pairs']:,}",
        f"  precision             {pw['precision']:>12.4f}",
        f"  recall                {pw['recall']:>12.4f}",
        f"  F1                    {pw['f1']:>12.4f}",
        f"  true entities split   {pw['split_entities']:>12,}",
        f"  predicted merges      {pw['merged_entities']:>12,}",
        *format_slices(pw),
    ]
    if report.get("bridge"):
        lines.append(
            "  bridge step                     warehouse       planted    ok"
            "   95% interval (matching)  covers"
        )
        for row in report["bridge"]:
            got = "-" if row["warehouse"] is None else f"{row['warehouse']:,.0f}"
            want = "-" if row["planted"] is None else f"{row['planted']:,.0f}"
            ok = {True: "yes", False: "NO", None: "-"}[row["within_tolerance"]]
            low, high = row.get("ci_low"), row.get("ci_high")
            span = "-" if low is None else f"{low:,.0f}..{high:,.0f}"
            covers = {True: "yes", False: "NO", None: "-"}[row.get("covered")]
            lines.append(
                f"  {row['step_id']:<30} {got:>11} {want:>13} {ok:>5} {span:>24} {covers:>7}"
            )
    if report.get("population"):
        lines.append("  population (95% interval)      estimate      interval       planted    ok")
        for row in report["population"]:
            span = "-" if row["ci_low"] is None else f"{row['ci_low']:,.0f}-{row['ci_high']:,.0f}"
            ok = "yes" if row["covered"] else "NO"
            lines.append(
                f"  {row['method']:<28} {row['estimate']:>10,.0f} {span:>15}"
                f" {row['planted']:>11,.0f} {ok:>5}"
            )
    return "\n".join(lines)


def truth_folder(path: Path) -> Path | None:
    """The folder holding records.csv: `path` itself or its `truth/` (None: neither)."""
    for folder in (path, path / "truth"):
        if (folder / "records.csv").is_file():
            return folder
    return None


def _eval(args: argparse.Namespace) -> int:
    import sys

    from umkm.evaluation.in_warehouse import TruthFileError
    from umkm.evaluation.pairwise import evaluate

    folder = truth_folder(Path(args.truth))
    if folder is None:
        print(
            f"error: no records.csv in {args.truth} or {args.truth}/truth: write the truth with "
            f"`umkm sim truth --out {args.truth}` (same seed, scale and snapshot as the run)",
            file=sys.stderr,
        )
        return 2
    try:
        report = evaluate(folder, snapshot=args.snapshot, url=args.url)
    except TruthFileError as exc:
        print(f"error: {exc}: write the truth with `umkm sim truth`", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2, default=str))
    return 0

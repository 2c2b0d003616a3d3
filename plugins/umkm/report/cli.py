"""`umkm report --snapshot D`: write the static HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from umkm import settings


def _report(args: argparse.Namespace) -> int:
    from umkm.report import build_report
    from umkm.transform.dbt import publish_docs

    page = build_report(args.snapshot, out_dir=Path(args.out) if args.out else None)
    docs = publish_docs(page.parent)
    print(f"report written: {page} (and index.html beside it); dbt docs: {docs}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="write the static HTML report for a snapshot")
    p.add_argument("--snapshot", default=settings.HEADLINE_SNAPSHOT)
    p.add_argument("--out", help="output folder (default: .local/reports)")
    p.set_defaults(func=_report)

"""`umkm report --snapshot D`: write the static HTML report; `umkm serve`: serve it, with the
dbt docs and the Data Docs, on one local port."""

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


def _serve(args: argparse.Namespace) -> int:
    from umkm.report.serve import serve

    return serve(args.host, args.port, Path(args.reports))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="write the static HTML report for a snapshot")
    p.add_argument("--snapshot", default=settings.HEADLINE_SNAPSHOT)
    p.add_argument("--out", help="output folder (default: .local/reports)")
    p.set_defaults(func=_report)

    s = subparsers.add_parser(
        "serve",
        help="serve the report, the dbt docs and the Data Docs on one local port",
        description=(
            "Serve the report folder at /, the dbt docs at /dbt_docs/ and the Great "
            "Expectations Data Docs at /data_docs/ (what the alerts' Data Docs links point "
            "to). Prints the URLs; Ctrl-C stops it."
        ),
    )
    s.add_argument("--port", type=int, default=settings.DEFAULT_SERVE_PORT, help="port")
    s.add_argument(
        "--host",
        default=settings.DEFAULT_SERVE_HOST,
        help="address to listen on (0.0.0.0: every interface)",
    )
    s.add_argument(
        "--reports", default=str(settings.reports_dir()), help="the report folder to serve at /"
    )
    s.set_defaults(func=_serve)

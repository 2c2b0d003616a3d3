"""`umkm validate` and `umkm quarantine`: the same code the DAG tasks run."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from umkm.naming import parse_snapshot


def _snapshot(value: str) -> date:
    try:
        return parse_snapshot(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _latest_batch_id(conn, source_id: str, snap: date) -> str | None:
    from umkm.loading.audit import latest_loads

    load = latest_loads(conn, snap).get(source_id)
    return load["batch_id"] if load else None


def run_validate(args: argparse.Namespace) -> int:
    if args.write_suites:
        from umkm.validation.suites import write_suites

        for path in write_suites():
            print(f"wrote {path}")
        return 0
    if not args.source_id or not args.snapshot:
        print("error: give a source_id and --snapshot (or --write-suites)", file=sys.stderr)
        return 2
    from umkm.validation.runner import CriticalValidationError, batch_table, validate_batch
    from umkm.warehouse import connect, warehouse_url
    from umkm.warehouse.bootstrap import schema_exit_code

    url = warehouse_url()
    if code := schema_exit_code(url):
        return code
    with connect(url) as conn:
        has_batch = bool(
            conn.execute(
                "select to_regclass(%s) is not null", (batch_table(args.source_id, args.snapshot),)
            ).fetchone()[0]
        )
        batch_id = args.batch_id or _latest_batch_id(conn, args.source_id, args.snapshot)
    published = not has_batch
    if published:
        print(
            f"no batch table for {args.source_id} {args.snapshot}: validating the published "
            "rows" + ("" if args.quarantine else " (read-only; --quarantine to move bad rows)")
        )
    try:
        outcome = validate_batch(
            args.source_id,
            args.snapshot,
            batch_id or "published",
            url=url,
            published=published,
            quarantine=(args.quarantine if published else True),
            alert=not args.no_alert,
        )
    except CriticalValidationError as exc:
        print(str(exc), file=sys.stderr)
        if exc.outcome is not None:
            _print_outcome(exc.outcome)
        return 1
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_outcome(outcome)
    return 0


def _print_outcome(outcome) -> None:
    print(
        f"{outcome.source_id} {outcome.snapshot} batch {outcome.batch_id}: {outcome.status} "
        f"({outcome.rows_checked} rows checked, {outcome.rows_quarantined} quarantined)"
    )
    for r in outcome.results:
        mark = "ok  " if r["success"] else "FAIL"
        print(f"  {mark} [{r['severity']:8}] {r['name']}: {r['observed'] or '-'}")
    print(f"data docs: {outcome.data_docs_path}")


def run_quarantine(args: argparse.Namespace) -> int:
    from umkm.validation import quarantine
    from umkm.warehouse import connect, warehouse_url
    from umkm.warehouse.bootstrap import schema_exit_code

    if code := schema_exit_code(warehouse_url()):
        return code
    with connect(autocommit=True) as conn:
        if args.action == "list":
            rows = quarantine.list_quarantine(conn, args.source, args.snapshot)
            for r in rows:
                print(
                    f"{r['source_id']:13} {r['snapshot']} {r['batch_id']:45} "
                    f"{r['expectation']:24} pending={r['pending']} replayed={r['replayed']}"
                )
            if not rows:
                print("quarantine empty")
            return 0
        if not args.source_id or not args.snapshot:
            print(
                f"error: quarantine {args.action} needs source_id and --snapshot", file=sys.stderr
            )
            return 2
        if args.action == "show":
            rows = quarantine.show_quarantine(
                conn, args.source_id, args.snapshot, limit=args.limit, raw=args.raw
            )
            for r in rows:
                print(json.dumps(r, ensure_ascii=False, default=str))
            return 0
        try:
            result = quarantine.replay(conn, args.source_id, args.snapshot, args.batch_id)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(
            f"replayed {result.replayed} of {result.candidates} quarantined rows of "
            f"{result.source_id} {result.snapshot}; {result.still_failing} still failing"
        )
        return 0


def add_parser(subparsers) -> None:
    """Add `validate` and `quarantine` to the `umkm` command."""
    p = subparsers.add_parser("validate", help="run a source's validation suite")
    p.add_argument("source_id", nargs="?", help="a source of the registry")
    p.add_argument("--snapshot", type=_snapshot, help="reporting date YYYY-MM-DD")
    p.add_argument("--batch-id", help="batch id (default: the latest attempt's)")
    p.add_argument(
        "--quarantine",
        action="store_true",
        help="when validating published rows, move failing rows to the quarantine",
    )
    p.add_argument("--no-alert", action="store_true", help="do not send alerts")
    p.add_argument(
        "--write-suites", action="store_true", help="regenerate expectations/expectations/*.json"
    )
    p.set_defaults(func=run_validate)

    q = subparsers.add_parser("quarantine", help="inspect or replay quarantined rows")
    q.add_argument(
        "action",
        choices=["list", "show", "replay"],
        help="list: counts per source and reason; show: the rows; replay: validate them again",
    )
    q.add_argument("source_id", nargs="?", help="show, replay: the source")
    q.add_argument("--source", help="list: only this source")
    q.add_argument("--snapshot", type=_snapshot, help="reporting date YYYY-MM-DD")
    q.add_argument("--batch-id", help="only the rows of this load attempt")
    q.add_argument("--limit", type=int, default=50, help="list, show: at most this many rows")
    q.add_argument("--raw", action="store_true", help="show: include the record (personal data)")
    q.set_defaults(func=run_quarantine)

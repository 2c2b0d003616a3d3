"""The command line: the flags, the reachability checks of PostgreSQL and Redis (exit 3),
and the run with its exit code (0 passed, 1 a check failed, 2 set-up failed, 130
interrupted); every process is stopped on the way out, also on Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import date

from .common import REDIS, SNAPSHOT, SetupError, log, reachable
from .e2e import E2E


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Run the pipeline under CeleryExecutor with two workers (issue 8).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--snapshot", default=SNAPSHOT, type=lambda s: date.fromisoformat(s).isoformat())
    p.add_argument("--kill-worker", action="store_true", help="kill -9 worker-1 mid-run")
    p.add_argument("--kill-scheduler", action="store_true", help="kill -9 the scheduler mid-run")
    p.add_argument(
        "--backfill",
        metavar="FROM:TO",
        help="instead of one triggered snapshot: `airflow backfill create` of every ingestion "
        "DAG over the monthly snapshots FROM..TO (e.g. 2017-01-15:2019-12-15), the build "
        "for TO, then one DAG backfilled again (reprocess completed) to show nothing changes",
    )
    p.add_argument(
        "--build",
        choices=["auto", "yes", "no"],
        default="auto",
        help="also run warehouse_build (auto: when the dbt project parses)",
    )
    p.add_argument(
        "--feeds",
        choices=["auto", "sim", "loopback"],
        default="auto",
        help="sources: the feed simulator, or the tests' loopback FeedServers "
        "(auto: the simulator when it starts)",
    )
    p.add_argument(
        "--sources",
        help="comma-separated source ids to ingest (default: all); bps is always loaded, first",
    )
    p.add_argument("--keep", action="store_true", help="keep databases and the temp dir")
    p.add_argument("--concurrency", type=int, default=2, help="task slots per worker")
    p.add_argument("--redis-url", default=REDIS)
    p.add_argument("--redis-db", type=int, default=11, help="Redis db number for the broker")
    p.add_argument(
        "--timeout", type=float, default=2400, help="seconds for the runs, from the first trigger"
    )
    p.add_argument("--startup-timeout", type=float, default=240)
    p.add_argument("--scale", type=float, default=0.001, help="simulator scale (if used)")
    p.add_argument("--seed", type=int, default=2017, help="simulator seed (if used)")
    p.add_argument("--json-out", help="write the summary (runs, workers, counts) here")
    p.add_argument(
        "--baseline",
        help="summary JSON of an undisturbed run: raw row counts must equal its raw_rows "
        "(default: the rows each loopback feed served)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    # a harness on the simulator's made-up worlds: the public development pseudonymisation
    # key is fine here (the pipeline refuses it elsewhere; UMKM_PII_KEY still wins)
    os.environ.setdefault("UMKM_DEV_MODE", "1")
    args = parse_args(argv)
    if not reachable("127.0.0.1", 5432):
        print("PostgreSQL not reachable at 127.0.0.1:5432", file=sys.stderr)
        return 3
    host_port = args.redis_url.split("//", 1)[1].rsplit("@", 1)[-1].split("/")[0]
    rhost, _, rport = host_port.partition(":")
    if not reachable(rhost or "127.0.0.1", int(rport or 6379)):
        print(f"Redis not reachable at {host_port}", file=sys.stderr)
        return 3

    def on_term(signum, frame):  # SIGTERM like Ctrl-C: stop everything on the way out
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    e2e = E2E(args)
    code = 2
    try:
        code = e2e.run()
    except SetupError as exc:
        log(f"SET-UP FAILED: {exc}")
        code = 2
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        e2e.teardown(code == 0)
    return code

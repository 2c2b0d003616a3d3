"""Marts built incrementally against a full rebuild of the same snapshots (issue 23).

Run it on a warehouse that a benchmark left (`bench_pipeline.py --snapshots 3 --keep`): it
copies every mart as the incremental builds left it, rebuilds everything from raw (the
staging tables dropped, as after a change of the project), and compares each mart with its
copy, `EXCEPT ALL` both ways. Prints one line per mart and exits 1 when any differ.

    UMKM_DEV_MODE=1 .venv/bin/python bench/compare_rebuild.py \\
        --warehouse-url postgresql://postgres@127.0.0.1:5432/bench_0_1
"""

from __future__ import annotations

import argparse
import sys
import time

from psycopg import sql

COPY = "compare_incremental"


def marts(conn) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'marts' and c.relkind in ('r', 'v', 'm') order by 1"
        )
    ]


def latest_snapshot(conn) -> str:
    row = conn.execute(
        "select max(snapshot)::text from audit.loads where status = 'success'"
    ).fetchone()
    return row[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse-url", required=True, help="the kept benchmark database")
    args = parser.parse_args()

    from umkm.transform.marts import build_and_publish
    from umkm.warehouse.db import connect

    url = args.warehouse_url
    with connect(url, autocommit=True) as conn:
        names = marts(conn)
        snapshot = latest_snapshot(conn)
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(COPY)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(COPY)))
        for name in names:
            conn.execute(
                sql.SQL("create table {} as select * from {}").format(
                    sql.Identifier(COPY, name), sql.Identifier("marts", name)
                )
            )
        # as after a change of the project: the next build stages every snapshot again
        conn.execute("delete from audit.staging_inputs")
    print(f"{len(names)} marts copied; full rebuild of every snapshot (latest {snapshot}) ...")
    started = time.perf_counter()
    build_and_publish({"snapshot": snapshot}, url=url)
    print(f"full rebuild: {time.perf_counter() - started:.1f} s")

    differing = 0
    print(f"{'mart':<48} {'rows':>9} {'incr-full':>10} {'full-incr':>10}")
    with connect(url) as conn:
        for name in names:
            full, incr = sql.Identifier("marts", name), sql.Identifier(COPY, name)
            rows = conn.execute(sql.SQL("select count(*) from {}").format(full)).fetchone()[0]
            only_incr, only_full = (
                conn.execute(
                    sql.SQL(
                        "select count(*) from (select * from {} except all select * from {}) d"
                    ).format(a, b)
                ).fetchone()[0]
                for a, b in ((incr, full), (full, incr))
            )
            differing += bool(only_incr or only_full)
            print(f"{name:<48} {rows:>9} {only_incr:>10} {only_full:>10}")
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(COPY)))
    print(f"{differing} of {len(names)} marts differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: simulator -> reference data -> ingestion -> validation -> publish -> dbt -> report.

Prints a table and writes `.local/bench/pipeline-<scale>[-<profile>]-pg<major>.json`: wall time and
records/s per stage, peak resident memory of each stage's process (`wait4` rusage of the child), the
warehouse size, the machine's speed on a fixed query (`calibration_s`: compare runs on
different days by it), a rerun of the same snapshot with nothing changed (each delivery is pulled
again and found unchanged, and the dbt build is skipped, as in the DAGs), and the naive baseline
(requests + pandas.json_normalize + DataFrame.to_sql) on the same simulator in the same run,
at a smaller scale.

    .venv/bin/python bench/bench_pipeline.py --scale 0.1 [--baseline-scale 0.01] [--keep]
        [--keep-work-tables] [--warehouse-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--profile heldout] [--snapshots 3]

`--profile` is the simulator's noise profile (docs/SIMULATOR.md, "Noise profiles"; the
file name gets `-heldout` for the held-out one).

`--snapshots N` (default 1) is monthly operation (issue 23): after the first snapshot (with
its rerun), N-1 further monthly snapshots (the 15th of each following month) on top in the
same database, each through the stages a monthly run goes through: the reference data only
when its schedule loads it again for that snapshot (bps: yearly, the snapshot of 15
January). Each gets its own table, `calibration_s` (measured just before it), total ÷
calibration_s and the warehouse size it added; a summary table and the trend of the
further snapshots' totals follow. The JSON keeps the first snapshot's keys and adds
`monthly`; its file name gets `-m<N>`.

The dbt stage is the pipeline's own build (`umkm.transform.marts.build_and_publish`): the
marts built aside and published at once, entity resolution's work tables emptied after it
(`--keep-work-tables` keeps them, for `bench/bench_splink.py`), so the warehouse size is
the pipeline's. Each build's `run_results.json` (every model's and test's seconds) is kept
as `.local/bench/run_results-bench_<scale>-<snapshot>.json`.

The numbers are measured, never asserted: this is not a test. Each stage runs in its own
process (`--stage ...` re-enters this script) so its peak memory is its own. The benchmark
uses a fresh database `bench_<scale>` on the warehouse server (embedded by default, or
`WAREHOUSE_URL`'s server, or `--warehouse-url`'s: any supported PostgreSQL), dropped at
the end unless `--keep`. The server's version is printed and recorded beside the times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from umkm import settings
from umkm.sources import load_registry

SNAPSHOT = "2017-11-15"
HERE = Path(__file__).resolve()


# --- stages (each runs in a child process) -----------------------------------------------


def _reference_sources() -> list[str]:
    return [sid for sid, source in load_registry().items() if source.kind == "reference"]


def stage_reference(url: str, snapshot: str) -> dict:
    """Reference data (bps) pulled, validated and published first: the other sources'
    validation resolves regions against it (as the DAGs order it: ingest_order())."""
    from umkm.ingest import ingest_source

    out = {}
    for sid in _reference_sources():
        result = ingest_source(sid, snapshot, url=url, alert=False)
        if result.status == "failed":
            raise RuntimeError(f"{sid}: {result.error}")
        out[sid] = {"status": result.status, "rows": result.rows_fetched}
    return out


def stage_ingest(url: str, snapshot: str) -> dict:
    """Every non-reference source, `UMKM_BENCH_WORKERS` loader processes side by side (as
    Airflow runs the `ingest_*` DAGs), largest first."""
    from bench_ingest import pull_all, source_order

    only = [s for s in os.environ.get("UMKM_BENCH_SOURCES", "").split(",") if s]
    reference = _reference_sources()
    sources = only or [s for s in source_order() if s not in reference]
    workers = int(os.environ.get("UMKM_BENCH_WORKERS", "2"))
    results = pull_all(url, sources, workers, snapshot, skip_unchanged=True)
    return {r["source"]: {"status": r["status"], "rows": r["rows"]} for r in results}


def _latest_batches(url: str, snapshot: str) -> dict[str, str]:
    from umkm.loading.audit import latest_loads
    from umkm.naming import parse_snapshot
    from umkm.warehouse.db import connect

    with connect(url) as conn:
        loads = latest_loads(conn, parse_snapshot(snapshot))
    return {sid: load["batch_id"] for sid, load in loads.items() if load["status"] == "running"}


def validate_one(sid: str, batch: str, url: str, snapshot: str) -> dict:
    """One batch's validation (`umkm.ingest.check`, as the DAG's task) in this (worker)
    process."""
    from umkm.ingest import check

    started = time.perf_counter()
    outcome = check(sid, snapshot, batch, url=url, alert=False)
    return {
        "status": outcome.status,
        "rows": outcome.rows_checked,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def stage_validate(url: str, snapshot: str) -> dict:
    """Every landed batch, `UMKM_BENCH_WORKERS` processes side by side (as Airflow runs the
    `ingest_*` DAGs' validate tasks), largest first."""
    from bench_ingest import source_order

    batches = _latest_batches(url, snapshot)
    order = [s for s in source_order() if s in batches]
    workers = int(os.environ.get("UMKM_BENCH_WORKERS", "2"))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {s: pool.submit(validate_one, s, batches[s], url, snapshot) for s in order}
        return {s: f.result() for s, f in futures.items()}


def stage_publish(url: str, snapshot: str) -> dict:
    from umkm.loading import publish

    return {
        sid: {"rows": publish(sid, snapshot, batch, url=url)}
        for sid, batch in _latest_batches(url, snapshot).items()
    }


def stage_dbt(url: str, snapshot: str) -> dict:
    """The pipeline's build (umkm.transform.marts.build_and_publish: the marts built aside and
    published at once, the work tables emptied after it, unless UMKM_KEEP_WORK_TABLES=1),
    unless raw and the project are as the last build left them (the warehouse_build DAG's
    needs_build). dbt's run_results.json of the build is kept beside the benchmark's JSON
    (`run_results-<scale>-<snapshot>.json`: each model's and test's seconds)."""
    import shutil

    from umkm.naming import parse_snapshot
    from umkm.transform.build_state import begin_build, finish_build
    from umkm.transform.dbt import target_dir
    from umkm.transform.marts import build_and_publish

    decision = begin_build(parse_snapshot(snapshot), url=url)
    if not decision.needed:
        return {"build": {"status": "skipped", "reason": decision.reason}}
    build_and_publish({"snapshot": snapshot}, url=url)
    finish_build(decision.build_id, url=url)
    kept = settings.state_dir() / "bench" / f"run_results-{url.rsplit('/', 1)[-1]}-{snapshot}.json"
    shutil.copyfile(target_dir() / "run_results.json", kept)
    return {"build": {"status": "built", "reason": decision.reason, "run_results": str(kept)}}


def stage_report(url: str, snapshot: str) -> dict:
    from umkm.report import build_report

    out_dir = settings.state_dir() / "bench" / "report"
    return {"page": str(build_report(snapshot, out_dir=out_dir, url=url))}


def _tokopedia_pages(snapshot: str, parse):
    """Every tokopedia page of `snapshot`, the plain way: a token, then `requests.get` page
    after page. `parse(answer)` gives (what to yield, the next cursor or None)."""
    import requests

    from umkm.connections import get_connection

    conn = get_connection("umkm_tokopedia")
    base = conn.base_url.rstrip("/")
    token = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(conn.login, conn.password),
        timeout=30,
    ).json()["access_token"]
    cursor = None
    while True:
        params = {"snapshot": snapshot, "limit": 5000}
        if cursor:
            params["cursor"] = cursor
        answer = requests.get(
            f"{base}/v1/merchants",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        value, cursor = parse(answer)
        yield value
        if not cursor:
            return


def stage_baseline(url: str, snapshot: str) -> dict:
    """The naive way: requests + json_normalize + to_sql, for one oauth-cursor source."""
    import pandas as pd
    import sqlalchemy

    def parse(answer):
        page = answer.json()
        return page, page.get("next_cursor")

    frames = [pd.json_normalize(page["data"]) for page in _tokopedia_pages(snapshot, parse)]
    frame = pd.concat(frames, ignore_index=True)
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    frame.astype(str).to_sql("naive_tokopedia", engine, schema="public", if_exists="replace")
    engine.dispose()
    return {"tokopedia": {"rows": len(frame)}}


def stage_transfer_floor(url: str, snapshot: str) -> dict:
    """The fastest any loader could be against this server: the same pages of the same
    source, fetched as the naive baseline fetches them, each decoded only as far as its
    next cursor, nothing kept or written. Its time is the server's serving plus the
    transfer; ours and naive both include it, so naive ÷ this is the most a loader's
    speed-up over the naive one can be on this server and machine (the simulator serves on
    the same two cores)."""
    import msgspec

    class _Cursor(msgspec.Struct):
        next_cursor: str | None = None

    decode = msgspec.json.Decoder(_Cursor).decode

    def parse(answer):
        answer.raise_for_status()
        return None, decode(answer.content).next_cursor

    pages = sum(1 for _ in _tokopedia_pages(snapshot, parse))
    return {"tokopedia": {"pages": pages}}


STAGES = {
    "reference": stage_reference,
    "ingest": stage_ingest,
    "validate": stage_validate,
    "publish": stage_publish,
    "dbt": stage_dbt,
    "report": stage_report,
    "baseline": stage_baseline,
    "transfer_floor": stage_transfer_floor,
}


# --- driver --------------------------------------------------------------------------------


def _admin_url() -> str:
    from umkm.warehouse.db import warehouse_url, with_database

    return with_database(warehouse_url(), "postgres")


def drop_database(name: str) -> None:
    """Drop a bench database on the warehouse server (embedded, or WAREHOUSE_URL's)."""
    from umkm.warehouse.db import connect

    with connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def fresh_database(name: str) -> str:
    """An empty, bootstrapped database `name` on the warehouse server; returns its URL."""
    from umkm.warehouse.bootstrap import bootstrap, ensure_database
    from umkm.warehouse.db import connect, with_database

    drop_database(name)
    ensure_database(_admin_url(), name)
    url = with_database(_admin_url(), name)
    with connect(url) as conn:
        bootstrap(conn)
    return url


def run_stage(name: str, url: str, env: dict[str, str], snapshot: str = SNAPSHOT) -> dict:
    """Run one stage in a child; its wall time, peak RSS (MiB) and returned counts."""
    out_file = settings.state_dir() / "bench" / f"stage-{name}.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            *(sys.executable, str(HERE), "--stage", name, "--url", url),
            *("--out", str(out_file), "--stage-snapshot", snapshot),
        ],
        env=env,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage {name} failed (exit {os.waitstatus_to_exitcode(status)})")
    counts = json.loads(out_file.read_text())
    rows = sum(int(v.get("rows", 0)) for v in counts.values() if isinstance(v, dict))
    return {
        "stage": name,
        "seconds": round(seconds, 2),
        "rows": rows,
        "rows_per_s": round(rows / seconds) if rows else None,
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "detail": counts,
    }


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a running process and its children so far."""
    import psutil

    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        total += sum(child.cpu_times()[:2])
    return total


def rss_of(pid: int) -> int:
    """Peak resident memory (MiB) of a running process (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return 0


PIPELINE = ("reference", "ingest", "validate", "publish", "dbt", "report")


def warehouse_mib(url: str) -> int:
    """The bench database's size (pg_database_size), MiB."""
    from umkm.warehouse.db import connect

    with connect(url) as conn:
        size = conn.execute("select pg_database_size(current_database())").fetchone()[0]
    return round(size / 2**20)


def monthly_snapshots(count: int) -> list[str]:
    """SNAPSHOT and the 15th of each following month: `count` snapshots."""
    year, month = (int(part) for part in SNAPSHOT.split("-")[:2])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}-15")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def reference_due(snapshot: str) -> bool:
    """Whether the DAGs load the reference data again for this snapshot: a reference
    source's schedule fires at the run that loads it (bps: yearly, the snapshot of 15
    January; in between, any earlier successful load serves, orchestration.references)."""
    from croniter import croniter

    from umkm.naming import WIB
    from umkm.orchestration.snapshots import logical_date_for

    when = logical_date_for(snapshot).astimezone(WIB)
    registry = load_registry()
    return any(croniter.match(registry[sid].schedule, when) for sid in _reference_sources())


def snapshot_entry(
    index: int,
    snapshot: str,
    stages: list[dict],
    total_s: float,
    calibration_s: float,
    size_before: int,
    size_after: int,
    simulator_cpu_s: float,
) -> dict:
    """One snapshot's line of the `monthly` record."""
    return {
        "index": index,
        "snapshot": snapshot,
        "stages": stages,
        "total_s": total_s,
        "calibration_s": calibration_s,
        "x_calibration": round(total_s / calibration_s),
        "dbt_s": next((r["seconds"] for r in stages if r["stage"] == "dbt"), None),
        "warehouse_mib": size_after,
        "warehouse_added_mib": size_after - size_before,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in stages),
        "simulator_cpu_s": simulator_cpu_s,
    }


def further_snapshot(
    url: str, env: dict[str, str], sim_pid: int, index: int, snapshot: str, size_before: int
) -> dict:
    """One further monthly snapshot on top of the ones held: calibration, then its stages."""
    calibration_s = calibrate(url)
    stages = PIPELINE if reference_due(snapshot) else PIPELINE[1:]
    print(
        f"\nsnapshot {index}: {snapshot} (calibration_s {calibration_s}; "
        f"{'with' if stages == PIPELINE else 'no'} reference data)",
        flush=True,
    )
    started, cpu = time.monotonic(), cpu_of(sim_pid)
    rows = pipeline(url, env, snapshot, stages)
    total_s = round(time.monotonic() - started, 1)
    simulator_cpu_s = round(cpu_of(sim_pid) - cpu, 1)
    return snapshot_entry(
        index,
        snapshot,
        rows,
        total_s,
        calibration_s,
        size_before,
        warehouse_mib(url),
        simulator_cpu_s,
    )


def print_monthly(monthly: list[dict]) -> None:
    """The summary of monthly operation: one row per snapshot, then the further ones' trend."""
    print("\nMonthly snapshots")
    print(
        f"| {'#':>2} | {'snapshot':<10} | {'total s':>8} | {'calib s':>7} | {'x calib':>7} | "
        f"{'dbt s':>7} | {'wh MiB':>7} | {'wh +MiB':>7} | {'peak MiB':>8} |"
    )
    print(
        f"|{'-' * 4}|{'-' * 12}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|"
        f"{'-' * 9}|{'-' * 10}|"
    )
    for m in monthly:
        print(
            f"| {m['index']:>2} | {m['snapshot']:<10} | {m['total_s']:>8.1f} | "
            f"{m['calibration_s']:>7.2f} | {m['x_calibration']:>7} | {m['dbt_s']:>7.1f} | "
            f"{m['warehouse_mib']:>7,} | {m['warehouse_added_mib']:>7,} | "
            f"{m['peak_rss_mib']:>8} |"
        )
    further = monthly[1:]
    totals = ", ".join(f"{m['total_s']:.1f} s ({m['x_calibration']}x)" for m in further)
    if len(further) < 2:
        print(f"Trend: one further snapshot ({totals}); a trend needs two")
        return
    seconds = further[-1]["total_s"] / further[0]["total_s"]
    ratio = (further[-1]["total_s"] / further[-1]["calibration_s"]) / (
        further[0]["total_s"] / further[0]["calibration_s"]
    )
    dbt = further[-1]["dbt_s"] / further[0]["dbt_s"]
    # within 10 % either way is called flat: one run's noise on this machine is about that
    trend = "growing" if ratio > 1.1 else "shrinking" if ratio < 0.9 else "flat"
    print(
        f"Trend of the further snapshots: {totals}; last / second {seconds:.2f} in seconds, "
        f"{ratio:.2f} in x calibration_s (dbt {dbt:.2f}): {trend}"
    )


def pipeline(
    url: str, env: dict[str, str], snapshot: str = SNAPSHOT, stages: tuple = PIPELINE
) -> list[dict]:
    """Every stage in order; each one's line is printed as it ends (a long run shows
    progress, and an interrupted one keeps what it measured)."""
    rows = []
    for name in stages:
        row = run_stage(name, url, env, snapshot)
        rows.append(row)
        rate = f", {row['rows_per_s']:,} records/s" if row["rows_per_s"] else ""
        print(
            f"stage {name}: {row['seconds']:.1f} s{rate}, peak {row['peak_rss_mib']} MiB",
            flush=True,
        )
    return rows


# A fixed workload (2M md5 hashes sorted, on one backend): this machine's speed varies from day
# to day by more than the changes being measured, so each run records it to compare runs by.
CALIBRATION_SQL = (
    "select count(distinct h) from (select md5(i::text) as h"
    " from generate_series(1, 2000000) as i order by h) as hashed"
)


def calibrate(url: str) -> float:
    """Seconds of the calibration query on the warehouse server (best of three)."""
    from umkm.warehouse.db import connect

    times = []
    with connect(url) as conn:
        # the same workload on any server: one backend, the embedded server's work_mem, no
        # JIT (a server's defaults would otherwise make it another query: 4MB sorts on disk)
        conn.execute("set max_parallel_workers_per_gather = 0")
        conn.execute("set work_mem = '64MB'")
        conn.execute("set jit = off")
        for _ in range(3):
            started = time.monotonic()
            conn.execute(CALIBRATION_SQL).fetchone()
            times.append(time.monotonic() - started)
    return round(min(times), 2)


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(
        f"| {'stage':<10} | {'wall s':>8} | {'records':>10} | {'records/s':>10} | {'peak MiB':>8} |"
    )
    print(f"|{'-' * 12}|{'-' * 10}|{'-' * 12}|{'-' * 12}|{'-' * 10}|")
    for r in rows:
        rate = f"{r['rows_per_s']:,}" if r["rows_per_s"] else "-"
        print(
            f"| {r['stage']:<10} | {r['seconds']:>8.1f} | {r['rows']:>10,} | {rate:>10} | "
            f"{r['peak_rss_mib']:>8} |"
        )
    print(f"| {'total':<10} | {sum(r['seconds'] for r in rows):>8.1f} |")


def main() -> int:
    # a harness on the simulator's made-up worlds: the public development pseudonymisation
    # key is fine here (the pipeline refuses it elsewhere; UMKM_PII_KEY still wins)
    os.environ.setdefault("UMKM_DEV_MODE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--baseline-scale", type=float, default=None, help="default scale/10")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument(
        "--profile",
        choices=("default", "heldout"),
        default="default",
        help="the simulator's noise profile (docs/SIMULATOR.md)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--keep-work-tables",
        action="store_true",
        help="keep entity resolution's work tables after each build (UMKM_KEEP_WORK_TABLES=1; "
        "bench/bench_splink.py reads them)",
    )
    parser.add_argument("--workers", type=int, default=2, help="loader processes for ingest")
    parser.add_argument(
        "--warehouse-url",
        help="run on this PostgreSQL server (its database is not used; bench_<scale> is "
        "created beside it); default: WAREHOUSE_URL, else the embedded warehouse",
    )
    parser.add_argument(
        "--no-rerun", action="store_true", help="skip the rerun of the same snapshot"
    )
    parser.add_argument(
        "--snapshots",
        type=int,
        default=1,
        help="monthly snapshots: the first, then N-1 further ones on top (the 15th of each "
        "following month)",
    )
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--stage-snapshot", default=SNAPSHOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        result = STAGES[args.stage](args.url, args.stage_snapshot)
        Path(args.out).write_text(json.dumps(result))
        return 0

    from umkm.runner.simulator import start_simulator
    from umkm.warehouse.db import connect

    if args.warehouse_url:
        # the stages' children and the helpers here read the server from the environment
        os.environ["WAREHOUSE_URL"] = args.warehouse_url
    if args.snapshots < 1:
        parser.error("--snapshots must be 1 or more")
    snapshots = monthly_snapshots(args.snapshots)
    name = f"bench_{str(args.scale).replace('.', '_')}"
    url = fresh_database(name)
    empty_mib = warehouse_mib(url)
    results: dict = {
        "scale": args.scale,
        "snapshot": SNAPSHOT,
        "cores": os.cpu_count(),
        "profile": args.profile,
    }
    with connect(url) as conn:
        results["server_version"] = conn.execute("show server_version").fetchone()[0]
    print(f"Warehouse server: PostgreSQL {results['server_version']}", flush=True)
    results["calibration_s"] = calibrate(url)
    try:
        with start_simulator(args.seed, args.scale, snapshots, profile=args.profile) as sim:
            env = {**os.environ, **sim.env, "UMKM_BENCH_WORKERS": str(args.workers)}
            if args.keep_work_tables:
                env["UMKM_KEEP_WORK_TABLES"] = "1"
            # the simulator's CPU: serving the feeds here costs what a partner's server would
            started, cpu = time.monotonic(), cpu_of(sim.pid)
            results["stages"] = pipeline(url, env)
            results["total_s"] = round(time.monotonic() - started, 1)
            results["simulator_cpu_s"] = round(cpu_of(sim.pid) - cpu, 1)
            if not args.no_rerun:
                started, cpu = time.monotonic(), cpu_of(sim.pid)
                results["rerun"] = pipeline(url, env)
                results["rerun_total_s"] = round(time.monotonic() - started, 1)
                results["rerun_simulator_cpu_s"] = round(cpu_of(sim.pid) - cpu, 1)
            results["warehouse_mib"] = warehouse_mib(url)
            if args.snapshots > 1:
                # the first snapshot as above (its rerun included in its size), then the rest
                monthly = [
                    snapshot_entry(
                        1,
                        SNAPSHOT,
                        results["stages"],
                        results["total_s"],
                        results["calibration_s"],
                        empty_mib,
                        results["warehouse_mib"],
                        results["simulator_cpu_s"],
                    )
                ]
                for index, snapshot in enumerate(snapshots[1:], start=2):
                    size_before = monthly[-1]["warehouse_mib"]
                    monthly.append(
                        further_snapshot(url, env, sim.pid, index, snapshot, size_before)
                    )
                results["monthly"] = monthly
                results["warehouse_empty_mib"] = empty_mib
            results["simulator_peak_rss_mib"] = rss_of(sim.pid)
        # The baseline's data is another scale: it gets a database of its own, always dropped,
        # or its unpublished tokopedia batch would stay in the kept one (and a later pull of
        # that snapshot would resume it).
        base_scale = args.baseline_scale or args.scale / 10
        base_url = fresh_database(f"{name}_baseline")
        with start_simulator(args.seed, base_scale, [SNAPSHOT], profile=args.profile) as sim:
            env = {**os.environ, **sim.env}
            naive = run_stage("baseline", base_url, env)
            ours = run_stage("ingest", base_url, {**env, "UMKM_BENCH_SOURCES": "tokopedia"})
            floor = run_stage("transfer_floor", base_url, env)
        results["baseline"] = {
            "scale": base_scale,
            "naive": naive,
            "ours": ours,
            "transfer_floor": floor,
        }
    finally:
        drop_database(f"{name}_baseline")
        if not args.keep:
            drop_database(name)

    profile = "" if args.profile == "default" else f", {args.profile} noise profile"
    print_table(f"Pipeline at scale {args.scale} (snapshot {SNAPSHOT}{profile})", results["stages"])
    if "rerun" in results:
        print_table("Rerun, nothing changed", results["rerun"])
    for m in results.get("monthly", [])[1:]:
        print_table(
            f"Snapshot {m['index']}: {m['snapshot']} on top of the ones before "
            f"(calibration_s {m['calibration_s']})",
            m["stages"],
        )
    naive = results["baseline"]["naive"]
    print(
        f"\nNaive baseline at scale {base_scale} (tokopedia only): {naive['rows']:,} records in "
        f"{naive['seconds']:.1f}s = {naive['rows_per_s'] or 0:,}/s, "
        f"peak {naive['peak_rss_mib']} MiB"
    )
    ours = results["baseline"]["ours"]
    print(
        f"Ours on the same data: {ours['rows']:,} records in {ours['seconds']:.1f}s = "
        f"{ours['rows_per_s'] or 0:,}/s, peak {ours['peak_rss_mib']} MiB"
    )
    if naive["rows_per_s"] and ours["rows_per_s"]:
        print(f"Ours / naive records/s: {ours['rows_per_s'] / naive['rows_per_s']:.1f}x")
    floor = results["baseline"]["transfer_floor"]
    print(
        f"Transfer floor (the same pages read, nothing parsed or kept): {floor['seconds']:.1f}s; "
        f"naive / floor: {naive['seconds'] / floor['seconds']:.1f}x, the most any loader "
        "could gain over the naive one here"
    )
    print(f"Simulator peak RSS: {results['simulator_peak_rss_mib']} MiB")
    rerun_cpu = results.get("rerun_simulator_cpu_s", "-")
    print(f"Simulator CPU: {results['simulator_cpu_s']}s in the pipeline, {rerun_cpu}s in rerun")
    print(f"Warehouse size: {results['warehouse_mib']} MiB")
    print(f"Warehouse server: PostgreSQL {results['server_version']}")
    print(f"Machine calibration (CALIBRATION_SQL, best of 3): {results['calibration_s']}s")
    rerun = f"{results['rerun_total_s']}s" if "rerun_total_s" in results else "not run"
    print(f"Total {results['total_s']}s, rerun {rerun}")
    if "monthly" in results:
        print_monthly(results["monthly"])
    major = results["server_version"].split(".")[0]
    tag = "" if args.profile == "default" else f"-{args.profile}"
    if args.snapshots > 1:
        tag += f"-m{args.snapshots}"
    out = settings.state_dir() / "bench" / f"pipeline-{args.scale}{tag}-pg{major}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"Results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

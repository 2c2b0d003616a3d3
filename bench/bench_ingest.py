"""Benchmark ingestion: one snapshot of every source pulled into raw batch tables.

    .venv/bin/python bench/bench_ingest.py --scale 1.0 [--workers 2] [--baseline-scale 0.1]

Starts the simulator, creates a fresh database `bench_ingest_<scale>` on the warehouse server
(embedded by default, or `WAREHOUSE_URL`'s server), and runs `extract_load` for every source
in the registry with `--workers` loader processes, largest sources first (as Airflow runs the
`ingest_*` DAGs side by side, one task process each). Prints records/s per source and in
aggregate (all records / wall time), the peak resident memory of each loader process and of
the simulator (PSS), then runs the naive baseline (requests + `pandas.json_normalize` +
`DataFrame.to_sql`) and our loader on the same data (tokopedia at `--baseline-scale`) in the
same run and prints the ratio. Writes `.local/bench/ingest-<scale>.json`. The numbers are
measured, never asserted: this is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil

from umkm import settings
from umkm.sources import load_registry

SNAPSHOT = "2017-11-15"
#: the largest feeds first, so the last one to finish is a small one
LARGEST_FIRST = ("kemenkopukm", "tokopedia", "bukalapak", "shopee", "lazada", "blibli")


def source_order() -> list[str]:
    registry = list(load_registry())
    big = [s for s in LARGEST_FIRST if s in registry]
    return big + [s for s in registry if s not in big]


def pull_one(
    source_id: str, url: str, snapshot: str = SNAPSHOT, skip_unchanged: bool = False
) -> dict:
    """One source's `extract_load` in this (worker) process; its rows, time and peak RSS.

    With `skip_unchanged`, a delivery equal to the published one is closed there, as the
    DAG's extract task does (`umkm.ingest.land`)."""
    from umkm.ingest import land

    started = time.perf_counter()
    result, _ = land(source_id, snapshot, skip_unchanged=skip_unchanged, url=url)
    status = result.status
    seconds = time.perf_counter() - started
    return {
        "source": source_id,
        "status": status,
        "batch_id": result.batch_id,
        "rows": result.rows_fetched,
        "seconds": round(seconds, 2),
        "pid": os.getpid(),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def pull_all(
    url: str,
    sources: list[str],
    workers: int,
    snapshot: str = SNAPSHOT,
    skip_unchanged: bool = False,
) -> list[dict]:
    """`pull_one` of `sources` on `workers` processes; results in submission order."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(pull_one, sid, url, snapshot, skip_unchanged) for sid in sources]
        return [f.result() for f in futures]


def main() -> int:
    # a harness on the simulator's made-up worlds: the public development pseudonymisation
    # key is fine here (the pipeline refuses it elsewhere; UMKM_PII_KEY still wins)
    os.environ.setdefault("UMKM_DEV_MODE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2, help="loader processes")
    parser.add_argument("--baseline-scale", type=float, default=None, help="default scale/10")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    from umkm.runner.simulator import start_simulator

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_pipeline import drop_database, fresh_database, stage_baseline
    from bench_sim import MemorySampler

    name = f"bench_ingest_{str(args.scale).replace('.', '_')}"
    url = fresh_database(name)
    out: dict = {"scale": args.scale, "snapshot": SNAPSHOT, "workers": args.workers}
    base_scale = args.baseline_scale or args.scale / 10
    try:
        with start_simulator(args.seed, args.scale, [SNAPSHOT]) as sim:
            os.environ.update(sim.env)
            sampler = MemorySampler(sim.pid)
            sampler.start()
            cpu_before = psutil.cpu_times()
            started = time.perf_counter()
            out["sources"] = pull_all(url, source_order(), args.workers)
            out["wall_s"] = round(time.perf_counter() - started, 2)
            cpu = psutil.cpu_times()
            out["machine_busy_pct"] = round(
                100 * (1 - (cpu.idle - cpu_before.idle) / (out["wall_s"] * psutil.cpu_count())),
                1,
            )
            sampler.stop.set()
            sampler.join()
            out["simulator_peak_pss_mib"] = round(sampler.peak_pss / 2**20)
        with start_simulator(args.seed, base_scale, [SNAPSHOT]) as sim:
            os.environ.update(sim.env)
            with ProcessPoolExecutor(max_workers=1) as pool:
                started = time.perf_counter()
                pool.submit(stage_baseline, url, SNAPSHOT).result()
                naive_s = time.perf_counter() - started
            # a new batch of the same snapshot: discard what the first pull left unpublished
            from umkm.loading import discard

            first = next(r for r in out["sources"] if r["source"] == "tokopedia")
            discard("tokopedia", SNAPSHOT, first["batch_id"], "bench: pulled again", url=url)
            ours = pull_all(url, ["tokopedia"], 1)[0]
        out["baseline"] = {"scale": base_scale, "naive_s": round(naive_s, 2), "ours": ours}
    finally:
        if not args.keep:
            drop_database(name)

    total = sum(r["rows"] for r in out["sources"])
    print(f"Ingestion at scale {args.scale}, snapshot {SNAPSHOT}, {args.workers} loader processes")
    print(f"| {'source':<13} | {'records':>10} | {'seconds':>8} | {'records/s':>10} |")
    print(f"|{'-' * 15}|{'-' * 12}|{'-' * 10}|{'-' * 12}|")
    for r in sorted(out["sources"], key=lambda r: -r["rows"]):
        rate = f"{r['rows'] / r['seconds']:,.0f}" if r["seconds"] else "-"
        print(f"| {r['source']:<13} | {r['rows']:>10,} | {r['seconds']:>8.1f} | {rate:>10} |")
    out["records"] = total
    out["records_per_s"] = round(total / out["wall_s"])
    rate = f"{out['records_per_s']:,}"
    print(f"| {'aggregate':<13} | {total:>10,} | {out['wall_s']:>8.1f} | {rate:>10} |")
    peaks = {}
    for r in out["sources"]:
        peaks[r["pid"]] = max(peaks.get(r["pid"], 0), r["peak_rss_mib"])
    print(f"loader peak RSS per process (MiB): {sorted(peaks.values(), reverse=True)}")
    print(f"simulator peak PSS: {out['simulator_peak_pss_mib']} MiB")
    print(f"machine busy during the pull: {out['machine_busy_pct']}% of {psutil.cpu_count()} CPUs")
    ours = out["baseline"]["ours"]
    naive_rate = ours["rows"] / out["baseline"]["naive_s"]
    ours_rate = ours["rows"] / ours["seconds"]
    print(
        f"baseline at scale {base_scale}, tokopedia ({ours['rows']:,} records): naive "
        f"{out['baseline']['naive_s']:.1f}s = {naive_rate:,.0f}/s, ours {ours['seconds']:.1f}s "
        f"= {ours_rate:,.0f}/s, ratio {ours_rate / naive_rate:.1f}x"
    )
    path = settings.state_dir() / "bench" / f"ingest-{args.scale}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"Results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

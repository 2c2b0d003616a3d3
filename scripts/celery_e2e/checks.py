"""The checks on the result, and what is printed and written of it: every run succeeded,
task instances ran on BOTH workers (current tries and earlier ones), each source's raw
table holds the snapshot's rows without duplicates (and, with `--baseline` or loopback
feeds, exactly the expected number); with `--backfill`, every snapshot of the window is
there, the rerun changed nothing and the bridge closes for each snapshot. `conclude` prints
the tables, writes `--json-out` and returns the exit code."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from umkm.sources import get_source

from .db import Run, bridge_series, raw_counts, task_rows

if TYPE_CHECKING:
    from .e2e import E2E


def report(e2e: E2E, runs: list[Run]) -> dict:
    """Print the runs and the tasks per worker; the summary's first keys."""
    workers = e2e.services.workers
    rows = task_rows(e2e.meta, sorted({r.run_id for r in runs}))
    label_of = {host: label for label, host in workers.items()}
    per_dag: dict[str, dict[str, int]] = {}
    per_worker: dict[str, int] = {}
    tries_per_worker: dict[str, int] = {}
    for dag_id, _task, _mi, _try, state, hostname, current in rows:
        label = label_of.get(hostname or "", hostname or "-")
        if hostname:
            tries_per_worker[label] = tries_per_worker.get(label, 0) + 1
        if current and hostname and state == "success":
            per_worker[label] = per_worker.get(label, 0) + 1
            counts = per_dag.setdefault(dag_id, {})
            counts[label] = counts.get(label, 0) + 1
    wall = time.monotonic() - e2e.started
    print()
    print(f"CeleryExecutor e2e, snapshot {e2e.args.snapshot}: {len(runs)} DAG runs")
    print(f"{'dag':<24} {'state':<8} {'seconds':>8}  worker (successful tasks)")
    for run in runs:
        on = ", ".join(f"{k} x{v}" for k, v in sorted(per_dag.get(run.dag_id, {}).items()))
        secs = f"{run.seconds:8.1f}" if run.seconds is not None else f"{'-':>8}"
        print(f"{run.dag_id:<24} {run.state:<8} {secs}  {on}")
    print()
    print("tasks per worker (successful, current tries):")
    for label, n in sorted(per_worker.items()):
        print(f"  {label:<10} {n:>4}   ({workers.get(label, label)})")
    if tries_per_worker != per_worker:
        print("all tries per worker (including failed/killed ones):")
        for label, n in sorted(tries_per_worker.items()):
            print(f"  {label:<10} {n:>4}")
    for event in e2e.events:
        print(f"drill: {event}")
    return {
        "snapshot": e2e.args.snapshot,
        "wall_seconds": round(wall, 1),
        "runs": [r.__dict__ for r in runs],
        "workers": workers,
        "tasks_per_worker": per_worker,
        "tries_per_worker": tries_per_worker,
        "events": e2e.events,
    }


def check_series(e2e: E2E, rerun: dict) -> list[str]:
    """Backfill checks: every source's raw table holds every snapshot of the window
    without duplicates, the rerun changed nothing, and the marts hold the series."""
    problems = []
    print()
    print(f"raw rows per snapshot ({len(e2e.snapshots)} snapshots, backfilled sources)")
    for snap in e2e.snapshots:
        counts = raw_counts(e2e.warehouse, snap)
        wanted = e2e.args.sources.split(",") if e2e.args.sources else list(counts)
        line = []
        for sid in wanted:
            if sid == "bps":
                continue
            c = counts[sid]
            if not get_source(sid).discontinued_at(date.fromisoformat(snap)):
                line.append(f"{sid} {c['rows']}")
                if c["status"] != "success" or c["rows"] == 0:
                    problems.append(f"raw.{sid} {snap}: {c['rows']} rows, load {c['status']}")
            else:
                # a platform that shut down (registry `until`): the contract's
                # "no data" answer, recorded as no_data, is the right result (check_sources)
                line.append(f"{sid} -")
                if c["status"] != "no_data" or c["rows"] != 0:
                    problems.append(
                        f"raw.{sid} {snap}: discontinued, expected no_data, "
                        f"got {c['rows']} rows, load {c['status']}"
                    )
            if c["rows"] != c["distinct"]:
                problems.append(f"raw.{sid} {snap}: {c['rows']} rows, {c['distinct']} ids")
        print(f"  {snap}: " + ", ".join(line))
    if rerun:
        same = rerun["before"] == rerun["after"]
        print(
            f"rerun of ingest_{rerun['source']} over the window (reprocess completed): "
            f"raw rows {'unchanged' if same else 'CHANGED'}"
        )
        if not same:
            problems.append(f"rerun changed raw.{rerun['source']}: {rerun}")
        if rerun["runs_finished_again"] != len(e2e.snapshots):
            problems.append(f"the rerun did not run every snapshot again: {rerun}")
    else:
        problems.append("the rerun of the backfill did not run")
    if e2e.build:
        series = bridge_series(e2e.warehouse)
        print()
        print("bridge per snapshot: Kominfo published, active online UMKM, Kemenkop, residual")
        for snap, k, active, c, residual in series:
            print(f"  {snap}  {k:>10,}  {active:>10,}  {c:>10,}  {residual}")
        got = {str(row[0]) for row in series}
        missing = sorted(set(e2e.snapshots) - got)
        if missing:
            problems.append(f"marts.mart_reconciliation_bridge lacks {missing}")
        if any(row[4] != 0 for row in series):
            problems.append("a snapshot's bridge does not close")
    return problems


def check_counts(e2e: E2E) -> tuple[dict, bool, list[str]]:
    """The snapshot's raw rows per source: (counts, whether exact counts were expected,
    problems)."""
    counts = raw_counts(e2e.warehouse, e2e.args.snapshot)
    problems = []
    baseline = {}
    if e2e.args.baseline and Path(e2e.args.baseline).exists():
        baseline = json.loads(Path(e2e.args.baseline).read_text()).get("raw_rows", {})
    expected = baseline or (e2e.feeds.expected if e2e.feeds else {})
    print()
    print(f"{'source':<14} {'status':<8} {'raw rows':>9} {'expected':>9}")
    for sid, c in counts.items():
        want = expected.get(sid)
        shown = "-" if want is None else want
        print(f"{sid:<14} {c['status']:<8} {c['rows']:>9} {shown:>9}")
        if c["rows"] != c["distinct"]:
            problems.append(f"raw.{sid}: {c['rows']} rows but {c['distinct']} distinct ids")
        if want is not None and c["rows"] != want:
            problems.append(f"raw.{sid}: {c['rows']} rows, the undisturbed run has {want}")
    return counts, bool(expected), problems


def conclude(e2e: E2E, runs: list[Run], rerun: dict, timed_out: str) -> int:
    """Every check, the printed tables and the summary JSON; 0 when all passed, else 1."""
    summary = report(e2e, runs)
    exact_counts = False
    if e2e.args.backfill:
        problems = check_series(e2e, rerun)
        summary["rerun"] = rerun
    else:
        counts, exact_counts, problems = check_counts(e2e)
        summary["raw_rows"] = {sid: c["rows"] for sid, c in counts.items()}
    if timed_out:
        problems.append(timed_out)
    failed = [r.dag_id for r in runs if r.state != "success"]
    if failed:
        problems.append(f"runs not successful: {', '.join(failed)}")
    if e2e.build and "warehouse_build" not in {r.dag_id for r in runs}:
        problems.append("warehouse_build not run (ingestion did not all succeed)")
    summary["warehouse_build"] = "run" if e2e.build else "skipped"
    if not e2e.build:
        why = "--build no" if e2e.args.build == "no" else "the dbt project does not parse"
        print(f"warehouse_build: skipped ({why})")
    workers = e2e.services.workers
    original = {workers["worker-1"], workers["worker-2"]}
    ran_on = {h for _d, _t, _m, _n, _s, h, _c in task_rows(e2e.meta, [r.run_id for r in runs]) if h}
    if not original <= ran_on:
        problems.append(f"tasks did not run on both workers: ran on {sorted(ran_on)}")
    summary["hostnames"] = sorted(ran_on)
    summary["problems"] = problems
    summary["ok"] = not problems
    print()
    print(f"wall time {summary['wall_seconds']}s (set-up, start-up, runs and checks)")
    print(f"task hostnames: {', '.join(sorted(ran_on))}")
    if e2e.args.json_out:
        Path(e2e.args.json_out).write_text(json.dumps(summary, indent=2, default=str))
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    exact = "equal to the expected counts" if exact_counts else "without duplicates"
    print(f"OK: every run succeeded, tasks ran on both workers, raw rows {exact}")
    return 0

"""The reliability drills and the backfill (issue 8): `--kill-worker` (SIGKILL of worker-1's
process group while it runs a task, then a replacement worker), `--kill-scheduler` (SIGKILL
of the scheduler mid-run, then a new one that adopts the running tasks), and `--backfill`
(Airflow's own backfill of the ingestion DAGs over a window of monthly snapshots, then one
DAG backfilled again with reprocessing to show the loads are idempotent)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .common import RunsTimeout, SetupError, log
from .db import (
    Run,
    backfill_runs,
    count_of,
    open_backfills,
    raw_counts,
    running_on,
    running_tasks,
)
from .processes import airflow_cli

if TYPE_CHECKING:
    from .e2e import E2E

#: Called with the run ids while the runs are polled; True once it has done its damage.
Drill = Callable[[list[str]], bool]


def make_drill(e2e: E2E) -> Drill | None:
    """The drill of --kill-worker and/or --kill-scheduler, or None."""
    args = e2e.args
    services = e2e.services
    if not (args.kill_worker or args.kill_scheduler):
        return None
    state = {"t0": time.monotonic()}

    def drill(run_ids: list[str]) -> bool:
        if args.kill_worker:
            victim = services.workers["worker-1"]
            busy = running_on(e2e.meta, victim, run_ids)
            if not busy:
                if time.monotonic() - state["t0"] > 240:
                    raise SetupError("worker-1 never ran a task to kill it in")
                return False
            services.procs["worker-1"].kill_hard()
            tasks = ", ".join(f"{d}.{t} (try {n})" for d, t, n in busy)
            group = services.procs["worker-1"].pid
            msg = f"kill -9 worker-1 (process group {group}) mid-task: {tasks}"
            log(msg)
            e2e.events.append(msg)
            services.spawn_worker("worker-1b")
            e2e.events.append("started replacement worker worker-1b")
        if args.kill_scheduler:
            # while a task runs on a worker: the new scheduler must adopt it
            if running_tasks(e2e.meta, run_ids) == 0 and time.monotonic() - state["t0"] < 240:
                return False
            services.procs["scheduler"].kill_hard()
            msg = f"kill -9 scheduler (process group {services.procs['scheduler'].pid}) mid-run"
            log(msg)
            e2e.events.append(msg)
            time.sleep(3)
            services.procs["scheduler-old"] = services.procs.pop("scheduler")
            services.spawn("scheduler", ["scheduler", "--skip-serve-logs"])
            e2e.events.append("started a new scheduler")
        return True

    return drill


# -- backfill ----------------------------------------------------------------------------------
def backfill_snapshots(window: str) -> list[str]:
    """'2017-01-15:2019-12-15' -> the monthly snapshots (the 15th) from the first to the last."""
    first, _, last = window.partition(":")
    start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    if start.day != 15 or end.day != 15 or end < start:
        raise SetupError(f"--backfill wants FROM:TO, two 15ths in order, got {window!r}")
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(date(y, m, 15).isoformat())
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def backfill(e2e: E2E, dag_ids: list[str], reprocess: str = "none") -> list[Run]:
    """`airflow backfill create` over the --backfill window for each DAG (Airflow's own
    backfill: the scheduler runs them, the snapshot comes from each run's logical date)."""
    from umkm.orchestration.snapshots import logical_date_for

    since = time.time() - 1
    first = logical_date_for(e2e.snapshots[0]).date().isoformat()
    last = (logical_date_for(e2e.snapshots[-1]) + timedelta(hours=1)).isoformat()
    for dag_id in dag_ids:
        airflow_cli(["dags", "unpause", dag_id])
        airflow_cli(
            [
                "backfill",
                "create",
                "--dag-id",
                dag_id,
                "--from-date",
                first,
                "--to-date",
                last,
                "--reprocess-behavior",
                reprocess,
            ]
        )
    runs = backfill_runs(e2e.meta, dag_ids, since)
    want = len(dag_ids) * len(e2e.snapshots)
    if len(runs) != want:
        raise SetupError(f"the backfills created {len(runs)} runs, expected {want}")
    log(f"backfill: {len(runs)} runs of {len(dag_ids)} DAGs over {len(e2e.snapshots)} months")
    return runs


def rerun_backfill(e2e: E2E, dag_id: str, deadline: float) -> dict:
    """Backfill one DAG again over the window, reprocessing completed runs: every
    snapshot's raw rows must come out the same (idempotent loads)."""
    sid = dag_id.removeprefix("ingest_")
    before = {snap: raw_counts(e2e.warehouse, snap)[sid]["rows"] for snap in e2e.snapshots}
    # Airflow refuses a second backfill of a DAG until the scheduler has marked the first
    # complete, which it checks every 30 s: the last run's success is not enough
    while open_backfills(e2e.meta, dag_id):
        if time.monotonic() > deadline:
            raise RunsTimeout(f"the backfill of {dag_id} not complete within --timeout")
        time.sleep(2)
    since = time.time() - 1
    runs = backfill(e2e, [dag_id], reprocess="completed")
    time.sleep(5)  # a cleared run goes back to queued: do not take its old state
    e2e.wait_runs(runs, deadline)
    after = {snap: raw_counts(e2e.warehouse, snap)[sid]["rows"] for snap in e2e.snapshots}
    reran = count_of(
        e2e.meta,
        "select count(*) from dag_run where run_id = any(%s) and dag_id = %s "
        "and end_date >= to_timestamp(%s)",
        ([r.run_id for r in runs], dag_id, since),
    )
    return {
        "source": sid,
        "before": before,
        "after": after,
        "runs_finished_again": reran,
        "runs": runs,
    }

"""`umkm run`: the whole pipeline for one snapshot, through Airflow.

1. the warehouse: `WAREHOUSE_URL`, or the embedded PostgreSQL (started if needed), bootstrapped;
2. Airflow: config, metadata DB and pools under `.local/airflow`;
3. the sources: by default a feed simulator started here, its connection settings exported
   as `AIRFLOW_CONN_UMKM_<SOURCE>`; with `--no-sim`, those already in the environment;
4. the DAGs, through `umkm.runner.execute` (ingestion per source, then the build);
5. a short summary.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from umkm import settings
from umkm.loading.audit import latest_build, latest_loads
from umkm.orchestration.snapshots import parse_snapshot
from umkm.runner import airflow_env
from umkm.runner import simulator as sim_process
from umkm.runner.progress import say
from umkm.runner.simulator import SimulatorHandle
from umkm.sources import load_registry
from umkm.transform.dbt import dev_mode, ensure_manifest, pii_key
from umkm.warehouse import connect, warehouse_url
from umkm.warehouse.bootstrap import bootstrap
from umkm.warehouse.db import redact

DEFAULT_SCALE = 0.01
DEFAULT_SEED = 2017


class RunError(RuntimeError):
    pass


def start_simulator(
    seed: int, scale: float, snapshot: str, log_path: Path, profile: str = "default"
) -> SimulatorHandle:
    """Start the simulator's command (`umkm-sim serve`) as its own process; wait for its
    READY line. Its connection settings are also written to `.local/sim/connections.env`
    for other shells. `profile` is the simulator's noise profile (`default`, or `heldout`
    to measure entity resolution on text it was not tuned on)."""
    env_file = settings.state_dir() / "sim" / "connections.env"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.unlink(missing_ok=True)
    try:
        return sim_process.start_simulator(
            seed,
            scale,
            snapshot,
            extra_args=["--env-out", str(env_file)],
            log_path=log_path,
            profile=profile,
        )
    except RuntimeError as exc:
        raise RunError(str(exc)) from exc


def source_env_from_environment() -> dict[str, str]:
    env, missing = {}, []
    for source in load_registry().values():
        value = os.environ.get(source.env_var)
        if value:
            env[source.env_var] = value
        else:
            missing.append(source.env_var)
    if missing:
        raise RunError(
            "--no-sim needs every source's connection in the environment; missing: "
            + ", ".join(missing)
        )
    return env


def run(
    snapshot: str,
    scale: float = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
    use_sim: bool = True,
    only: list[str] | None = None,
    sim_profile: str = "default",
) -> dict:
    snap = parse_snapshot(snapshot).isoformat()
    pii_key()  # no public key outside development mode: refused before anything starts
    started = time.monotonic()
    say(
        "warehouse: "
        + ("starting or reusing it" if "WAREHOUSE_URL" not in os.environ else "connecting")
    )
    url = warehouse_url()
    with connect(url) as conn:
        applied = bootstrap(conn)
    say(f"warehouse: {redact(url)} ({len(applied)} bootstrap steps applied)")
    env = airflow_env.airflow_env(url)
    # the DAGs run one after another here: an ingest DAG whose reference (BPS) is missing
    # cannot be helped by waiting, so its sensor fails at once, naming what to run
    env.setdefault("UMKM_REFERENCE_WAIT_TIMEOUT", "0")
    say(f"airflow: metadata database under {env.get('AIRFLOW_HOME', 'the state folder')}")
    airflow_env.ensure_initialised(env)
    say("dbt: the manifest the build DAG's model tasks are rendered from")
    ensure_manifest()  # the build DAG renders one task per dbt model from it
    logs = settings.logs_dir()
    run_log = logs / f"run-{snap}.log"
    sim = None
    try:
        if use_sim:
            say(
                f"simulator: starting the feeds (scale {scale}, seed {seed}, profile {sim_profile})"
            )
            sim = start_simulator(seed, scale, snap, logs / "simulator.log", sim_profile)
            env.update(sim.env)
        else:
            env.update(source_env_from_environment())
        result_file = settings.state_dir() / "runs" / f"{snap}.json"
        result_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "umkm.runner.execute",
            "--snapshot",
            snap,
            "--result-file",
            str(result_file),
        ]
        if only:
            cmd += ["--only", *only]
        from umkm.runner.execute import dag_order
        from umkm.runner.progress import Progress, follow

        progress = Progress.for_dags(dag_order(only))
        say(f"running {len(progress.dags)} DAGs for snapshot {snap}; log: {run_log}")
        with open(run_log, "w") as log:
            child = subprocess.Popen(
                cmd, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT
            )
            returncode = follow(child, run_log, progress, url, snap)
        runs = json.loads(result_file.read_text())["runs"] if result_file.exists() else []
    finally:
        if sim is not None:
            sim.stop()
    summary = {
        "snapshot": snap,
        "scale": scale if use_sim else None,
        "sim_profile": sim_profile if use_sim else None,
        "warehouse": redact(url),
        "runs": runs,
        "log": str(run_log),
        "seconds": round(time.monotonic() - started, 1),
        "ok": returncode == 0,
    }
    return summary


def collect_summary(snapshot: str, url: str | None = None) -> dict:
    """Rows per source and the bridge for the snapshot, from the warehouse."""
    snap = parse_snapshot(snapshot)
    out: dict = {"sources": {}, "bridge": []}
    with connect(url or warehouse_url()) as conn:
        out["sources"] = {
            sid: {
                "status": "unchanged" if load["unchanged_of"] else load["status"],
                "fetched": load["rows_fetched"],
                "loaded": load["rows_loaded"],
                "rejected": load["rows_rejected"],
            }
            for sid, load in latest_loads(conn, snap).items()
        }
        out["build"] = latest_build(conn, snap)
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            out["bridge"] = conn.execute(
                """
                select step_order, step_id, value, running_total
                from marts.mart_reconciliation_bridge where snapshot = %s order by step_order
                """,
                (snap,),
            ).fetchall()
    return out


def print_summary(summary: dict, details: dict) -> None:
    state = settings.state_dir()
    print()
    print(
        f"UMKM pipeline, snapshot {summary['snapshot']}"
        + (f" (simulator scale {summary['scale']}" if summary["scale"] else "")
        + (
            f", noise profile {summary['sim_profile']}"
            if summary["scale"] and summary.get("sim_profile", "default") != "default"
            else ""
        )
        + (")" if summary["scale"] else "")
    )
    for r in summary["runs"]:
        print(f"  {r['dag_id']:<24} {r['state']:<8} {r['seconds']:>6.1f}s")
    print("\nRows per source (fetched / published / quarantined):")
    for sid, s in sorted(details["sources"].items()):
        print(f"  {sid:<14} {s['status']:<8} {s['fetched']:>9} {s['loaded']:>9} {s['rejected']:>7}")
    if details.get("build"):
        status, detail = details["build"]
        print(f"\ndbt build: {'built' if status == 'success' else status} ({detail})")
    if not details["bridge"]:
        print("\nBridge: not built for this snapshot (see the log below).")
    else:
        print("\nBridge, Kominfo -> Kemenkop (scaled):")
        for order, step, value, running in details["bridge"]:
            print(f"  {order:>2}. {step:<32} {value:>+12,} {running:>12,}")
    print(f"\nWarehouse:  {summary['warehouse']}  (umkm warehouse psql; schema marts)")
    print(f"Report:     {settings.reports_dir() / 'index.html'}")
    print(f"Logs:       {summary['log']}  and {state / 'logs'}")
    print("Airflow UI: .venv/bin/umkm ui  (http://127.0.0.1:8080, logins admin and viewer)")
    if dev_mode() and not os.environ.get("UMKM_PII_KEY", "").strip():
        print(
            "Development mode (UMKM_DEV_MODE=1): personal data hashed with the public "
            "development key; set UMKM_PII_KEY for real data."
        )
    print(f"Took {summary['seconds']}s: {'OK' if summary['ok'] else 'FAILED'}")

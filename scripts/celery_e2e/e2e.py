"""One run of the Celery e2e, in order: `prepare` (temp dir, databases, the dbt manifest,
feeds, the Airflow home and its metadata DB), the services, the triggers and the waiting
for the runs (with a drill, a backfill, the build), the checks, and `teardown`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from . import checks, config, drills
from .common import ROOT, RunsTimeout, SetupError, log
from .db import Run, create_database, db_url, drop_database, refresh_runs
from .feeds import Feeds, start_feeds
from .processes import Services, airflow_cli, cleanup_redis, free_port


class E2E:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tag = str(os.getpid())
        self.airflow_db = f"airflow_celery_{self.tag}"
        self.warehouse_db = f"umkm_celery_{self.tag}"
        self.queue = f"umkm_e2e_{self.tag}"
        self.broker = f"{args.redis_url.rstrip('/')}/{args.redis_db}"
        self.tmp = Path(tempfile.mkdtemp(prefix="umkm-celery-e2e-"))
        self.services = Services(self.tmp, self.tag, self.queue, args.concurrency, free_port())
        self.feeds: Feeds | None = None
        self.databases: list[str] = []
        self.events: list[str] = []
        self.started = time.monotonic()
        self.build = False
        self.dbt_ok = False
        self.dbt_error = ""
        self.manifest_thread: threading.Thread | None = None
        # --backfill FROM:TO: every monthly snapshot in the window; else the one --snapshot
        self.snapshots = (
            drills.backfill_snapshots(args.backfill) if args.backfill else [args.snapshot]
        )
        if args.backfill:
            args.snapshot = self.snapshots[-1]  # bps and the build run for the last one

    # set-up ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        args = self.args
        state = self.tmp / "state"
        (state / "logs").mkdir(parents=True)
        (self.tmp / "logs").mkdir()
        self.services.pylib.mkdir()
        config.write_hostname_module(self.services.pylib)
        os.environ["UMKM_STATE_DIR"] = str(state)  # reports, dbt target, logs: all in tmp
        log(f"temp dir {self.tmp}")

        for name in (self.airflow_db, self.warehouse_db):
            create_database(name)
            self.databases.append(name)
        self.warehouse = db_url(self.warehouse_db)
        self.meta = db_url(self.airflow_db)
        log(f"databases {self.airflow_db} (metadata, Celery results), {self.warehouse_db}")

        from umkm.warehouse.bootstrap import bootstrap
        from umkm.warehouse.db import connect

        with connect(self.warehouse) as conn:
            applied = bootstrap(conn)
        log(f"warehouse bootstrapped ({len(applied)} migrations)")

        # the dbt manifest the build DAG renders its per-model tasks from (built ahead, as
        # `umkm run` does), in the background while the rest is set up
        os.environ["WAREHOUSE_URL"] = self.warehouse
        if args.build != "no":
            manifest_src = ROOT / ".local" / "dbt" / "manifest"
            if manifest_src.is_dir():
                shutil.copytree(manifest_src, state / "dbt" / "manifest")
            self.manifest_thread = threading.Thread(target=self.build_manifest, daemon=True)
            self.manifest_thread.start()

        self.feeds = start_feeds(
            args.feeds, self.snapshots, args.scale, args.seed, self.tmp / "logs"
        )

        from umkm.runner import airflow_env

        env = airflow_env.airflow_env(self.warehouse, extra=self.feeds.env)
        home = Path(env["AIRFLOW_HOME"])
        settings = config.airflow_config(
            self.airflow_db,
            self.broker,
            self.queue,
            args.concurrency,
            self.services.api_port,
            Path(env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"]),
        )
        airflow_env.write_config(settings, config.NOTE)  # the home: AIRFLOW_HOME of `env`
        config.require_compatible_celery()
        self.services.env = env = config.process_env(env, settings)
        # this process runs the Airflow CLI (migrate, pools, unpause, trigger) in-process
        os.environ.update(env)

        pools = home / "pools.json"
        pools.write_text(json.dumps(airflow_env.pools(), indent=2))
        t0 = time.monotonic()
        airflow_cli(["db", "migrate"])
        airflow_cli(["pools", "import", str(pools)])
        log(f"metadata DB migrated, pools imported ({time.monotonic() - t0:.0f}s)")

    def build_manifest(self) -> None:
        from umkm.transform.dbt import DbtError, ensure_manifest

        t0 = time.monotonic()
        try:
            ensure_manifest()
            self.dbt_ok = True
            log(f"dbt manifest ready ({time.monotonic() - t0:.0f}s)")
        except DbtError as exc:
            self.dbt_error = str(exc)[-600:]
            log(f"the dbt project does not parse:\n{self.dbt_error}")

    def decide_build(self) -> None:
        if self.manifest_thread is not None:
            self.manifest_thread.join()
        if self.args.build == "auto":
            self.build = self.dbt_ok
            if not self.build:
                log("--build auto: warehouse_build skipped (the dbt project does not parse)")
        else:
            self.build = self.args.build == "yes"

    # runs ------------------------------------------------------------------------------------
    def trigger(self, dag_ids: list[str]) -> list[Run]:
        from umkm.orchestration.snapshots import logical_date_for

        logical = logical_date_for(self.args.snapshot).isoformat()
        conf = json.dumps({"snapshot": self.args.snapshot})
        runs = []
        for dag_id in dag_ids:
            run_id = f"celery_e2e__{self.args.snapshot}__{self.tag}"
            airflow_cli(["dags", "unpause", dag_id])
            airflow_cli(
                [
                    "dags",
                    "trigger",
                    dag_id,
                    "--conf",
                    conf,
                    "--logical-date",
                    logical,
                    "--run-id",
                    run_id,
                ]
            )
            runs.append(Run(dag_id, run_id))
        return runs

    def wait_runs(self, runs: list[Run], deadline: float, drill=None):
        """Poll until every run is finished; returns the drill if it has not happened yet."""
        run_ids = sorted({r.run_id for r in runs})
        last = ""
        while time.monotonic() < deadline:
            self.services.check_alive()
            if drill is not None and drill(run_ids):
                drill = None
            refresh_runs(self.meta, runs)
            states = {}
            for r in runs:
                states[r.state] = states.get(r.state, 0) + 1
            summary = ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
            if summary != last:
                log(f"runs: {summary}")
                last = summary
            if all(r.state in ("success", "failed") for r in runs):
                return drill
            time.sleep(2)
        raise RunsTimeout(f"runs not finished within --timeout: {last}")

    # main ------------------------------------------------------------------------------------
    def run(self) -> int:
        from umkm.sources import load_registry

        self.prepare()
        self.decide_build()
        wanted = self.args.sources.split(",") if self.args.sources else list(load_registry())
        wanted = [*wanted, "bps"]  # reference data: always loaded (first)
        unknown = set(wanted) - set(load_registry())
        if unknown:
            raise SetupError(f"unknown sources: {', '.join(sorted(unknown))}")
        # reference data first: on a fresh warehouse every other source's validation resolves
        # cities and regency codes against raw.bps (in production BPS loads yearly, before)
        first = [f"ingest_{sid}" for sid in load_registry() if sid in wanted and sid == "bps"]
        rest = [f"ingest_{sid}" for sid in load_registry() if sid in wanted and sid != "bps"]
        expected_dags = set(first + rest) | ({"warehouse_build"} if self.build else set())
        self.services.start(triggerer=self.build)
        self.services.wait_ready(self.meta, expected_dags, self.args.startup_timeout, self.started)
        deadline = time.monotonic() + self.args.timeout
        drill = drills.make_drill(self)
        runs: list[Run] = []
        timed_out = ""
        rerun: dict = {}
        try:
            for batch in (first, rest):
                if not batch:
                    continue
                if self.args.backfill and batch is rest:
                    new = drills.backfill(self, batch)
                else:
                    new = self.trigger(batch)
                runs += new
                drill = self.wait_runs(new, deadline, drill)
                if any(r.state != "success" for r in new):
                    break
            if self.build and all(r.state == "success" for r in runs):
                build = self.trigger(["warehouse_build"])
                runs += build
                self.wait_runs(build, deadline, drill)
            if self.args.backfill and rest and all(r.state == "success" for r in runs):
                rerun = drills.rerun_backfill(self, rest[0], deadline)
                runs += rerun.pop("runs")
        except RunsTimeout as exc:  # still report what ran where
            timed_out = str(exc)
            log(timed_out)
            refresh_runs(self.meta, runs)
        return checks.conclude(self, runs, rerun, timed_out)

    def teardown(self, ok: bool) -> None:
        self.services.stop()
        if self.feeds is not None:
            self.feeds.stop()
        cleanup_redis(self.broker, self.queue, self.tag)
        if not self.args.keep:
            for name in self.databases:
                with contextlib.suppress(Exception):
                    drop_database(name)
        if ok and not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp} (logs: {self.tmp / 'logs'}, task logs under state/logs)")
            if self.args.keep:
                log(f"kept databases {', '.join(self.databases)}")
        log("all processes stopped")

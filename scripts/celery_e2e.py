"""Prove that the pipeline runs unchanged under CeleryExecutor, on this machine.

The production shape (`docker-compose.yml`) is Airflow 3.3 with CeleryExecutor: a Redis
broker, PostgreSQL for Airflow's metadata and the Celery results, a PostgreSQL warehouse,
and two Celery workers. This script builds that shape out of local processes:

1. fresh databases on the PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres):
   `airflow_celery_<pid>` (Airflow metadata + Celery result backend) and
   `umkm_celery_<pid>` (the warehouse, bootstrapped by `umkm.warehouse.bootstrap`);
2. an Airflow home in a temp dir: `executor = CeleryExecutor`, broker on the Redis at
   127.0.0.1:6379 (its own db number, `--redis-db`, and a queue named after this run so
   concurrent runs never take each other's tasks), `[api_auth] jwt_secret` shared by every
   process, `[core] execution_api_server_url` pointing the workers at the api-server;
3. the processes of the compose file, as subprocesses with their logs in the temp dir:
   api-server, scheduler, dag-processor, TWO Celery workers with different hostnames
   (`worker-1-<pid>@<host>`, `worker-2-<pid>@<host>`), and a triggerer when
   `warehouse_build` runs (dbt's per-model Cosmos sensors defer to it);
4. the sources: the feed simulator (`umkm-sim serve --base-port 0`, tiny scale),
   or the tests' loopback feed servers (`tests/servers/feeds.py`, `--feeds loopback`), handed
   to the workers as `AIRFLOW_CONN_UMKM_<SOURCE>`;
5. `airflow dags unpause` + `airflow dags trigger` (the CLI's own commands, run in this
   process so the 10 s CLI start-up is paid once) with conf `{"snapshot": "2017-11-15"}` and
   the snapshot's logical date: `ingest_bps` first (the other sources' validation resolves
   regions against `raw.bps`), then every other `ingest_<source>` at once, then, when they
   have all succeeded, `warehouse_build` (`--build auto`: when the dbt project parses);
6. checks, from the metadata DB, that every run succeeded and that task instances ran on
   BOTH workers (`task_instance.hostname`, `task_instance_history` for earlier tries), and,
   from the warehouse, that each source's raw table holds the snapshot's rows without
   duplicates and, with `--baseline` (an undisturbed run's `--json-out`) or loopback feeds,
   exactly the expected number; prints a table and exits non-zero otherwise.

Reliability drills (issue 8): `--kill-worker` sends SIGKILL to worker-1's whole process
group (Celery parent, pool processes and the task processes they supervise: a lost
container or machine) while it runs a task, then starts a replacement worker; the task's
heartbeat stops, the scheduler fails that try after `[scheduler]
task_instance_heartbeat_timeout` (60 s here) and retries it on a live worker.
`--kill-scheduler` SIGKILLs the scheduler mid-run and starts another, which adopts the
running tasks (a task queued in the killed scheduler's last second may wait for
`[scheduler] task_queued_timeout`, 600 s, before it is requeued). Both must end with every
run successful and the same raw row counts as an undisturbed run.

Backfill (issue 8): `--backfill 2017-01-15:2019-12-15` replaces step 5's triggers of the
ingestion DAGs (bps excepted: reference data, triggered first for the last snapshot) with
`airflow backfill create --dag-id ingest_<source> --from-date .. --to-date ..` each, the
scheduler's own backfill; every run takes its snapshot from its logical date. Then
`warehouse_build` for the last snapshot (dbt rebuilds every snapshot), then one ingestion
DAG is backfilled again with `--reprocess-behavior completed`. Checks: every source holds
every snapshot without duplicates, the rerun left each snapshot's rows as they were, and
`marts.mart_reconciliation_bridge` holds the whole series, closing for each snapshot.

Only the deployment differs from `umkm run`: the DAG files, plugins and dbt project are the
repository's own. `[scheduler] use_job_schedule = False` keeps the cron and asset schedules
from adding runs of their own (today's cron run would load another snapshot); every run
here is triggered explicitly.

    .venv/bin/python scripts/celery_e2e.py --json-out plain.json        # plain run
    .venv/bin/python scripts/celery_e2e.py --kill-worker --baseline plain.json
    .venv/bin/python scripts/celery_e2e.py --kill-scheduler --baseline plain.json --keep
    .venv/bin/python scripts/celery_e2e.py --backfill 2017-09-15:2017-11-15

Exit codes: 0 all checks passed; 1 a check failed (also: runs not finished within
--timeout); 2 set-up failed (a process did not start, DAG import errors); 3 Redis or
PostgreSQL not reachable.
Every process started here is stopped on exit, also on Ctrl-C or failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "tests")]

from umkm.runner.simulator import SimulatorHandle  # noqa: E402
from umkm.runner.simulator import start_simulator as start_sim  # noqa: E402
from umkm.sources import get_source  # noqa: E402
from umkm.warehouse.bootstrap import create_database_sql  # noqa: E402

SNAPSHOT = "2017-11-15"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"
HEARTBEAT_TIMEOUT_S = 60  # how long a task of a dead worker stays "running"

HOSTNAME_MODULE = '''\
"""[core] hostname_callable of this e2e run: the Celery worker's name, so task_instance.hostname
tells the two workers on this one machine apart (on separate machines getfqdn() does)."""
import os
import socket


def worker_hostname() -> str:
    return os.environ.get("UMKM_E2E_WORKER_HOSTNAME") or socket.getfqdn()
'''

CONFIG = """\
# Written by scripts/celery_e2e.py: the docker-compose shape as local processes.
[core]
dags_folder = {dags}
plugins_folder = {plugins}
load_examples = False
executor = CeleryExecutor
dags_are_paused_at_creation = True
parallelism = 16
max_active_tasks_per_dag = 4
default_timezone = utc
execution_api_server_url = http://127.0.0.1:{api_port}/execution/
simple_auth_manager_all_admins = True

[database]
sql_alchemy_conn = postgresql+psycopg2://postgres@127.0.0.1:5432/{airflow_db}
# Airflow 3 also opens an async engine; derived from the URL above it needs asyncpg, which
# this venv does not have (the official image does): psycopg 3 serves both.
sql_alchemy_conn_async = postgresql+psycopg://postgres@127.0.0.1:5432/{airflow_db}

[celery]
broker_url = {broker}
result_backend = db+postgresql://postgres@127.0.0.1:5432/{airflow_db}
worker_concurrency = {concurrency}

[operators]
default_queue = {queue}

[logging]
base_log_folder = {logs}

[api]
host = 127.0.0.1
port = {api_port}
base_url = http://127.0.0.1:{api_port}

[scheduler]
use_job_schedule = False
task_instance_heartbeat_timeout = {heartbeat_timeout}
task_instance_heartbeat_timeout_detection_interval = 5
orphaned_tasks_check_interval = 15
scheduler_health_check_threshold = 20

[dag_processor]
refresh_interval = 30
min_file_process_interval = 60
"""


class SetupError(RuntimeError):
    """The shape did not come up (exit 2)."""


class RunsTimeout(RuntimeError):
    """The runs did not finish within --timeout (reported, exit 1)."""


def log(msg: str) -> None:
    # sys.__stdout__: the Airflow CLI commands run here have stdout redirected to a log file
    print(f"[celery-e2e {time.strftime('%H:%M:%S')}] {msg}", file=sys.__stdout__, flush=True)


def reachable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999): the api-server binds it a
    minute later, and an ephemeral port can meanwhile go to any outgoing connection."""
    import random

    for _ in range(200):
        port = random.randint(20000, 30999)  # noqa: S311 - not security-relevant
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SetupError("no free port for the api-server in 20000-30999")


# -- processes ---------------------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None
    handle: IO | None = None
    expected_dead: bool = False

    def start(self) -> Proc:
        self.handle = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # own session: Ctrl-C in the terminal reaches this script only, which stops the
        # whole group; kill_hard() takes the group (a worker's pool and task processes too)
        self.popen = subprocess.Popen(
            self.cmd,
            env=self.env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(ROOT),
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def kill_hard(self) -> None:
        """`kill -9` of the process and everything it started."""
        self.expected_dead = True
        self._signal_group(signal.SIGKILL)
        assert self.popen is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 25) -> None:
        if self.popen is None:
            return
        if self.alive():
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # whatever is left of the group (also after the parent exited)
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if self.handle:
            self.handle.close()

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


# -- feeds -------------------------------------------------------------------------------------
@dataclass
class Feeds:
    env: dict[str, str] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)  # source -> rows served
    servers: list = field(default_factory=list)
    sim: SimulatorHandle | None = None

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        if self.sim is not None:
            self.sim.stop()


def sim_available() -> bool:
    return (ROOT / "simulator" / "umkm_sim" / "__main__.py").exists()


def start_feeds(kind: str, snapshots: list[str], scale: float, seed: int, log_dir: Path) -> Feeds:
    """Feeds serving `snapshots` (expected row counts, for loopback feeds: the last one's)."""
    if kind in ("auto", "sim") and sim_available():
        try:
            return start_simulator(",".join(snapshots), scale, seed, log_dir)
        except SetupError as exc:
            if kind == "sim":
                raise
            log(f"{exc}: using the loopback feed servers instead")
    elif kind == "sim":
        raise SetupError("no feed simulator (umkm-sim, simulator/umkm_sim) in this checkout")
    return start_loopback(snapshots)


def start_simulator(snapshot: str, scale: float, seed: int, log_dir: Path) -> Feeds:
    log(f"feeds: the feed simulator (umkm-sim serve, scale {scale}, seed {seed})")
    try:
        # its own session: the chaos drills kill process groups, never the feeds'
        handle = start_sim(
            seed,
            scale,
            snapshot,
            timeout=300,
            log_path=log_dir / "simulator.log",
            start_new_session=True,
        )
    except RuntimeError as exc:
        raise SetupError(str(exc)) from exc
    return Feeds(env=dict(handle.env), sim=handle)  # row counts: compared with --baseline


def start_loopback(snapshots: list[str]) -> Feeds:
    from servers.feeds import FeedServer

    from umkm.sources import load_registry

    registry = load_registry()
    feeds = Feeds()

    log(f"feeds: {len(registry)} loopback FeedServers (tests/servers/feeds.py), one per source")
    for sid, source in registry.items():
        server = FeedServer(source.protocol, snapshots=tuple(snapshots)).start()
        feeds.servers.append(server)
        feeds.env[source.env_var] = server.conn_uri()
        feeds.expected[sid] = len(server.expected_ids(snapshots[-1]))
    return feeds


# -- the celery/provider version conflict -------------------------------------------------------
def celery_compatible(pythonpath: str = "") -> bool:
    """Whether the Celery provider's executor module imports with this celery."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    probe = "from celery.backends.database import retry, session_cleanup"
    return (
        subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0
    )


def require_compatible_celery() -> None:
    """celery 5.7 dropped `celery.backends.database.retry`, which the Celery provider 3.26
    imports: no worker or CeleryExecutor starts with it. constraints.txt pins 5.6.3."""
    if not celery_compatible():
        import celery

        raise SetupError(
            f"celery {celery.__version__} breaks apache-airflow-providers-celery (no "
            "celery.backends.database.retry); install the pinned stack: make setup"
        )


# -- metadata and warehouse queries ------------------------------------------------------------
def pg(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def create_database(name: str) -> None:
    with pg(PG_ADMIN) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(create_database_sql(name))


def drop_database(name: str) -> None:
    with pg(PG_ADMIN) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def db_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


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


def backfill_runs(meta: str, dag_ids: list[str], since: float) -> list[Run]:
    """The dag runs of the backfills of `dag_ids` created after `since` (Unix seconds): new
    runs, or existing ones a reprocessing backfill cleared (they keep their run ids)."""
    with pg(meta) as conn:
        rows = conn.execute(
            "select dr.dag_id, dr.run_id from backfill b "
            "join backfill_dag_run bdr on bdr.backfill_id = b.id "
            "join dag_run dr on dr.id = bdr.dag_run_id "
            "where b.dag_id = any(%s) and b.created_at >= to_timestamp(%s) "
            "order by dr.dag_id, dr.logical_date",
            (dag_ids, since),
        ).fetchall()
    return [Run(dag_id, run_id) for dag_id, run_id in rows]


def bridge_series(warehouse: str) -> list[tuple]:
    """(snapshot, Kominfo's total, active online UMKM, Kemenkop's count, residual) per
    snapshot of marts.mart_reconciliation_bridge."""
    with pg(warehouse) as conn:
        return conn.execute(
            "select snapshot, "
            "max(value) filter (where step_id = 'kominfo_published'), "
            "max(running_total) filter (where step_id = 'dormant_accounts'), "
            "max(value) filter (where step_id = 'kemenkopukm_registry'), "
            "max(value) filter (where step_id = 'kemenkopukm_registry') - "
            "sum(value) filter (where step_order < 10) "
            "from marts.mart_reconciliation_bridge group by snapshot order by snapshot"
        ).fetchall()


@dataclass
class Run:
    dag_id: str
    run_id: str
    state: str = "none"
    seconds: float | None = None


def refresh_runs(meta: str, runs: list[Run]) -> None:
    with pg(meta) as conn:
        rows = conn.execute(
            "select dag_id, run_id, state, extract(epoch from (end_date - start_date)) "
            "from dag_run where run_id = any(%s)",
            ([r.run_id for r in runs],),
        ).fetchall()
    found = {(d, r): (s, sec) for d, r, s, sec in rows}
    for run in runs:
        state, seconds = found.get((run.dag_id, run.run_id), ("none", None))
        run.state = state or "none"
        run.seconds = float(seconds) if seconds is not None else None


def task_rows(meta: str, run_ids: list[str]) -> list[tuple]:
    """(dag_id, task_id, map_index, try_number, state, hostname, current) for every try."""
    with pg(meta) as conn:
        current = conn.execute(
            "select dag_id, task_id, map_index, try_number, state, hostname, true "
            "from task_instance where run_id = any(%s)",
            (run_ids,),
        ).fetchall()
        history = conn.execute(
            "select dag_id, task_id, map_index, try_number, state, hostname, false "
            "from task_instance_history where run_id = any(%s)",
            (run_ids,),
        ).fetchall()
    return list(current) + list(history)


def running_on(meta: str, hostname: str, run_ids: list[str]) -> list[tuple]:
    with pg(meta) as conn:
        return conn.execute(
            "select dag_id, task_id, try_number from task_instance "
            "where run_id = any(%s) and state = 'running' and hostname = %s",
            (run_ids, hostname),
        ).fetchall()


def running_tasks(meta: str, run_ids: list[str]) -> int:
    with pg(meta) as conn:
        row = conn.execute(
            "select count(*) from task_instance where run_id = any(%s) and state = 'running'",
            (run_ids,),
        ).fetchone()
    return int(row[0]) if row else 0


def dags_parsed(meta: str) -> tuple[set[str], list[tuple[str, str]]]:
    with pg(meta) as conn:
        dags = {r[0] for r in conn.execute("select dag_id from serialized_dag").fetchall()}
        errors = conn.execute("select filename, stacktrace from import_error").fetchall()
    return dags, [(f, s) for f, s in errors]


def raw_counts(warehouse: str, snapshot: str) -> dict[str, dict]:
    from psycopg import sql

    from umkm.sources import load_registry

    out: dict[str, dict] = {}
    with pg(warehouse) as conn:
        for sid in load_registry():
            total, distinct = conn.execute(
                sql.SQL(
                    "select count(*), count(distinct record_id) from {} where snapshot = %s"
                ).format(sql.Identifier("raw", sid)),
                (snapshot,),
            ).fetchone()
            status = conn.execute(
                "select status from audit.loads where source_id = %s and snapshot = %s "
                "order by load_id desc limit 1",
                (sid, snapshot),
            ).fetchone()
            out[sid] = {
                "rows": int(total),
                "distinct": int(distinct),
                "status": status[0] if status else "missing",
            }
    return out


# -- the Airflow CLI, in this process ------------------------------------------------------------
_CLI_OUT: IO | None = None


def airflow_cli(argv: list[str]) -> None:
    """Run `airflow <argv>` through Airflow's own CLI parser (start-up paid once)."""
    from airflow.cli import cli_parser

    log("airflow " + " ".join(argv))
    args = cli_parser.get_parser().parse_args(argv)
    global _CLI_OUT
    if _CLI_OUT is None:  # one handle for the whole run: Airflow's loggers keep a reference
        out = Path(os.environ["AIRFLOW_HOME"]).parent.parent / "logs" / "airflow-cli.log"
        _CLI_OUT = open(out, "a")  # noqa: SIM115 - open until the process exits
    try:
        with contextlib.redirect_stdout(_CLI_OUT):
            args.func(args)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise SetupError(f"`airflow {' '.join(argv)}` exited with {exc.code}") from exc


def cleanup_redis(broker: str, queue: str, tag: str) -> None:
    """Remove this run's queue, bindings and unacked messages from the broker's db."""
    try:
        import redis
    except ImportError:
        return
    with contextlib.suppress(Exception):
        client = redis.Redis.from_url(broker, socket_timeout=5)
        client.delete(queue, f"_kombu.binding.{queue}")
        for key, payload in client.hscan_iter("unacked"):
            if queue.encode() in payload:
                client.hdel("unacked", key)
                client.zrem("unacked_index", key)
        for member in client.smembers("_kombu.binding.celery.pidbox"):
            if tag.encode() in member:
                client.srem("_kombu.binding.celery.pidbox", member)
        for key in client.scan_iter(f"*{tag}*"):
            client.delete(key)


# -- the run -----------------------------------------------------------------------------------
class E2E:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tag = str(os.getpid())
        self.airflow_db = f"airflow_celery_{self.tag}"
        self.warehouse_db = f"umkm_celery_{self.tag}"
        self.queue = f"umkm_e2e_{self.tag}"
        self.broker = f"{args.redis_url.rstrip('/')}/{args.redis_db}"
        self.tmp = Path(tempfile.mkdtemp(prefix="umkm-celery-e2e-"))
        self.procs: dict[str, Proc] = {}
        self.feeds: Feeds | None = None
        self.databases: list[str] = []
        self.env: dict[str, str] = {}
        self.api_port = free_port()
        self.host = socket.gethostname().split(".")[0]
        self.workers: dict[str, str] = {}  # label -> celery hostname (= TI hostname)
        self.events: list[str] = []
        self.started = time.monotonic()
        self.build = False
        self.dbt_ok = False
        self.dbt_error = ""
        self.manifest_thread: threading.Thread | None = None
        self.expected_counts = False
        # --backfill FROM:TO: every monthly snapshot in the window; else the one --snapshot
        self.snapshots = backfill_snapshots(args.backfill) if args.backfill else [args.snapshot]
        if args.backfill:
            args.snapshot = self.snapshots[-1]  # bps and the build run for the last one

    # set-up ------------------------------------------------------------------------------------
    def worker_name(self, label: str) -> str:
        return f"{label}-{self.tag}@{self.host}"

    def prepare(self) -> None:
        args = self.args
        state = self.tmp / "state"
        (state / "logs").mkdir(parents=True)
        (self.tmp / "logs").mkdir()
        (self.tmp / "pylib").mkdir()
        (self.tmp / "pylib" / "celery_e2e_hostname.py").write_text(HOSTNAME_MODULE)
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
        home.mkdir(parents=True, exist_ok=True)
        logs = Path(env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
        (home / "airflow.cfg").write_text(
            CONFIG.format(
                dags=ROOT / "dags",
                plugins=ROOT / "plugins",
                api_port=self.api_port,
                airflow_db=self.airflow_db,
                broker=self.broker,
                concurrency=args.concurrency,
                queue=self.queue,
                logs=logs,
                heartbeat_timeout=HEARTBEAT_TIMEOUT_S,
            )
        )
        # secrets shared by every process: through the environment, not the config file
        env["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_urlsafe(32)
        env["AIRFLOW__API__SECRET_KEY"] = secrets.token_urlsafe(32)
        env["AIRFLOW__CELERY__BROKER_URL"] = self.broker
        env["AIRFLOW__CORE__EXECUTOR"] = "CeleryExecutor"
        require_compatible_celery()
        # the venv's console scripts (dbt) first on PATH for every process
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self.env = env
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

    def spawn(self, name: str, argv: list[str], extra: dict[str, str] | None = None) -> Proc:
        env = dict(self.env)
        env.update(extra or {})
        proc = Proc(
            name,
            [str(Path(sys.executable).with_name("airflow")), *argv],
            env,
            self.tmp / "logs" / f"{name}.log",
        ).start()
        self.procs[name] = proc
        log(f"started {name} (pid {proc.pid}): airflow {' '.join(argv)}")
        return proc

    def spawn_worker(self, label: str) -> Proc:
        hostname = self.worker_name(label)
        self.workers[label] = hostname
        extra = {
            "UMKM_E2E_WORKER_HOSTNAME": hostname,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_e2e_hostname.worker_hostname",
            "PYTHONPATH": os.pathsep.join(
                [str(self.tmp / "pylib"), self.env.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep),
        }
        # --skip-serve-logs: two workers on one machine would both take port 8793; the
        # api-server reads task logs from the shared local log folder instead
        argv = [
            "celery",
            "worker",
            "--celery-hostname",
            hostname,
            "--concurrency",
            str(self.args.concurrency),
            "--queues",
            self.queue,
            "--skip-serve-logs",
        ]
        return self.spawn(label, argv, extra)

    def start_services(self) -> None:
        port = str(self.api_port)
        self.spawn("api-server", ["api-server", "--port", port, "--host", "127.0.0.1"])
        self.spawn("scheduler", ["scheduler", "--skip-serve-logs"])
        self.spawn("dag-processor", ["dag-processor"])
        if self.build:  # dbt's per-model Cosmos sensors defer to the triggerer
            self.spawn("triggerer", ["triggerer", "--skip-serve-logs"])
        self.spawn_worker("worker-1")
        self.spawn_worker("worker-2")

    def check_alive(self) -> None:
        for proc in self.procs.values():
            if not proc.expected_dead and not proc.alive():
                raise SetupError(
                    f"{proc.name} exited with {proc.popen.returncode if proc.popen else '?'}; "
                    f"last lines of {proc.log_path}:\n{proc.tail()}"
                )

    def wait_ready(self, expected_dags: set[str]) -> None:
        deadline = time.monotonic() + self.args.startup_timeout
        api_up = False
        workers_up: set[str] = set()
        dags: set[str] = set()
        while time.monotonic() < deadline:
            self.check_alive()
            if not api_up:
                with contextlib.suppress(OSError, urllib.error.URLError):
                    url = f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health"
                    with urllib.request.urlopen(url, timeout=3) as resp:
                        api_up = resp.status == 200
            for label in self.workers:
                if label not in workers_up and " ready." in self.procs[label].tail(200):
                    workers_up.add(label)
            dags, errors = dags_parsed(self.meta)
            if errors:
                detail = "\n".join(f"{f}:\n{s[-1500:]}" for f, s in errors)
                raise SetupError(f"DAG import errors:\n{detail}")
            if api_up and workers_up == set(self.workers) and expected_dags <= dags:
                log(
                    f"ready after {time.monotonic() - self.started:.0f}s: api-server, "
                    f"{len(workers_up)} workers, {len(dags)} DAGs parsed"
                )
                return
            time.sleep(1)
        raise SetupError(
            f"not ready after {self.args.startup_timeout}s: api-server up={api_up}, "
            f"workers ready={sorted(workers_up)}, DAGs missing={sorted(expected_dags - dags)}"
        )

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

    def backfill(self, dag_ids: list[str], reprocess: str = "none") -> list[Run]:
        """`airflow backfill create` over the --backfill window for each DAG (Airflow's own
        backfill: the scheduler runs them, the snapshot comes from each run's logical date)."""
        from umkm.orchestration.snapshots import logical_date_for

        since = time.time() - 1
        first = logical_date_for(self.snapshots[0]).date().isoformat()
        last = (logical_date_for(self.snapshots[-1]) + timedelta(hours=1)).isoformat()
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
        runs = backfill_runs(self.meta, dag_ids, since)
        want = len(dag_ids) * len(self.snapshots)
        if len(runs) != want:
            raise SetupError(f"the backfills created {len(runs)} runs, expected {want}")
        log(f"backfill: {len(runs)} runs of {len(dag_ids)} DAGs over {len(self.snapshots)} months")
        return runs

    def wait_runs(self, runs: list[Run], deadline: float, drill=None):
        """Poll until every run is finished; returns the drill if it has not happened yet."""
        run_ids = sorted({r.run_id for r in runs})
        last = ""
        while time.monotonic() < deadline:
            self.check_alive()
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

    # drills ----------------------------------------------------------------------------------
    def make_drill(self):
        args = self.args
        if not (args.kill_worker or args.kill_scheduler):
            return None
        state = {"t0": time.monotonic()}

        def drill(run_ids: list[str]) -> bool:
            if args.kill_worker:
                victim = self.workers["worker-1"]
                busy = running_on(self.meta, victim, run_ids)
                if not busy:
                    if time.monotonic() - state["t0"] > 240:
                        raise SetupError("worker-1 never ran a task to kill it in")
                    return False
                self.procs["worker-1"].kill_hard()
                tasks = ", ".join(f"{d}.{t} (try {n})" for d, t, n in busy)
                group = self.procs["worker-1"].pid
                msg = f"kill -9 worker-1 (process group {group}) mid-task: {tasks}"
                log(msg)
                self.events.append(msg)
                self.spawn_worker("worker-1b")
                self.events.append("started replacement worker worker-1b")
            if args.kill_scheduler:
                # while a task runs on a worker: the new scheduler must adopt it
                if running_tasks(self.meta, run_ids) == 0 and time.monotonic() - state["t0"] < 240:
                    return False
                self.procs["scheduler"].kill_hard()
                msg = f"kill -9 scheduler (process group {self.procs['scheduler'].pid}) mid-run"
                log(msg)
                self.events.append(msg)
                time.sleep(3)
                self.procs["scheduler-old"] = self.procs.pop("scheduler")
                self.spawn("scheduler", ["scheduler", "--skip-serve-logs"])
                self.events.append("started a new scheduler")
            return True

        return drill

    # report ----------------------------------------------------------------------------------
    def report(self, runs: list[Run]) -> dict:
        rows = task_rows(self.meta, sorted({r.run_id for r in runs}))
        label_of = {host: label for label, host in self.workers.items()}
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
        wall = time.monotonic() - self.started
        print()
        print(f"CeleryExecutor e2e, snapshot {self.args.snapshot}: {len(runs)} DAG runs")
        print(f"{'dag':<24} {'state':<8} {'seconds':>8}  worker (successful tasks)")
        for run in runs:
            workers = ", ".join(f"{k} x{v}" for k, v in sorted(per_dag.get(run.dag_id, {}).items()))
            secs = f"{run.seconds:8.1f}" if run.seconds is not None else f"{'-':>8}"
            print(f"{run.dag_id:<24} {run.state:<8} {secs}  {workers}")
        print()
        print("tasks per worker (successful, current tries):")
        for label, n in sorted(per_worker.items()):
            print(f"  {label:<10} {n:>4}   ({self.workers.get(label, label)})")
        if tries_per_worker != per_worker:
            print("all tries per worker (including failed/killed ones):")
            for label, n in sorted(tries_per_worker.items()):
                print(f"  {label:<10} {n:>4}")
        for event in self.events:
            print(f"drill: {event}")
        return {
            "snapshot": self.args.snapshot,
            "wall_seconds": round(wall, 1),
            "runs": [r.__dict__ for r in runs],
            "workers": self.workers,
            "tasks_per_worker": per_worker,
            "tries_per_worker": tries_per_worker,
            "events": self.events,
        }

    def rerun_backfill(self, dag_id: str, deadline: float) -> dict:
        """Backfill one DAG again over the window, reprocessing completed runs: every
        snapshot's raw rows must come out the same (idempotent loads)."""
        sid = dag_id.removeprefix("ingest_")
        before = {snap: raw_counts(self.warehouse, snap)[sid]["rows"] for snap in self.snapshots}
        since = time.time() - 1
        runs = self.backfill([dag_id], reprocess="completed")
        time.sleep(5)  # a cleared run goes back to queued: do not take its old state
        self.wait_runs(runs, deadline)
        after = {snap: raw_counts(self.warehouse, snap)[sid]["rows"] for snap in self.snapshots}
        with pg(self.meta) as conn:
            reran = conn.execute(
                "select count(*) from dag_run where run_id = any(%s) and dag_id = %s "
                "and end_date >= to_timestamp(%s)",
                ([r.run_id for r in runs], dag_id, since),
            ).fetchone()[0]
        return {
            "source": sid,
            "before": before,
            "after": after,
            "runs_finished_again": reran,
            "runs": runs,
        }

    def check_series(self, rerun: dict) -> list[str]:
        """Backfill checks: every source's raw table holds every snapshot of the window
        without duplicates, the rerun changed nothing, and the marts hold the series."""
        problems = []
        print()
        print(f"raw rows per snapshot ({len(self.snapshots)} snapshots, backfilled sources)")
        for snap in self.snapshots:
            counts = raw_counts(self.warehouse, snap)
            wanted = self.args.sources.split(",") if self.args.sources else list(counts)
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
            if rerun["runs_finished_again"] != len(self.snapshots):
                problems.append(f"the rerun did not run every snapshot again: {rerun}")
        else:
            problems.append("the rerun of the backfill did not run")
        if self.build:
            series = bridge_series(self.warehouse)
            print()
            print("bridge per snapshot: Kominfo published, active online UMKM, Kemenkop, residual")
            for snap, k, active, c, residual in series:
                print(f"  {snap}  {k:>10,}  {active:>10,}  {c:>10,}  {residual}")
            got = {str(row[0]) for row in series}
            missing = sorted(set(self.snapshots) - got)
            if missing:
                problems.append(f"marts.mart_reconciliation_bridge lacks {missing}")
            if any(row[4] != 0 for row in series):
                problems.append("a snapshot's bridge does not close")
        return problems

    def check_counts(self) -> tuple[dict, list[str]]:
        counts = raw_counts(self.warehouse, self.args.snapshot)
        problems = []
        baseline = {}
        if self.args.baseline and Path(self.args.baseline).exists():
            baseline = json.loads(Path(self.args.baseline).read_text()).get("raw_rows", {})
        expected = baseline or (self.feeds.expected if self.feeds else {})
        self.expected_counts = bool(expected)
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
        return counts, problems

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
        self.start_services()
        self.wait_ready(expected_dags)
        deadline = time.monotonic() + self.args.timeout
        drill = self.make_drill()
        runs: list[Run] = []
        timed_out = ""
        rerun: dict = {}
        try:
            for batch in (first, rest):
                if not batch:
                    continue
                if self.args.backfill and batch is rest:
                    new = self.backfill(batch)
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
                rerun = self.rerun_backfill(rest[0], deadline)
                runs += rerun.pop("runs")
        except RunsTimeout as exc:  # still report what ran where
            timed_out = str(exc)
            log(timed_out)
            refresh_runs(self.meta, runs)
        summary = self.report(runs)
        if self.args.backfill:
            problems = self.check_series(rerun)
            summary["rerun"] = rerun
        else:
            counts, problems = self.check_counts()
            summary["raw_rows"] = {sid: c["rows"] for sid, c in counts.items()}
        if timed_out:
            problems.append(timed_out)
        failed = [r.dag_id for r in runs if r.state != "success"]
        if failed:
            problems.append(f"runs not successful: {', '.join(failed)}")
        if self.build and "warehouse_build" not in {r.dag_id for r in runs}:
            problems.append("warehouse_build not run (ingestion did not all succeed)")
        summary["warehouse_build"] = "run" if self.build else "skipped"
        if not self.build:
            why = "--build no" if self.args.build == "no" else "the dbt project does not parse"
            print(f"warehouse_build: skipped ({why})")
        original = {self.workers["worker-1"], self.workers["worker-2"]}
        ran_on = {
            h for _d, _t, _m, _n, _s, h, _c in task_rows(self.meta, [r.run_id for r in runs]) if h
        }
        if not original <= ran_on:
            problems.append(f"tasks did not run on both workers: ran on {sorted(ran_on)}")
        summary["hostnames"] = sorted(ran_on)
        summary["problems"] = problems
        summary["ok"] = not problems
        print()
        print(f"wall time {summary['wall_seconds']}s (set-up, start-up, runs and checks)")
        print(f"task hostnames: {', '.join(sorted(ran_on))}")
        if self.args.json_out:
            Path(self.args.json_out).write_text(json.dumps(summary, indent=2, default=str))
        if problems:
            print("FAILED:\n  " + "\n  ".join(problems))
            return 1
        exact = "equal to the expected counts" if self.expected_counts else "without duplicates"
        print(f"OK: every run succeeded, tasks ran on both workers, raw rows {exact}")
        return 0

    def teardown(self, ok: bool) -> None:
        procs = list(self.procs.values())
        for proc in procs:  # SIGTERM to every group first, then wait for each
            if proc.alive():
                proc._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in procs:
            proc.stop(timeout=max(1.0, deadline - time.monotonic()))
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


if __name__ == "__main__":
    sys.exit(main())

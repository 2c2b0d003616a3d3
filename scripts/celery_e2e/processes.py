"""Starting and stopping the shape's processes: each Airflow service (api-server, scheduler,
dag-processor, triggerer, the Celery workers) is a subprocess in its own session with its
log in the temp dir (`Proc`, `Services`); the Airflow CLI commands (migrate, pools, unpause,
trigger, backfill) run in this process instead (`airflow_cli`); `cleanup_redis` removes
the run's keys from the broker at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import config
from .common import ROOT, SetupError, log
from .db import dags_parsed


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


class Services:
    """The compose file's Airflow processes on this machine, by name (`procs`), and the
    Celery workers' names (`workers`: label -> celery hostname = task_instance.hostname)."""

    def __init__(self, tmp: Path, tag: str, queue: str, concurrency: int, api_port: int) -> None:
        self.log_dir = tmp / "logs"
        self.pylib = tmp / "pylib"
        self.tag = tag
        self.queue = queue
        self.concurrency = concurrency
        self.api_port = api_port
        self.host = socket.gethostname().split(".")[0]
        self.env: dict[str, str] = {}  # every process's, set once the home is written
        self.procs: dict[str, Proc] = {}
        self.workers: dict[str, str] = {}

    def worker_name(self, label: str) -> str:
        return f"{label}-{self.tag}@{self.host}"

    def spawn(self, name: str, argv: list[str], extra: dict[str, str] | None = None) -> Proc:
        env = dict(self.env)
        env.update(extra or {})
        proc = Proc(
            name,
            [str(Path(sys.executable).with_name("airflow")), *argv],
            env,
            self.log_dir / f"{name}.log",
        ).start()
        self.procs[name] = proc
        log(f"started {name} (pid {proc.pid}): airflow {' '.join(argv)}")
        return proc

    def spawn_worker(self, label: str) -> Proc:
        hostname = self.worker_name(label)
        self.workers[label] = hostname
        extra = config.worker_env(hostname, self.pylib, self.env.get("PYTHONPATH", ""))
        # --skip-serve-logs: two workers on one machine would both take port 8793; the
        # api-server reads task logs from the shared local log folder instead
        argv = [
            "celery",
            "worker",
            "--celery-hostname",
            hostname,
            "--concurrency",
            str(self.concurrency),
            "--queues",
            self.queue,
            "--skip-serve-logs",
        ]
        return self.spawn(label, argv, extra)

    def start(self, triggerer: bool) -> None:
        port = str(self.api_port)
        self.spawn("api-server", ["api-server", "--port", port, "--host", "127.0.0.1"])
        self.spawn("scheduler", ["scheduler", "--skip-serve-logs"])
        self.spawn("dag-processor", ["dag-processor"])
        if triggerer:  # dbt's per-model Cosmos sensors defer to the triggerer
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

    def wait_ready(
        self, meta: str, expected_dags: set[str], timeout: float, started: float
    ) -> None:
        """Until the api-server answers, every worker is ready and `expected_dags` are parsed."""
        deadline = time.monotonic() + timeout
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
            dags, errors = dags_parsed(meta)
            if errors:
                detail = "\n".join(f"{f}:\n{s[-1500:]}" for f, s in errors)
                raise SetupError(f"DAG import errors:\n{detail}")
            if api_up and workers_up == set(self.workers) and expected_dags <= dags:
                log(
                    f"ready after {time.monotonic() - started:.0f}s: api-server, "
                    f"{len(workers_up)} workers, {len(dags)} DAGs parsed"
                )
                return
            time.sleep(1)
        raise SetupError(
            f"not ready after {timeout}s: api-server up={api_up}, "
            f"workers ready={sorted(workers_up)}, DAGs missing={sorted(expected_dags - dags)}"
        )

    def stop(self) -> None:
        procs = list(self.procs.values())
        for proc in procs:  # SIGTERM to every group first, then wait for each
            if proc.alive():
                proc._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in procs:
            proc.stop(timeout=max(1.0, deadline - time.monotonic()))


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

"""Live progress of `umkm run`: each DAG, its current task, elapsed time, rows so far.

The DAGs run in a child process (`umkm.runner.execute`) whose output goes to the run's log.
`follow` reads that log as it grows and the warehouse's `audit.loads` (the running pull's
rows and pages, updated at every page), and shows:

- on a terminal, a live table (rich): one row per DAG, its state, current task, elapsed
  time and rows so far (or dbt's node count during the build);
- otherwise (CI, a pipe, a file), plain timestamped lines: a DAG starts, a task starts,
  rows every `ROWS_EVERY` seconds during a pull, dbt every `ROWS_EVERY` seconds, a DAG ends.

What it reads from the log: `DAGSTART <dag_id>` and `DAGRUN <dag_id> <state> <seconds>s`
(printed by umkm.runner.execute), Airflow's `[DAG TEST] starting task_id=...` and dbt's
`<n> of <total> ...` lines.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

#: seconds between two plain progress lines on the same pull or build
ROWS_EVERY = 10.0
#: seconds between two looks at the log and the warehouse
TICK = 1.0

_DAG_START = re.compile(r"^DAGSTART (\S+)")
_DAG_END = re.compile(r"^DAGRUN (\S+) (\S+) ([\d.]+)s")
_TASK = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_DBT_NODE = re.compile(r"\b(\d+) of (\d+) (?:OK|PASS|ERROR|FAIL|WARN|SKIP|START)\b")


def say(text: str, out: TextIO | None = None) -> None:
    """One timestamped line (the set-up steps of `umkm run`, and plain progress)."""
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {text}", file=out or sys.stdout, flush=True)


@dataclass
class DagProgress:
    dag_id: str
    state: str = "waiting"
    task: str = ""
    started: float | None = None
    seconds: float | None = None
    rows: int | None = None
    pages: int | None = None
    dbt_done: int | None = None
    dbt_total: int | None = None

    def elapsed(self, now: float) -> float:
        if self.seconds is not None:
            return self.seconds
        return now - self.started if self.started is not None else 0.0

    def detail(self) -> str:
        if self.dbt_total:
            return f"dbt {self.dbt_done}/{self.dbt_total} nodes"
        if self.rows is not None:
            return f"{self.rows:,} rows, {self.pages or 0:,} pages"
        return ""


@dataclass
class Progress:
    """What the run has done so far, fed with log lines and row counts."""

    dags: dict[str, DagProgress]
    out: TextIO = sys.stdout
    plain: bool = True
    #: source id -> (rows, pages) of its latest pull, read when its DAG ends (a pull shorter
    #: than a tick would otherwise end without its rows)
    last_load: Callable[[str], tuple[int, int] | None] | None = None
    _last_line: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_dags(cls, dag_ids: list[str], out: TextIO = sys.stdout, plain: bool | None = None):
        if plain is None:
            plain = not out.isatty()
        return cls({d: DagProgress(d) for d in dag_ids}, out=out, plain=plain)

    @property
    def current(self) -> DagProgress | None:
        return next((d for d in self.dags.values() if d.state == "running"), None)

    def say(self, text: str) -> None:
        if self.plain:
            say(text, self.out)

    def feed(self, line: str) -> None:
        now = time.monotonic()
        if m := _DAG_START.match(line):
            dag = self.dags.setdefault(m[1], DagProgress(m[1]))
            dag.state, dag.started = "running", now
            self.say(f"{dag.dag_id}: started")
        elif m := _DAG_END.match(line):
            dag = self.dags.setdefault(m[1], DagProgress(m[1]))
            dag.state, dag.seconds, dag.task = m[2], float(m[3]), ""
            if self.last_load and dag.dag_id.startswith("ingest_"):
                found = self.last_load(dag.dag_id.removeprefix("ingest_"))
                if found:
                    dag.rows, dag.pages = found
            detail = f" ({dag.detail()})" if dag.detail() else ""
            self.say(f"{dag.dag_id}: {dag.state} in {dag.seconds:.1f} s{detail}")
        elif (m := _TASK.search(line)) and (dag := self.current):
            dag.task = m[1]
            # the per-model tasks of the dbt group only follow the producer's results: one
            # line each would be a hundred lines saying what the dbt lines said already
            if not (dag.task.startswith("dbt.") and "producer" not in dag.task):
                self.say(f"{dag.dag_id}: task {dag.task} ({dag.elapsed(now):.0f} s)")
        elif (m := _DBT_NODE.search(line)) and (dag := self.current):
            dag.dbt_done, dag.dbt_total = max(dag.dbt_done or 0, int(m[1])), int(m[2])
            self._every(dag, f"{dag.dag_id}: {dag.detail()} ({dag.elapsed(now):.0f} s)")

    def rows(self, source_id: str, rows: int, pages: int) -> None:
        dag = self.dags.get(f"ingest_{source_id}")
        if dag is None or dag.state != "running":
            return
        changed = (rows, pages) != (dag.rows, dag.pages)
        dag.rows, dag.pages = rows, pages
        if changed and rows:
            elapsed = dag.elapsed(time.monotonic())
            self._every(dag, f"{dag.dag_id}: {dag.detail()} so far ({elapsed:.0f} s)")

    def _every(self, dag: DagProgress, text: str) -> None:
        now = time.monotonic()
        if now - self._last_line.get(dag.dag_id, 0.0) >= ROWS_EVERY:
            self._last_line[dag.dag_id] = now
            self.say(text)

    def table(self):
        """The live view on a terminal (rich renderable)."""
        from rich.table import Table

        now = time.monotonic()
        table = Table(title="umkm run", expand=False)
        for column in ("DAG", "state", "task", "elapsed", "progress"):
            table.add_column(column)
        for dag in self.dags.values():
            style = {"success": "green", "failed": "red", "running": "bold"}.get(dag.state, "dim")
            elapsed = f"{dag.elapsed(now):.0f} s" if dag.started or dag.seconds else ""
            table.add_row(dag.dag_id, dag.state, dag.task, elapsed, dag.detail(), style=style)
        return table


class LogFollower:
    """The complete lines appended to a file since the last call."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        self._partial = b""

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        self._offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]


def running_loads(url: str, snapshot: str) -> list[tuple[str, int, int]]:
    """(source, rows fetched, pages) of the pulls running for the snapshot."""
    from umkm.warehouse import connect

    with contextlib.suppress(Exception), connect(url) as conn:
        return conn.execute(
            "select source_id, rows_fetched, pages from audit.loads "
            "where status = 'running' and snapshot = %s",
            (snapshot,),
        ).fetchall()
    return []


def latest_load(url: str, snapshot: str, source_id: str) -> tuple[int, int] | None:
    """(rows fetched, pages) of the source's latest pull of the snapshot."""
    from umkm.warehouse import connect

    with contextlib.suppress(Exception), connect(url) as conn:
        return conn.execute(
            "select rows_fetched, pages from audit.loads where source_id = %s and snapshot = %s "
            "order by load_id desc limit 1",
            (source_id, snapshot),
        ).fetchone()
    return None


def follow(
    proc: subprocess.Popen, log_path: Path, progress: Progress, url: str, snapshot: str
) -> int:
    """Show progress until `proc` ends; return its exit code."""
    follower = LogFollower(log_path)
    if progress.last_load is None:
        progress.last_load = lambda sid: latest_load(url, snapshot, sid)

    def step() -> None:
        for line in follower.new_lines():
            progress.feed(line)
        current = progress.current
        if current is not None and current.dag_id.startswith("ingest_"):
            for sid, rows, pages in running_loads(url, snapshot):
                progress.rows(sid, rows, pages)

    if progress.plain:
        while proc.poll() is None:
            step()
            time.sleep(TICK)
        step()
        return proc.returncode
    from rich.live import Live

    with Live(progress.table(), refresh_per_second=2, transient=False) as live:
        while proc.poll() is None:
            step()
            live.update(progress.table())
            time.sleep(TICK)
        step()
        live.update(progress.table())
    return proc.returncode

"""Live progress of `umkm run` (issue 22, item 1), from the lines its child writes."""

from __future__ import annotations

import io
import re
import subprocess
import sys

from umkm.runner import progress as progress_module
from umkm.runner.progress import LogFollower, Progress, follow

LINES = [
    "DAGSTART ingest_bps",
    "2026-12-06T17:02:00Z [info ] [DAG TEST] starting task_id=extract_load map_index=-1",
    "DAGRUN ingest_bps success 42.9s",
    "DAGSTART warehouse_build",
    "x [info ] [DAG TEST] starting task_id=dbt.dbt_producer_watcher map_index=-1",
    "17:03:25  12 of 243 OK created sql table model staging.stg_tokopedia__shops ... [OK]",
    "17:03:35  42 of 243 PASS not_null_stg_x ... [PASS in 0.1s]",
    "x [info ] [DAG TEST] starting task_id=dbt.stg_tokopedia__shops.run map_index=-1",
    "DAGRUN warehouse_build failed 61.0s",
]


def _fed(monkeypatch, lines=LINES) -> tuple[Progress, str]:
    monkeypatch.setattr(progress_module, "ROWS_EVERY", 0.0)
    out = io.StringIO()
    progress = Progress.for_dags(["ingest_bps", "warehouse_build"], out=out, plain=True)
    for line in lines[:2]:
        progress.feed(line)
    progress.rows("bps", 27763, 4)
    progress.rows("tokopedia", 5, 1)  # no such DAG running: ignored
    for line in lines[2:]:
        progress.feed(line)
    return progress, out.getvalue()


def test_plain_lines_name_each_dag_task_rows_and_dbt_nodes(monkeypatch):
    progress, text = _fed(monkeypatch)
    lines = text.splitlines()
    assert all(re.match(r"^\[\d\d:\d\d:\d\d\] ", line) for line in lines)
    assert "ingest_bps: started" in text
    assert "ingest_bps: task extract_load" in text
    assert "ingest_bps: 27,763 rows, 4 pages so far" in text
    assert "ingest_bps: success in 42.9 s (27,763 rows, 4 pages)" in text
    assert "warehouse_build: task dbt.dbt_producer_watcher" in text
    assert "warehouse_build: dbt 42/243 nodes" in text
    assert "warehouse_build: failed in 61.0 s" in text
    assert "tokopedia" not in text
    assert "stg_tokopedia__shops.run" not in text  # the dbt group's model tasks: no line each
    assert progress.dags["warehouse_build"].state == "failed"


def test_the_terminal_table_has_a_row_per_dag(monkeypatch):
    from rich.console import Console

    progress, _ = _fed(monkeypatch, LINES[:6])
    console = Console(file=io.StringIO(), width=120)
    console.print(progress.table())
    shown = console.file.getvalue()
    assert "ingest_bps" in shown and "success" in shown
    assert "warehouse_build" in shown and "dbt.dbt_producer_watcher" in shown
    assert "dbt 12/243 nodes" in shown


def test_follower_returns_complete_lines_only(tmp_path):
    path = tmp_path / "run.log"
    follower = LogFollower(path)
    assert follower.new_lines() == []
    path.write_bytes(b"DAGSTART a\nhalf")
    assert follower.new_lines() == ["DAGSTART a"]
    with open(path, "ab") as handle:
        handle.write(b" line\n")
    assert follower.new_lines() == ["half line"]


def test_follow_reports_a_child_to_its_end(tmp_path, monkeypatch):
    """A child process writing the markers over time: every line seen, its exit code back."""
    monkeypatch.setattr(progress_module, "TICK", 0.05)
    log = tmp_path / "run.log"
    script = (
        "import time\n"
        "print('DAGSTART ingest_bps', flush=True); time.sleep(0.3)\n"
        "print('DAGRUN ingest_bps success 0.3s', flush=True)\n"
        "raise SystemExit(1)\n"
    )
    out = io.StringIO()
    progress = Progress.for_dags(["ingest_bps"], out=out, plain=True)
    with open(log, "w") as handle:
        child = subprocess.Popen([sys.executable, "-c", script], stdout=handle)
        code = follow(child, log, progress, "postgresql://nobody@127.0.0.1:1/none", "2017-11-15")
    assert code == 1
    assert "ingest_bps: started" in out.getvalue()
    assert "ingest_bps: success in 0.3 s" in out.getvalue()


def test_a_pull_too_short_to_sample_ends_with_its_rows():
    out = io.StringIO()
    progress = Progress.for_dags(["ingest_kominfo"], out=out, plain=True)
    progress.last_load = lambda sid: (1, 1) if sid == "kominfo" else None
    progress.feed("DAGSTART ingest_kominfo")
    progress.feed("DAGRUN ingest_kominfo success 2.5s")
    assert "ingest_kominfo: success in 2.5 s (1 rows, 1 pages)" in out.getvalue()

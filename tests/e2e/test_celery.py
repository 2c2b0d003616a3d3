"""The pipeline under CeleryExecutor with two workers (issue 8, "Scale-out").

Runs `scripts/celery_e2e.py` as a subprocess: fresh databases on the PostgreSQL at
127.0.0.1:5432, Redis at 127.0.0.1:6379 as the broker, an api-server, a scheduler, a
dag-processor and two Celery workers, then the ingestion DAGs of a few sources (BPS first,
then Tokopedia, Kominfo and Kemenperin: one of each protocol family that validates
quickly) for the 2017-11-15 snapshot. Asserts that the script passed its own checks (every
run successful, raw rows without duplicates) and that task instances ran on both workers.

The full run (every source, and `warehouse_build` when the dbt project parses) and the
`--kill-worker` / `--kill-scheduler` drills are the documented script runs in
docs/SCALE_OUT.md; they take longer than a test should on two cores.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "celery_e2e.py"
SOURCES = "tokopedia,kominfo,kemenperin"


def _reachable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


def _clean_env() -> dict[str, str]:
    """The environment without Airflow settings other tests or fixtures may have set."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_HOME"))
        and k not in ("WAREHOUSE_URL", "UMKM_STATE_DIR")
    }


def test_pipeline_runs_on_two_celery_workers(tmp_path):
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 (the Celery e2e needs one, trust auth)")
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("no Redis at 127.0.0.1:6379 (the Celery broker)")
    result = tmp_path / "celery_e2e.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--sources",
        SOURCES,
        "--build",
        "no",
        "--timeout",
        "420",
        "--json-out",
        str(result),
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=600
    )
    output = proc.stdout + proc.stderr
    if proc.returncode == 3:
        pytest.skip(f"Redis or PostgreSQL not reachable: {output[-500:]}")
    assert proc.returncode == 0, output[-6000:]

    summary = json.loads(result.read_text())
    workers = summary["workers"]
    assert {"worker-1", "worker-2"} <= set(workers)
    for label in ("worker-1", "worker-2"):
        hostname = workers[label]
        assert hostname in summary["hostnames"], f"no task ran on {label} ({hostname})"
        assert hostname in output
        assert summary["tasks_per_worker"].get(label, 0) >= 1
    expected = {"ingest_bps"} | {f"ingest_{s}" for s in SOURCES.split(",")}
    assert {r["dag_id"] for r in summary["runs"]} == expected
    assert all(r["state"] == "success" for r in summary["runs"]), summary["runs"]
    assert summary["raw_rows"]["bps"] > 0
    assert summary["raw_rows"]["tokopedia"] > 0

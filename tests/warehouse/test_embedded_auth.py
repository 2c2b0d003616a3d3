"""The embedded warehouse's logins (issue 21, item 7): scram-sha-256 passwords on every TCP
connection, the superuser's generated once and kept beside pgdata (0600), a data folder an
earlier version initialised with trust upgraded by the next start (stopped or running),
analyst logins from the environment or `umkm warehouse add-analyst`.

Servers of their own (a temp state folder, a free port), never the shared one: the upgrade
tests start servers the way earlier versions did.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from umkm import settings
from umkm.cli import main
from umkm.warehouse import embedded
from umkm.warehouse.db import parse_url

pytestmark = pytest.mark.skipif(
    settings.configured_warehouse_url() is not None, reason="WAREHOUSE_URL set: not embedded"
)

ENVIRONMENT = (
    "UMKM_ANALYST_USER",
    "UMKM_ANALYST_PASSWORD",
    "UMKM_EMBEDDED_LISTEN",
    "PGPASSWORD",
    "WAREHOUSE_URL",
    "AIRFLOW_CONN_UMKM_WAREHOUSE",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _point_at_own_server(mp: pytest.MonkeyPatch, state) -> None:
    mp.setenv("UMKM_STATE_DIR", str(state))
    mp.setenv("UMKM_EMBEDDED_PORT", str(_free_port()))
    for name in ENVIRONMENT:
        mp.delenv(name, raising=False)


@contextlib.contextmanager
def _own_folder():
    """A state folder of its own, outside pytest's numbered folders (which another pytest
    session on the machine may rotate away while a server still runs from them)."""
    folder = Path(tempfile.mkdtemp(prefix="umkm-auth-test-"))
    try:
        yield folder / "state"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def secured():
    """A server started by this version, for the module: its state folder."""
    with _own_folder() as state, pytest.MonkeyPatch.context() as mp:
        _point_at_own_server(mp, state)
        embedded.start()
        try:
            yield state
        finally:
            embedded.stop()


@pytest.fixture
def own_state(monkeypatch):
    """An empty state folder and a free port for one test; its server stopped afterwards."""
    with _own_folder() as state:
        _point_at_own_server(monkeypatch, state)
        try:
            yield state
        finally:
            embedded.stop()


def _bare_url(database: str = "postgres", password: str | None = None) -> str:
    """The superuser's URL without (or with another) password."""
    port = settings.embedded_port()
    credentials = f"postgres:{password}" if password else "postgres"
    return f"postgresql://{credentials}@127.0.0.1:{port}/{database}"


def _refused(url: str) -> str:
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(url, connect_timeout=5).close()
    return str(caught.value)


def _assert_secured(state) -> str:
    """Passwords required over TCP, the superuser's in its file: returns that password."""
    pw_file = embedded.password_file()
    assert pw_file.parent == state and pw_file.parent == embedded.pgdata_dir().parent
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    password = pw_file.read_text().strip()
    assert len(password) >= 40
    assert (embedded.pgdata_dir() / "pg_hba.conf").read_text() == embedded.HBA
    assert "no password supplied" in _refused(_bare_url())
    assert "password authentication failed" in _refused(_bare_url(password="wrong"))
    assert parse_url(embedded.url()).password == password
    with psycopg.connect(embedded.url("postgres")) as conn:
        stored = conn.execute(
            "select rolpassword from pg_authid where rolname = 'postgres'"
        ).fetchone()[0]
        assert stored.startswith("SCRAM-SHA-256$4096:")
        assert embedded.scram_matches(stored, password) is True
    return password


def test_scram_verifier():
    verifier = embedded.scram_verifier("correct horse")
    assert embedded.scram_matches(verifier, "correct horse") is True
    assert embedded.scram_matches(verifier, "correct horsE") is False
    assert embedded.scram_matches("md5abc", "correct horse") is False
    assert embedded.scram_matches(verifier, "kuda benar \u00e9") is None  # SASLprep: cannot tell


def test_a_new_server_takes_scram_passwords_only(secured):
    password = _assert_secured(secured)
    with psycopg.connect(embedded.url()) as conn:
        assert conn.execute("show password_encryption").fetchone()[0] == "scram-sha-256"
        assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("show unix_socket_directories").fetchone()[0] == ""
    psql = str(embedded.psql_path())
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    refused = subprocess.run(
        [psql, "-w", _bare_url("umkm"), "-Atc", "select 1"], capture_output=True, text=True, env=env
    )
    assert refused.returncode != 0 and "no password supplied" in refused.stderr
    allowed = subprocess.run(
        [psql, "-w", embedded.url(), "-Atc", "select current_user"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert allowed.stdout.strip() == "postgres", allowed.stderr
    assert password not in embedded.log_file().read_text()


def test_url_status_and_psql_commands(secured, capfd):
    password = embedded.superuser_password()
    assert main(["warehouse", "url"]) == 0
    shown = capfd.readouterr().out
    assert password not in shown and "postgres:***@127.0.0.1" in shown
    assert main(["warehouse", "url", "--show-password"]) == 0
    assert password in capfd.readouterr().out
    assert main(["warehouse", "status"]) == 0
    assert password not in capfd.readouterr().out
    assert main(["warehouse", "psql", "-Atc", "select current_user"]) == 0  # PGPASSWORD
    out = capfd.readouterr()
    assert out.out.strip() == "postgres", out.err


def _login(user: str, password: str) -> psycopg.Connection:
    port = settings.embedded_port()
    return psycopg.connect(
        f"postgresql://{user}:{password}@127.0.0.1:{port}/umkm", connect_timeout=5
    )


def _drop_role(name: str) -> None:
    with psycopg.connect(embedded.url(), autocommit=True) as conn:
        conn.execute(f'drop role if exists "{name}"')


def test_warehouse_start_makes_the_analyst_login_of_the_environment(secured, monkeypatch, capsys):
    name = f"t_analyst_{uuid.uuid4().hex[:6]}"
    first, second = f"first-{uuid.uuid4().hex}", f"second-{uuid.uuid4().hex}"
    monkeypatch.setenv("UMKM_ANALYST_USER", name)
    monkeypatch.setenv("UMKM_ANALYST_PASSWORD", first)
    try:
        assert main(["warehouse", "start"]) == 0
        out = capsys.readouterr()
        assert f"analyst login {name}: created (member of umkm_analyst)" in out.out
        assert first not in out.out + out.err
        with _login(name, first) as conn:
            assert conn.execute("select pg_has_role('umkm_analyst', 'member')").fetchone()[0]
            assert conn.execute("select has_schema_privilege('marts', 'usage')").fetchone()[0]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select count(*) from raw.tokopedia")

        assert main(["warehouse", "start"]) == 0  # idempotent
        assert f"analyst login {name}: unchanged" in capsys.readouterr().out

        monkeypatch.setenv("UMKM_ANALYST_PASSWORD", second)  # the password changed
        assert main(["warehouse", "bootstrap"]) == 0
        out = capsys.readouterr()
        assert f"analyst login {name}: password updated" in out.out
        assert second not in out.out + out.err
        assert "password authentication failed" in _refused(
            f"postgresql://{name}:{first}@127.0.0.1:{settings.embedded_port()}/umkm"
        )
        with _login(name, second) as conn:
            assert conn.execute("select current_user").fetchone()[0] == name
        log = embedded.log_file().read_text()
        assert first not in log and second not in log  # the server saw verifiers only
    finally:
        _drop_role(name)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def test_add_analyst(secured, monkeypatch, capsys):
    name = f"t_siti_{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex}"
    try:
        # from the environment
        monkeypatch.setenv("UMKM_ANALYST_PASSWORD", password)
        assert main(["warehouse", "add-analyst", name]) == 0
        out = capsys.readouterr()
        assert out.out.strip() == f"analyst login {name}: created (member of umkm_analyst)"
        assert password not in out.out + out.err
        _login(name, password).close()

        # asked on a terminal (twice) when the environment has none
        monkeypatch.delenv("UMKM_ANALYST_PASSWORD")
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        assert main(["warehouse", "add-analyst", name]) == 3  # no terminal, no password
        assert "set UMKM_ANALYST_PASSWORD" in _one_line_error(capsys)
        monkeypatch.setattr("sys.stdin.isatty", lambda: True)
        answers = iter(["typed-password", "typed-password"])
        monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
        assert main(["warehouse", "add-analyst", name]) == 0
        assert f"analyst login {name}: password updated" in capsys.readouterr().out
        _login(name, "typed-password").close()
        answers = iter(["typed-password", "typo-password"])
        assert main(["warehouse", "add-analyst", name]) == 3
        assert "the two passwords differ" in _one_line_error(capsys)

        # never from the command line; never an existing role with other rights
        assert main(["warehouse", "add-analyst", name, "--password", "x"]) == 2
        assert "never from the command line" in capsys.readouterr().err
        with pytest.raises(SystemExit) as usage:  # argparse: the NAME is required
            main(["warehouse", "add-analyst"])
        assert usage.value.code == 2
        capsys.readouterr()
        monkeypatch.setenv("UMKM_ANALYST_PASSWORD", "long-enough")
        assert main(["warehouse", "add-analyst", "postgres"]) == 3
        assert "has rights beyond an analyst's" in _one_line_error(capsys)
        assert main(["warehouse", "add-analyst", "umkm_loader"]) == 3
        assert "cannot log in (a group role)" in _one_line_error(capsys)
        assert main(["warehouse", "add-analyst", "Siti;drop"]) == 3
        assert "is not a login name" in _one_line_error(capsys)
        monkeypatch.setenv("UMKM_ANALYST_PASSWORD", "short")
        assert main(["warehouse", "add-analyst", name]) == 3
        assert "shorter than 8 characters" in _one_line_error(capsys)
        _login(name, "typed-password").close()  # nothing changed by the refusals
    finally:
        _drop_role(name)


def _initdb_as_earlier_versions() -> None:
    """A data folder as versions before the passwords made it: every connection trusted."""
    pgdata = embedded.pgdata_dir()
    pgdata.mkdir(parents=True)
    embedded._give_to_server_user(pgdata)
    made = subprocess.run(
        [
            str(embedded.bin_dir() / "initdb"),
            *("-D", str(pgdata), "--auth=trust", "-U", "postgres", "--encoding=UTF8"),
            *("--locale=C.UTF-8", "--lc-collate=C"),
        ],
        capture_output=True,
        text=True,
        **embedded._run_as(),
    )
    assert made.returncode == 0, made.stderr


def _start_as_earlier_versions() -> None:
    log = embedded.log_file()
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    embedded._give_to_server_user(log)
    options = f"-p {settings.embedded_port()} -c listen_addresses='127.0.0.1' "
    options += "-c unix_socket_directories=''"
    started = subprocess.run(
        [
            str(embedded.bin_dir() / "pg_ctl"),
            *("-D", str(embedded.pgdata_dir()), "-l", str(log), "-w", "-o", options, "start"),
        ],
        capture_output=True,
        text=True,
        **embedded._run_as(),
    )
    assert started.returncode == 0, started.stderr + log.read_text()[-2000:]


def test_a_stopped_trust_folder_is_upgraded_by_the_next_start(own_state):
    _initdb_as_earlier_versions()
    assert not embedded.password_file().exists()
    embedded.start()
    _assert_secured(own_state)


def test_a_running_trust_server_is_upgraded_without_a_restart(own_state):
    _initdb_as_earlier_versions()
    _start_as_earlier_versions()
    with psycopg.connect(_bare_url(), autocommit=True) as conn:  # trusted, no password
        conn.execute("create table kept (x int)")
        pid = conn.execute("select pg_postmaster_start_time()").fetchone()[0]
    status = embedded.start()  # the next `umkm warehouse start` after the upgrade
    _assert_secured(own_state)
    with psycopg.connect(embedded.url("postgres")) as conn:
        assert conn.execute("select pg_postmaster_start_time()").fetchone()[0] == pid
        assert conn.execute("select to_regclass('kept') is not null").fetchone()[0]
    assert embedded.start().pid == status.pid  # secured: nothing more to do


def test_a_lost_password_file_is_replaced_once_the_server_is_stopped(own_state, capsys):
    embedded.start()
    old = embedded.superuser_password()
    embedded.password_file().unlink()
    assert main(["warehouse", "start"]) == 3  # running: it cannot log in to set one
    err = _one_line_error(capsys)
    assert "is missing" in err and "umkm warehouse stop" in err
    assert main(["warehouse", "stop"]) == 0
    assert main(["warehouse", "start"]) == 0
    assert _assert_secured(own_state) != old


def test_listen_addresses(monkeypatch, tmp_path, capsys):
    for configured, listen in [
        ("", "127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("*", "*"),
        ("192.168.1.5", "127.0.0.1,192.168.1.5"),  # the local commands still reach it
        ("localhost, 10.0.0.2", "localhost,10.0.0.2"),
    ]:
        monkeypatch.setenv("UMKM_EMBEDDED_LISTEN", configured)
        assert embedded.listen_addresses() == listen
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("UMKM_EMBEDDED_LISTEN", "127.0.0.1' -c ssl=off")
    assert main(["warehouse", "start"]) == 3
    assert "UMKM_EMBEDDED_LISTEN" in _one_line_error(capsys)
    assert not (tmp_path / "pgdata").exists()

"""The local Airflow's users (an admin, a viewer, passwords in a 0600 file of the home) and
`umkm ui`: its arguments, and the start / ready / stop cycle with a stand-in api-server
(a static HTTP server answering the health path), so no Airflow starts here. The real
api-server and a browser are tests/e2e/test_pipeline.py::test_browser_*."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from umkm import settings
from umkm.runner import airflow_env, ui
from umkm.runner import cli as runner_cli


@pytest.fixture
def state(monkeypatch, tmp_path):
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path))
    return tmp_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- users and passwords ---------------------------------------------------------------


def test_the_local_config_has_an_admin_and_a_viewer_not_all_admins(state):
    config = airflow_env.airflow_config()
    assert config["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    assert config["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin,viewer:viewer"
    assert airflow_env.users_of(config) == {"admin": "admin", "viewer": "viewer"}
    assert config["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(
        settings.airflow_home() / airflow_env.PASSWORDS_FILE
    )


def test_write_config_generates_the_passwords_once_in_a_0600_file(state, capsys):
    airflow_env.write_config()
    path = airflow_env.passwords_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = json.loads(path.read_text())
    assert set(first) == {"admin", "viewer"}
    assert all(len(p) == 16 and p.isalnum() for p in first.values())
    assert first["admin"] != first["viewer"]
    airflow_env.write_config()
    assert json.loads(path.read_text()) == first  # kept, not regenerated
    out = capsys.readouterr()
    assert first["admin"] not in out.out + out.err  # never printed


def test_a_missing_user_is_added_and_a_wide_mode_narrowed(state):
    path = airflow_env.passwords_file()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"admin": "kept-as-it-was", "someone": "else"}))
    path.chmod(0o644)
    passwords = airflow_env.ensure_passwords()
    assert passwords["admin"] == "kept-as-it-was"
    assert len(passwords["viewer"]) == 16
    on_disk = json.loads(path.read_text())
    assert on_disk["someone"] == "else" and on_disk["viewer"] == passwords["viewer"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    assert airflow_env.ensure_passwords() == passwords
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_airflow_reads_the_users_and_passwords_it_is_given(state, monkeypatch):
    """Airflow's own simple auth manager, over the config written here: both users with
    their roles, and the passwords of the file."""
    airflow_env.write_config()
    cfg = settings.airflow_home() / "airflow.cfg"
    code = textwrap.dedent(
        """
        import json
        from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import (
            SimpleAuthManager,
        )
        users = {u.username: u.role for u in SimpleAuthManager.get_users()}
        print(json.dumps({"users": users, "passwords": SimpleAuthManager.get_passwords()}))
        """
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__") and k != "AIRFLOW_HOME"
    }
    env.update(AIRFLOW_HOME=str(cfg.parent), AIRFLOW_CONFIG=str(cfg))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["users"] == {"admin": "admin", "viewer": "viewer"}
    assert seen["passwords"] == airflow_env.ensure_passwords()


# --- the command's arguments -------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from umkm.cli import UmkmParser  # the umbrella's parser class: defaults in the help

    parser = UmkmParser(prog="umkm")
    runner_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_the_defaults_are_port_8080_on_loopback():
    args = _parser().parse_args(["ui"])
    assert (args.port, args.host, args.timeout) == (8080, "127.0.0.1", ui.DEFAULT_TIMEOUT)
    args = _parser().parse_args(["ui", "--port", "18080", "--host", "0.0.0.0"])
    assert (args.port, args.host) == (18080, "0.0.0.0")


@pytest.mark.parametrize(
    "argv", [["--port", "0"], ["--port", "65536"], ["--port", "web"], ["--timeout", "0"]]
)
def test_bad_arguments_are_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        _parser().parse_args(["ui", *argv])
    assert stopped.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_shows_the_defaults_and_starts_nothing(monkeypatch, capsys):
    monkeypatch.setattr(ui, "serve", lambda **kw: pytest.fail("--help started the UI"))
    with pytest.raises(SystemExit) as stopped:
        _parser().parse_args(["ui", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "(default: 8080)" in out and "(default: 127.0.0.1)" in out


def test_an_expected_failure_is_one_line_and_exit_code_3(monkeypatch, capsys):
    def fail(**kw):
        raise ui.UiError("port 8080 on 127.0.0.1 is in use")

    monkeypatch.setattr(ui, "serve", fail)
    args = _parser().parse_args(["ui"])
    assert args.func(args) == 3
    assert capsys.readouterr().err == "error: port 8080 on 127.0.0.1 is in use\n"


def test_browser_addresses():
    assert ui.ui_url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert ui.ui_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert ui.ui_url("::1", 8080) == "http://[::1]:8080"


def test_a_taken_port_is_refused_before_anything_starts(state):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ui.UiError, match=f"port {port} .* in use.*--port {port + 1}"):
            ui.launch("127.0.0.1", port)
    assert not (settings.airflow_home() / "airflow.cfg").exists()


# --- start, ready, stop with a stand-in api-server ---------------------------------------


def _stand_in(monkeypatch, tmp_path):
    """`airflow api-server` replaced by a static server whose health path answers 200."""
    root = tmp_path / "www"
    (root / "api/v2/monitor").mkdir(parents=True)
    (root / "api/v2/monitor/health").write_text("{}")
    monkeypatch.setattr(
        ui,
        "command",
        lambda host, port: [sys.executable, "-m", "http.server", "-b", host, "-d", root, str(port)],
    )
    monkeypatch.setattr(airflow_env, "ensure_initialised", lambda env=None: None)


def test_launch_wait_and_stop(state, monkeypatch, tmp_path):
    _stand_in(monkeypatch, tmp_path)
    port = _free_port()
    proc = ui.launch("127.0.0.1", port)
    try:
        ui.wait_ready(proc, ui.ui_url("127.0.0.1", port), timeout=30)
        assert ui.answers(ui.ui_url("127.0.0.1", port))
    finally:
        ui.stop(proc)
    assert proc.poll() is not None
    assert ui.port_free("127.0.0.1", port)


def test_an_api_server_that_exits_is_reported_with_its_log(state, monkeypatch):
    monkeypatch.setattr(
        ui,
        "command",
        lambda host, port: [sys.executable, "-c", "print('no metadata db'); raise SystemExit(4)"],
    )
    monkeypatch.setattr(airflow_env, "ensure_initialised", lambda env=None: None)
    proc = ui.launch("127.0.0.1", _free_port())
    with pytest.raises(ui.UiError, match=r"exited with code 4(.|\n)*no metadata db"):
        ui.wait_ready(proc, "http://127.0.0.1:9", timeout=30)


SERVE = """
import sys
from pathlib import Path
from umkm.runner import airflow_env, ui
root = Path(sys.argv[2])
ui.command = lambda host, port: [
    sys.executable, "-m", "http.server", "-b", host, "-d", str(root), str(port)
]
airflow_env.ensure_initialised = lambda env=None: None
sys.exit(ui.serve(port=int(sys.argv[1]), timeout=30))
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_serve_prints_the_url_and_logins_then_stops_cleanly(state, tmp_path, stop_signal):
    """The command's whole cycle in its own process: the banner once the stand-in answers,
    then Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the child too, exit code 0."""
    root = tmp_path / "www"
    (root / "api/v2/monitor").mkdir(parents=True)
    (root / "api/v2/monitor/health").write_text("{}")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "UMKM_STATE_DIR": str(state)},
    )
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("api-server log:"):
                break
        out = "".join(lines)
        passwords = airflow_env.ensure_passwords()
        assert f"Airflow UI: http://127.0.0.1:{port}" in out, out + proc.stderr.read()
        assert f"admin   password {passwords['admin']}  role admin" in out
        assert f"viewer  password {passwords['viewer']}  role viewer" in out
        assert ui.answers(f"http://127.0.0.1:{port}")
        proc.send_signal(stop_signal)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Airflow UI stopped" in rest
    assert "Traceback" not in err
    assert ui.port_free("127.0.0.1", port)  # the stand-in stopped with it

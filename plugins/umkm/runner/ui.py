"""`umkm ui`: the Airflow UI (`airflow api-server`) over the project's Airflow home.

The home (`.local/airflow`, or `$UMKM_STATE_DIR/airflow`) is the one `umkm run` fills: its
DAGs, their runs and the dbt models' task instances. This module initialises it when needed
(as `umkm airflow ...` does), starts the api-server as a child process with its output in
`logs/airflow-ui.log`, waits until it answers, prints the URL and the two logins
(`airflow_env.UI_USERS`, passwords from the home's password file), and stops the child
cleanly on Ctrl-C, SIGTERM or SIGHUP.

The api-server never connects to the warehouse: no warehouse is started for it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from umkm import settings
from umkm.runner import airflow_env

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_TIMEOUT = 180.0

#: What each role may do, for the printed logins.
ROLE_NOTES = {
    "admin": "engineers: trigger, clear, pause, connections, variables",
    "viewer": "everyone else: read-only",
}


class UiError(RuntimeError):
    """The UI cannot be started here (port taken, api-server exited or never answered)."""


@dataclass
class Login:
    user: str
    password: str
    role: str


def browser_host(host: str) -> str:
    """The address a browser on this machine uses for `host` (any-address binds: loopback)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - compared, not bound
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def ui_url(host: str, port: int) -> str:
    return f"http://{browser_host(host)}:{port}"


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def logins() -> list[Login]:
    """The UI's users with their roles and passwords (generated when missing)."""
    passwords = airflow_env.ensure_passwords()
    return [Login(u, passwords[u], role) for u, role in airflow_env.UI_USERS.items()]


def log_path() -> Path:
    return settings.logs_dir() / "airflow-ui.log"


def command(host: str, port: int) -> list[str]:
    return [airflow_env.airflow_bin(), "api-server", "--host", host, "--port", str(port)]


def ui_env(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> dict[str, str]:
    """The project's Airflow environment for the api-server: its address also in `[api]`
    (Airflow judges from it whether the deployment looks like production), and the
    secrets that sign the UI's sessions (new at every start: a restart asks for the login
    again), through the environment, not the command line (`ps` shows that)."""
    env = airflow_env.airflow_env()
    env["AIRFLOW__API__HOST"] = host
    env["AIRFLOW__API__PORT"] = str(port)
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(32))
    env.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(32))
    return env


def answers(url: str, timeout: float = 3.0) -> bool:
    try:
        health = f"{url}/api/v2/monitor/health"  # http://, built by ui_url
        with urllib.request.urlopen(health, timeout=timeout) as resp:  # noqa: S310
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def launch(host: str, port: int) -> subprocess.Popen:
    """Initialise the home and start the api-server (UiError if the port is taken)."""
    if not port_free(host, port):
        raise UiError(
            f"port {port} on {host} is in use (another Airflow UI?): "
            f"choose another with `umkm ui --port {port + 1}`"
        )
    env = ui_env(host, port)
    airflow_env.ensure_initialised(env)
    log = log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            command(host, port),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped by us, as a group, not by the terminal's ^C
        )


def wait_ready(
    proc: subprocess.Popen,
    url: str,
    timeout: float = DEFAULT_TIMEOUT,
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Until the api-server answers on `url` (or `stopping()`); UiError if it exits first
    or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping():
        if proc.poll() is not None:
            raise UiError(
                f"airflow api-server exited with code {proc.returncode} before answering; "
                f"its log ({log_path()}) ends with:\n{_tail(log_path())}"
            )
        if answers(url):
            return
        time.sleep(0.5)
    if stopping():
        return
    raise UiError(
        f"airflow api-server did not answer on {url} within {timeout:.0f} s; see {log_path()}"
    )


def stop(proc: subprocess.Popen, grace: float = 15.0) -> int:
    """Stop the api-server's process group: SIGTERM, then SIGKILL after `grace` s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def banner(url: str, users: list[Login], log: Path) -> str:
    width = max(len(login.user) for login in users)
    lines = [f"Airflow UI: {url}  (Ctrl-C stops it)", "Logins:"]
    for login in users:
        note = ROLE_NOTES.get(login.role, "")
        lines.append(
            f"  {login.user:<{width}}  password {login.password}  role {login.role}"
            + (f"  ({note})" if note else "")
        )
    lines.append(
        f"Passwords kept in {airflow_env.passwords_file()} (mode 0600; delete it for new ones)"
    )
    lines.append(f"api-server log: {log}")
    return "\n".join(lines)


#: The signals that stop `umkm ui` cleanly: Ctrl-C, `kill`, the terminal closing.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def serve(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, timeout: float = DEFAULT_TIMEOUT
) -> int:
    """`umkm ui`: start, print the URL and logins, run until a stop signal (Ctrl-C, SIGTERM,
    SIGHUP) or the api-server's own exit. 0 after a requested stop, 1 if the api-server
    exited by itself; UiError if it cannot start (the command's exit code 3).

    A stop signal only sets a flag, acted on between steps (a second one interrupts at
    once): the api-server is then stopped with its process group, never left behind."""
    requested: list[int] = []

    def _request_stop(signum, frame):
        if requested:  # the second Ctrl-C: stop waiting for the current step
            raise KeyboardInterrupt
        requested.append(signum)

    previous = {sig: signal.signal(sig, _request_stop) for sig in STOP_SIGNALS}
    proc = None
    try:
        url = ui_url(host, port)
        print(f"starting the Airflow UI (airflow api-server, log {log_path()}) ...", flush=True)
        started = time.monotonic()
        if not requested:
            proc = launch(host, port)
            wait_ready(proc, url, timeout, stopping=lambda: bool(requested))
        if not requested:
            print(f"ready in {time.monotonic() - started:.0f} s", flush=True)
            print(banner(url, logins(), log_path()), flush=True)
        while not requested and proc.poll() is None:
            time.sleep(0.2)
        if not requested:
            print(
                f"airflow api-server exited with code {proc.returncode}; see {log_path()}",
                file=sys.stderr,
            )
            return 1
    except KeyboardInterrupt:
        pass
    finally:
        if proc is not None and proc.poll() is None:
            for sig in STOP_SIGNALS:  # more Ctrl-C now would only leave it behind
                signal.signal(sig, signal.SIG_IGN)
            stop(proc)  # SIGTERM, SIGKILL after 15 s
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Airflow UI stopped", flush=True)
    return 0

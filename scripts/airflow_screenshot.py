"""The Airflow UI in headless Chromium: `umkm ui` started, a login through its form, the
`warehouse_build` run's grid with its dbt models; refreshes docs/images/airflow.png.

    make demo && .venv/bin/python scripts/airflow_screenshot.py [--state .local] [--out PATH]

The state folder needs a `warehouse_build` run that built the marts: a rerun with nothing
changed skips dbt, and Airflow keeps one run per snapshot (the rerun replaces it), so after
two `make demo`s of one snapshot its tasks show as skipped. Chromium and ChromeDriver are
Debian's (`make browser`). tests/e2e/test_pipeline.py drives the UI with the same helpers.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "images" / "airflow.png"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: The flags this machine's Chromium needs (no sandbox as root, no calls out).
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1440,1000",
)  # fmt: skip

#: `umkm ui` through umkm's own entry point (with `umkm.runner.cli` among its subcommand
#: modules, as `python -m umkm ui` has it once it is registered).
UMKM_UI = (
    "import sys; from umkm import cli; ui = 'umkm.runner.cli'; "
    "ui in cli.SUBCOMMAND_MODULES or cli.SUBCOMMAND_MODULES.append(ui); "
    "sys.exit(cli.main(['ui', *sys.argv[1:]]))"
)
_LOGIN = re.compile(r"^  (?P<user>\w+) +password (?P<password>\S+)  role (?P<role>\w+)", re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningUi:
    """`umkm ui --port <free>` over the state folder `state`, as its own process.

    `start()` returns once it printed its logins: `url`, `logins` (user -> (password,
    role)), `out` (what it printed). `stop()` sends SIGTERM (as Ctrl-C) and returns its exit
    code; `rest`/`err` hold what it printed after."""

    def __init__(self, state: Path, timeout: float = 180):
        self.state, self.timeout = Path(state), timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logins: dict[str, tuple[str, str]] = {}
        self.out = self.rest = self.err = ""
        self.proc: subprocess.Popen | None = None
        self.stopped = False

    def start(self) -> RunningUi:
        env = {**os.environ, "UMKM_STATE_DIR": str(self.state)}
        env.pop("AIRFLOW_HOME", None)  # umkm sets its own under the state folder
        self.proc = subprocess.Popen(
            [sys.executable, "-c", UMKM_UI, "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not (lines and lines[-1].startswith("api-server")):
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        self.out = "".join(lines)
        self.logins = {m["user"]: (m["password"], m["role"]) for m in _LOGIN.finditer(self.out)}
        if not self.logins:
            self.stop()
            raise RuntimeError(f"umkm ui did not start:\n{self.out}\n{self.err[-3000:]}")
        return self

    def stop(self) -> int:
        if self.proc is not None and not self.stopped:
            self.stopped = True
            if self.proc.poll() is None:
                self.proc.terminate()
            self.rest, self.err = self.proc.communicate(timeout=60)
        return self.proc.returncode

    def __enter__(self) -> RunningUi:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def chromium(profile: Path):
    """Headless Chromium (Debian's) through ChromeDriver, a fresh profile in `profile`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def page_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def wait(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def log_in(driver, url: str, user: str, password: str) -> None:
    """Through the login form the UI sends a visitor without a session to."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{url}/dags")
    wait(driver, lambda d: d.find_elements(By.NAME, "username"))
    if "/auth/login" not in driver.current_url:
        raise AssertionError(f"no login form: {driver.current_url}")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: "/auth/login" not in d.current_url)


def token_claims(driver) -> dict:
    """The claims of the session's JWT (the `_token` cookie): `sub`, `role`."""
    payload = driver.get_cookie("_token")["value"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def warehouse_build_run(state: Path, built: bool = True) -> tuple[str, int] | None:
    """(run id, task instances) of the latest `warehouse_build` run in the state folder's
    Airflow; with `built`, only a run whose dbt models ran (the bridge mart's task)."""
    with sqlite3.connect(Path(state) / "airflow" / "airflow.db") as conn:
        found = conn.execute(
            "select r.run_id, count(t.task_id) from dag_run r join task_instance t "
            "on t.dag_id = r.dag_id and t.run_id = r.run_id where r.dag_id = 'warehouse_build' "
            "and (? = 0 or r.run_id in (select run_id from task_instance where dag_id = "
            "'warehouse_build' and task_id = 'dbt.mart_reconciliation_bridge.run' "
            "and state = 'success')) group by r.run_id order by r.run_id desc limit 1",
            (int(built),),
        ).fetchone()
    return (found[0], found[1]) if found else None


def open_run_grid(driver, url: str, run_id: str, tasks: int) -> str:
    """The run's page with every task group expanded; its address."""
    from selenium.webdriver.common.by import By

    page = f"{url}/dags/warehouse_build/runs/{quote(run_id, safe='')}"
    driver.get(page)
    wait(driver, lambda d: f"{tasks} Task Instances" in page_text(d))
    driver.find_element(By.CSS_SELECTOR, "[aria-label='Expand all task groups']").click()
    models = re.compile(r"^(stg|int|mart|dim|fct|map)_\w+$")  # a row per dbt model
    wait(driver, lambda d: len([s for s in page_text(d).splitlines() if models.match(s)]) >= 5)
    time.sleep(1)  # the grid's cells finish drawing
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(os.environ.get("UMKM_STATE_DIR", ROOT / ".local")),
        help="the state folder of a `umkm run` (default: UMKM_STATE_DIR or .local)",
    )
    parser.add_argument("--out", type=Path, default=SCREENSHOT, help="where the PNG goes")
    args = parser.parse_args(argv)
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        print("error: no Chromium/ChromeDriver: run `make browser`", file=sys.stderr)
        return 3
    if not (args.state / "airflow" / "airflow.db").exists():
        print(f"error: no Airflow home in {args.state}: run `make demo` first", file=sys.stderr)
        return 3
    run = warehouse_build_run(args.state)
    if run is None:
        print(
            f"error: no warehouse_build run in {args.state} built the marts (a rerun with "
            "nothing changed replaces it with a skipped one): run `umkm run` with a new "
            "UMKM_STATE_DIR",
            file=sys.stderr,
        )
        return 1
    with RunningUi(args.state) as ui, tempfile.TemporaryDirectory() as profile:
        driver = chromium(Path(profile))
        try:
            log_in(driver, ui.url, "viewer", ui.logins["viewer"][0])
            open_run_grid(driver, ui.url, *run)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
        finally:
            driver.quit()
    print(f"{args.out}: warehouse_build run {run[0]} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

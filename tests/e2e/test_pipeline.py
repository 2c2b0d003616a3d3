"""The demo path end to end: `umkm run` drives Airflow over the simulator into the marts.

Runs the real thing in subprocesses: the feed simulator, Airflow's `dag.test` loop for every
`ingest_<source>` DAG and `warehouse_build` (Cosmos dbt tasks), on a throwaway database of
the warehouse server under test. The simulator's truth is written separately and compared
here, outside the pipeline: the pipeline never reads it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import create_test_database, drop_test_database
from umkm.sources import load_registry
from umkm.warehouse.db import connect

pytestmark = pytest.mark.e2e

SNAPSHOT = "2017-11-15"
SCALE = "0.002"
SEED = "11"
SIM = [sys.executable, "-m", "umkm", "sim"]


@pytest.fixture(scope="module")
def demo(admin_url, tmp_path_factory):
    """Two operators' `umkm run` of the same snapshot at once into a throwaway warehouse,
    each with its own state folder (its own Airflow home and simulator, same seed), then a
    rerun in the first folder with nothing changed (issue 21, item 5: one writer per source
    and snapshot, one build per warehouse)."""
    state = tmp_path_factory.mktemp("e2e-state")
    other = tmp_path_factory.mktemp("e2e-state-other")
    url = create_test_database(admin_url, "e2e")
    cmd = [sys.executable, "-m", "umkm", "run", "--snapshot", SNAPSHOT, "--scale", SCALE]
    cmd += ["--seed", SEED]

    def env_for(folder: Path) -> dict:
        env = {**os.environ, "UMKM_STATE_DIR": str(folder), "WAREHOUSE_URL": url}
        env.pop("AIRFLOW_HOME", None)  # umkm sets its own under the state folder
        return env

    def check(proc: subprocess.CompletedProcess, folder: Path) -> None:
        if proc.returncode != 0:
            log = folder / "logs" / f"run-{SNAPSHOT}.log"
            tail = log.read_text()[-6000:] if log.exists() else ""
            pytest.fail(f"umkm run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{tail}")

    # the two at once; the marts are read as each one ends
    procs, marts, ended = [], [], []
    with contextlib.ExitStack() as files:
        for folder in (state, other):
            out = files.enter_context(open(folder / "run.stdout", "w"))
            err = files.enter_context(open(folder / "run.stderr", "w"))
            procs.append(subprocess.Popen(cmd, env=env_for(folder), stdout=out, stderr=err))
        deadline = time.monotonic() + 1800
        while len(ended) < 2:
            for i, proc in enumerate(procs):
                if i not in ended and proc.poll() is not None:
                    ended.append(i)
                    marts.append(_published_state(url) if proc.returncode == 0 else None)
            assert time.monotonic() < deadline, "the two runs did not end in 30 minutes"
            time.sleep(0.5)
    runs = []
    for proc, folder in zip(procs, (state, other), strict=True):
        out = (folder / "run.stdout").read_text()
        err = (folder / "run.stderr").read_text()
        runs.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
        check(runs[-1], folder)
    # the rerun, nothing changed
    runs.append(
        subprocess.run(cmd, env=env_for(state), capture_output=True, text=True, timeout=1800)
    )
    check(runs[-1], state)
    marts.append(_published_state(url))
    truth = tmp_path_factory.mktemp("e2e-truth")
    subprocess.run(
        [*SIM, "truth", "--seed", SEED, "--scale", SCALE, "--snapshot", SNAPSHOT, "--out", truth],
        check=True,
        env=env_for(state),
        timeout=600,
    )
    yield {
        "state": state,
        "other": other,
        "url": url,
        "runs": runs,
        "marts": marts,
        "truth": truth,
    }
    drop_test_database(admin_url, url)


def _published_state(url: str) -> dict:
    """What a rerun must reproduce: raw rows per source, entities, the bridge."""
    with connect(url) as conn:
        raw = {
            sid: conn.execute(
                f"select count(*), md5(string_agg(record_id || record::text, ',' "
                f"order by record_id)) from raw.{sid}"
            ).fetchone()
            for sid in load_registry()
        }
        bridge = conn.execute(
            "select snapshot, step_id, value, running_total from marts.mart_reconciliation_bridge "
            "order by snapshot, step_order"
        ).fetchall()
        entities = conn.execute(
            "select count(*), count(distinct entity_id) from marts.map_record_to_entity"
        ).fetchone()
    return {"raw": raw, "bridge": bridge, "entities": entities}


def _truth_ids(truth: Path) -> dict[str, list[str]]:
    """Record ids served per source (a planted duplicate id is listed twice)."""
    ids: dict[str, list[str]] = {}
    with open(truth / "truth" / "records.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("snapshot", SNAPSHOT) == SNAPSHOT:
                ids.setdefault(row["source_id"], []).append(row["record_id"])
    return ids


def test_every_dag_ran_through_airflow(demo):
    db = demo["state"] / "airflow" / "airflow.db"
    with sqlite3.connect(db) as conn:
        states = dict(
            conn.execute(
                "select dag_id, state from dag_run where run_id in "
                "(select max(run_id) from dag_run group by dag_id)"
            ).fetchall()
        )
        tasks = conn.execute(
            "select count(*) from task_instance where dag_id = 'warehouse_build'"
        ).fetchone()[0]
    expected = {f"ingest_{sid}" for sid in load_registry()} | {"warehouse_build"}
    assert set(states) == expected
    assert set(states.values()) == {"success"}
    assert tasks > 5, "the dbt models did not run as their own Airflow tasks"


def test_summary_names_rows_bridge_report_and_ui(demo):
    out = demo["runs"][0].stdout
    for needle in ("Rows per source", "Bridge", "kominfo_published", "Report:", "Airflow UI"):
        assert needle in out


def test_progress_is_shown_while_it_runs(demo):
    """Not a terminal here: plain timestamped lines for each DAG, its tasks, the rows of
    the pulls and dbt's nodes, before the summary."""
    out = demo["runs"][0].stdout
    head = out[: out.index("UMKM pipeline, snapshot")]
    for sid in load_registry():
        assert f"ingest_{sid}: started" in head and f"ingest_{sid}: success in" in head, sid
    assert "ingest_tokopedia: task extract_load" in head
    assert re.search(r"ingest_bps: success in [\d.]+ s \([\d,]+ rows", head)
    assert re.search(r"warehouse_build: dbt \d+/\d+ nodes", head)
    assert all(re.match(r"^\[\d\d:\d\d:\d\d\] ", line) for line in head.splitlines() if line)


def test_raw_holds_exactly_the_served_records(demo):
    """Every served record is published or quarantined, none lost, none twice."""
    truth = _truth_ids(demo["truth"])
    with connect(demo["url"]) as conn:
        for sid in load_registry():
            if sid in ("bps", "kominfo"):
                continue
            landed = [
                r[0]
                for r in conn.execute(
                    f"select record_id from raw.{sid} where snapshot = %s", (SNAPSHOT,)
                )
            ]
            held = [  # the quarantine of the batch that was published (the rerun's)
                r[0]
                for r in conn.execute(
                    f"select record_id from quarantine.{sid} where snapshot = %s and batch_id = "
                    "(select coalesce(unchanged_of, batch_id) from audit.loads where "
                    "source_id = %s and snapshot = %s and status = 'success' "
                    "order by load_id desc limit 1)",
                    (SNAPSHOT, sid, SNAPSHOT),
                )
            ]
            served = truth.get(sid, [])
            assert sorted(landed + held) == sorted(served), sid
            assert len(set(landed)) == len(landed), sid


def test_fetched_equals_published_plus_quarantined(demo):
    with connect(demo["url"]) as conn:
        rows = conn.execute(
            "select source_id, rows_fetched, rows_loaded, rows_rejected from audit.loads "
            "where status = 'success' and snapshot = %s",
            (SNAPSHOT,),
        ).fetchall()
    assert rows
    for sid, fetched, loaded, rejected in rows:
        assert fetched == loaded + rejected, sid


def test_bridge_runs_from_kominfo_to_kemenkop(demo):
    with connect(demo["url"]) as conn:
        bridge = conn.execute(
            "select step_id, value, running_total from marts.mart_reconciliation_bridge "
            "where snapshot = %s order by step_order",
            (SNAPSHOT,),
        ).fetchall()
    world = json.loads((demo["truth"] / "truth" / "world.json").read_text())
    assert bridge[0][0] == "kominfo_published" and bridge[-1][0] == "kemenkopukm_registry"
    assert bridge[0][1] == round(4_600_000 * float(SCALE)) == bridge[0][2]
    assert sum(v for _s, v, _r in bridge[:-1]) == bridge[-1][1] == bridge[-1][2]
    assert world  # the truth exists; accuracy is measured by `umkm eval` (tests/evaluation)


def test_two_runs_at_once_both_finish_with_the_same_marts(demo):
    """Both operators' runs exit 0 (the fixture checks), the marts read as each ended are
    the same, and nothing is left in marts_build; the build lock made one build wait when
    the two builds met (printed)."""
    first, second, _rerun = demo["marts"]
    assert first == second and first["bridge"] and first["entities"][0] > 0
    with connect(demo["url"]) as conn:
        left = conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'marts_build'"
        ).fetchone()[0]
    assert left == 0
    waited = [
        folder.name
        for folder in (demo["state"], demo["other"])
        if any(
            "build_lock_wait" in p.read_text(errors="replace")
            for p in folder.rglob("*.log")
            if p.is_file()
        )
    ]
    print(f"runs that waited for the build lock: {len(waited)}")


def test_rerun_gives_the_same_raw_rows_entities_and_bridge(demo):
    first, second, rerun = demo["marts"]
    assert first == second == rerun
    assert "OK" in demo["runs"][-1].stdout


def test_rerun_with_nothing_changed_skips_validation_publish_and_dbt(demo):
    """The second run pulls every source again, finds each delivery equal to what is
    published, and skips the dbt build (same raw data, same project)."""
    with connect(demo["url"]) as conn:
        rows = conn.execute(
            "select source_id, array_agg(unchanged_of is not null order by load_id) "
            "from audit.loads where snapshot = %s and status = 'success' group by source_id",
            (SNAPSHOT,),
        ).fetchall()
        builds = conn.execute(
            "select status, detail from audit.builds where snapshot = %s order by build_id",
            (SNAPSHOT,),
        ).fetchall()
    # the first pull of each source published; the rerun's found the same delivery. The
    # other operator's pull either waited for the load lock and took the first's finished
    # batch (no attempt of its own) or came after the publish and found it unchanged.
    found = dict(rows)
    assert set(found) == set(load_registry())
    for sid, unchanged in found.items():
        assert unchanged[0] is False and all(unchanged[1:]), (sid, unchanged)
        assert len(unchanged) in (2, 3), (sid, unchanged)
    with connect(demo["url"]) as conn:
        failed = conn.execute(
            "select source_id, error from audit.loads where snapshot = %s and status <> 'success'",
            (SNAPSHOT,),
        ).fetchall()
    assert failed == []  # neither operator's pull failed, not even once before a retry
    statuses = [status for status, _ in builds]
    assert statuses[0] == "success" and statuses[-1] == "skipped", builds
    assert len(statuses) == 3 and statuses[1] in ("success", "skipped"), builds
    assert "dbt build: skipped" in demo["runs"][-1].stdout
    assert "unchanged" in demo["runs"][-1].stdout


def test_report_written_beside_its_assets(demo):
    reports = demo["state"] / "reports"
    page = reports / f"report-{SNAPSHOT}.html"
    assert page.exists() and (reports / "index.html").exists()
    text = page.read_text()
    assert "kominfo_published" in text or "Kominfo" in text


def _secrets(state: Path) -> set[str]:
    """Credentials the simulator handed out (passwords, keys, tokens)."""
    from umkm.connections import parse_json, parse_uri

    found = set()
    for line in (state / "sim" / "connections.env").read_text().splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        conn_id = key.removeprefix("AIRFLOW_CONN_").lower()
        value = value.strip().strip("'\"")
        conn = parse_json(conn_id, value) if value.startswith("{") else parse_uri(conn_id, value)
        found |= {v for v in (conn.password, *map(str, conn.extra.values())) if v and len(v) > 5}
    return found


def test_no_secret_in_logs_or_report(demo):
    secrets = _secrets(demo["state"])
    assert secrets, "the simulator handed out no credentials to look for"
    for folder in (demo["state"] / "logs", demo["state"] / "reports"):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in {".log", ".html", ".json", ".txt", ""}:
                text = path.read_text(errors="replace")
                leaked = [s for s in secrets if s in text]
                assert not leaked, f"{path} holds a credential"


def test_entity_resolution_reaches_the_accuracy_targets(demo):
    """`umkm eval` against the planted truth: pairwise precision >= 0.98, recall >= 0.97."""
    from umkm.evaluation.pairwise import evaluate

    report = evaluate(demo["truth"] / "truth", snapshot=SNAPSHOT, url=demo["url"])
    pw = report["pairwise"]
    assert pw["records_compared"] > 0.95 * (pw["records_compared"] + pw["records_only_in_truth"])
    assert pw["precision"] >= 0.98, pw
    assert pw["recall"] >= 0.97, pw
    assert report["bridge"], "the bridge was not compared with the planted one"


def test_bridge_and_population_match_the_planted_truth(demo):
    """Every bridge step within 2% (or 50 records) of its planted size, and the headline
    population estimate's 95% interval covering the planted total (issue 7)."""
    from umkm.evaluation.pairwise import evaluate

    report = evaluate(demo["truth"] / "truth", snapshot=SNAPSHOT, url=demo["url"])
    off = [row for row in report["bridge"] if row["within_tolerance"] is not True]
    assert not off, off
    population = {row["method"]: row for row in report["population"] or []}
    assert population["observed"]["covered"], population
    assert population["chapman_2list"]["covered"], population


def test_eval_slices_by_source_pair_and_missing_contact(demo):
    """`umkm eval`'s slices on this small real world, against the pairs enumerated here from
    the record map, the truth file and the staged records (phone / e-mail null)."""
    from collections import defaultdict
    from itertools import combinations

    from umkm.evaluation.pairwise import evaluate

    report = evaluate(demo["truth"] / "truth", snapshot=SNAPSHOT, url=demo["url"])
    pw = report["pairwise"]
    with connect(demo["url"]) as conn:
        mapped = dict(
            ((s, r), e)
            for s, r, e in conn.execute(
                "select source_id, record_id, entity_id from marts.map_record_to_entity "
                "where snapshot = %s",
                (SNAPSHOT,),
            )
        )
        staged = {
            (s, r): (no_phone, no_email)
            for s, r, no_phone, no_email in conn.execute(
                "select source_id, record_id, phone_hash is null, email_hash is null "
                "from intermediate.int_records_unioned where snapshot = %s",
                (SNAPSHOT,),
            )
        }
    planted = {}
    with open(demo["truth"] / "truth" / "records.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("snapshot", SNAPSHOT) == SNAPSHOT:
                planted[(row["source_id"], row["record_id"])] = row["entity_id"]
    common = mapped.keys() & planted.keys()

    def pairs_of(mapping):
        groups = defaultdict(list)
        for key in common:
            groups[mapping[key]].append(key)
        return {tuple(sorted(p)) for g in groups.values() for p in combinations(g, 2)}

    predicted, true = pairs_of(mapped), pairs_of(planted)
    by_pair = defaultdict(lambda: [0, 0, 0])
    for pair in predicted | true:
        counts = by_pair[tuple(sorted((pair[0][0], pair[1][0])))]
        counts[0] += pair in predicted and pair in true
        counts[1] += pair in predicted
        counts[2] += pair in true
    got = {
        (r["source_a"], r["source_b"]): [
            r["true_positive_pairs"],
            r["predicted_pairs"],
            r["true_pairs"],
        ]
        for r in pw["by_source_pair"]
    }
    assert got == dict(by_pair)
    # same-platform duplicates and marketplace-to-registry matches are both in this world
    assert any(a == b != "kemenkopukm" for a, b in got)
    assert any("kemenkopukm" in pair and len(set(pair)) == 2 for pair in got)
    for index, field in enumerate(("phone", "email")):
        row = next(r for r in pw["lacking"] if r["field"] == field)
        gap = {p for p in predicted | true if staged[p[0]][index] or staged[p[1]][index]}
        assert row["records_lacking"] == sum(staged[k][index] for k in common) > 0
        assert [row["true_positive_pairs"], row["predicted_pairs"], row["true_pairs"]] == [
            len(gap & predicted & true),
            len(gap & predicted),
            len(gap & true),
        ]


# --- the Airflow UI in a real browser ----------------------------------------------------

TRIGGER_ID = "browser-test-viewer-must-not-trigger"

#: Requests made from the logged-in page (its session cookie): status codes only. The
#: PATCH sets is_paused to the value it has, so an allowed one changes nothing.
_CALLS = """
const done = arguments[arguments.length - 1];
const call = (method, path, body) => fetch(path, {
  method, headers: {'Content-Type': 'application/json'},
  body: body === undefined ? undefined : JSON.stringify(body),
}).then(r => r.status);
(async () => {
  const dag = await (await fetch('/api/v2/dags/warehouse_build')).json();
  return {
    pause: await call('PATCH', '/api/v2/dags/warehouse_build', {is_paused: dag.is_paused}),
    connections: await call('GET', '/api/v2/connections'),
    trigger: arguments[0] ? await call('POST', '/api/v2/dags/warehouse_build/dagRuns',
                                       {logical_date: null, dag_run_id: arguments[0]}) : null,
  };
})().then(done, e => done(String(e)));
"""


@pytest.fixture
def airflow_ui(demo):
    """`umkm ui` on a free port over the demo's Airflow home; stopped as with Ctrl-C."""
    from scripts.airflow_screenshot import RunningUi
    from umkm.runner.ui import answers

    ui = RunningUi(demo["state"]).start()
    try:
        yield ui
    finally:
        code = ui.stop()
    assert code == 0, ui.err[-3000:]
    assert "Airflow UI stopped" in ui.rest
    assert not answers(ui.url)  # the api-server stopped with it


@pytest.fixture
def chromium(tmp_path):
    from scripts.airflow_screenshot import chromium
    from tests.report.conftest import ensure_chromium

    if problem := ensure_chromium():
        pytest.skip(f"{problem} (make browser installs them)")
    driver = chromium(tmp_path / "chromium-profile")
    yield driver
    driver.quit()


def test_browser_airflow_ui_shows_the_dags_and_the_dbt_models_to_a_viewer(
    demo, airflow_ui, chromium, tmp_path
):
    """`umkm ui` over the demo's Airflow home, in headless Chromium: the viewer logs in
    through the login form, sees the twelve DAGs and the warehouse_build run with a task per
    dbt model; the viewer cannot pause or trigger a DAG nor list connections, the admin can
    (pause set to the value it has: nothing changes). The run's grid is saved as a
    screenshot (scripts/airflow_screenshot.py refreshes docs/images/airflow.png from a
    run that built the marts: here the rerun, which skips dbt, replaced it)."""
    from selenium.webdriver.common.by import By

    from scripts.airflow_screenshot import (
        log_in,
        open_run_grid,
        page_text,
        token_claims,
        wait,
        warehouse_build_run,
    )

    ui, driver = airflow_ui, chromium
    assert {user: role for user, (_pw, role) in ui.logins.items()} == {
        "admin": "admin",
        "viewer": "viewer",
    }
    passwords = json.loads(
        (demo["state"] / "airflow" / "simple_auth_manager_passwords.json.generated").read_text()
    )
    assert {user: pw for user, (pw, _role) in ui.logins.items()} == passwords
    # the passwords are printed by `umkm ui` only: not by `umkm run`, not in any log
    for text in [run.stdout + run.stderr for run in demo["runs"]] + [
        p.read_text(errors="replace") for p in (demo["state"] / "logs").rglob("*") if p.is_file()
    ]:
        assert not [pw for pw in passwords.values() if pw in text]

    log_in(driver, ui.url, "viewer", ui.logins["viewer"][0])
    assert token_claims(driver)["role"] == "viewer"
    dags = {f"ingest_{sid}" for sid in load_registry()} | {"warehouse_build"}
    assert len(dags) == 12
    wait(driver, lambda d: "12 Dags" in page_text(d))
    listed = {
        link.get_attribute("href").rstrip("/").split("/dags/", 1)[1].split("/")[0]
        for link in driver.find_elements(By.CSS_SELECTOR, "a[href*='/dags/']")
    }
    assert listed == dags

    run_id, tasks = warehouse_build_run(demo["state"], built=False)
    assert tasks > 50  # a run and a test task per dbt model, beside the DAG's own tasks
    run_page = open_run_grid(driver, ui.url, run_id, tasks)  # a grid row per dbt model
    shot = tmp_path / "airflow.png"
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    # a dbt model's own task: the bridge mart's run, in the state the DB has for it
    with sqlite3.connect(demo["state"] / "airflow" / "airflow.db") as conn:
        (state,) = conn.execute(
            "select state from task_instance where dag_id = 'warehouse_build' and run_id = ? "
            "and task_id = 'dbt.mart_reconciliation_bridge.run'",
            (run_id,),
        ).fetchone()
    driver.get(f"{run_page}/tasks/dbt.mart_reconciliation_bridge.run")
    wait(driver, lambda d: re.search(r"Operator\s+Dbt\w*Operator", page_text(d)))
    assert "dbt.mart_reconciliation_bridge.run" in page_text(driver)
    assert state.capitalize() in page_text(driver)

    viewer = driver.execute_async_script(_CALLS, TRIGGER_ID)
    assert viewer == {"pause": 403, "connections": 403, "trigger": 403}, viewer
    log_in(driver, ui.url, "admin", ui.logins["admin"][0])
    assert token_claims(driver)["role"] == "admin"
    admin = driver.execute_async_script(_CALLS, None)  # no trigger: the demo's runs stay
    assert admin == {"pause": 200, "connections": 200, "trigger": None}, admin
    with sqlite3.connect(demo["state"] / "airflow" / "airflow.db") as conn:
        assert not conn.execute("select 1 from dag_run where run_id = ?", (TRIGGER_ID,)).fetchall()

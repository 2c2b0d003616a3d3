"""The notifiers in a real Airflow run: a tiny DAG (two tasks, the notifiers in its default
args and at DAG level, as a user would attach them) run with `dag.test` three times in one
process: its last task fails, then succeeds, then succeeds again. The webhook receives one
failure alert and one recovery message; so does the SMTP sink. About 25 s, most of it
Airflow's start (SQLite metadata migrated in a fresh home)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from umkm.warehouse.db import connect

pytestmark = pytest.mark.e2e

DAG_FILE = """
from datetime import datetime, timezone
from pathlib import Path

from airflow.sdk import DAG, task

from umkm.alerts.notifiers import SmtpNotifier, WebhookNotifier

FLAG = Path(__file__).with_name("outcome")
notifiers = [WebhookNotifier(), SmtpNotifier()]

with DAG(
    "umkm_notifier_probe",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    default_args={"retries": 0, "on_failure_callback": notifiers, "on_success_callback": notifiers},
    on_failure_callback=notifiers,
    on_success_callback=notifiers,
):

    @task
    def pull():
        return 1

    @task
    def publish(rows):
        if FLAG.read_text() == "fail":
            raise RuntimeError("the feed answered 503 (owner siti@example.org)")
        return rows

    publish(pull())
"""

DRIVER = """
import json, sys
from pathlib import Path
from airflow.dag_processing.dagbag import DagBag

folder = Path(sys.argv[1])
dag = DagBag(dag_folder=str(folder)).get_dag("umkm_notifier_probe")
for outcome in ("fail", "ok", "ok"):
    (folder / "outcome").write_text(outcome)
    run = dag.test()
    print("RESULT " + json.dumps({"outcome": outcome, "run_id": run.run_id,
                                  "state": str(run.state)}), flush=True)
"""


def test_failure_then_recovery_through_dag_test(webhook, smtp, warehouse, tmp_path):
    home, dags = tmp_path / "airflow", tmp_path / "dags"
    home.mkdir()
    dags.mkdir()
    (dags / "probe.py").write_text(textwrap.dedent(DAG_FILE))
    (tmp_path / "driver.py").write_text(DRIVER)
    with connect(warehouse) as conn:
        conn.execute("delete from audit.alerts_sent where dedupe_key like '%notifier_probe%'")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "UMKM_AIRFLOW_BASE_URL": "https://airflow.example.org/",
        "WAREHOUSE_URL": warehouse,
        "UMKM_STATE_DIR": str(tmp_path / "state"),
    }
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), str(dags)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    results = [json.loads(x[7:]) for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert [r["state"] for r in results] == ["failed", "success", "success"], log[-4000:]
    failed_run, recovered_run = results[0]["run_id"], results[1]["run_id"]

    texts = [post["text"] for post in webhook.posts]
    assert len(texts) == 2, texts
    assert "task failed: umkm_notifier_probe.publish" in texts[0]
    assert "Log: https://airflow.example.org/dags/umkm_notifier_probe/runs/" in texts[0]
    assert "/tasks/publish?try_number=1" in texts[0]
    assert "Runbook: docs/RUNBOOK.md#task_failed" in texts[0]
    assert "siti@example.org" not in texts[0]
    assert "recovered: umkm_notifier_probe (failing for " in texts[1]
    assert f"succeeded again: run {recovered_run}." in texts[1]
    mails = smtp.texts()
    assert len(mails) == 2
    assert "Subject: [umkm error] task failed: umkm_notifier_probe.publish" in mails[0]
    assert "Subject: [umkm info] recovered: umkm_notifier_probe" in mails[1]

    with connect(warehouse) as conn:
        keys = {
            k
            for (k,) in conn.execute(
                "select dedupe_key from audit.alerts_sent where dedupe_key like '%notifier_probe%'"
            )
        }
    assert keys == {
        f"task_failure:umkm_notifier_probe:{failed_run}:publish#umkm_alert_webhook",
        f"task_failure:umkm_notifier_probe:{failed_run}:publish#umkm_alert_smtp",
        f"recovered:umkm_notifier_probe:{recovered_run}#umkm_alert_webhook",
        f"recovered:umkm_notifier_probe:{recovered_run}#umkm_alert_smtp",
    }

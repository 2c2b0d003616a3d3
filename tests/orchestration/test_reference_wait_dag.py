"""The reference wait through Airflow's `dag.test` (as `umkm run` drives the DAGs), on a
warehouse without BPS: the sensor waits (reschedule mode, one poke a second here), then
passes once a load of bps appears in `audit.loads`, or times out with the one-line message.

The interval and timeout come from `UMKM_REFERENCE_POKE_INTERVAL` and
`UMKM_REFERENCE_WAIT_TIMEOUT`, read when the subprocess parses the DAG file. The tasks after
the sensor are marked successful without running (dag.test's `mark_success_pattern`): no
feed is pulled. About 40 s, most of it Airflow's metadata migration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date

import pytest

from umkm.orchestration import references
from umkm.warehouse.db import connect

pytestmark = pytest.mark.e2e

DRIVER = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from umkm import settings
from umkm.orchestration.snapshots import logical_date_for
snapshot, dag_id, pattern = sys.argv[1], sys.argv[2], sys.argv[3] or None
bag = DagBag(dag_folder=str(settings.DAGS_DIR / "ingest_sources.py"))
dag = bag.get_dag(dag_id)
run = dag.test(
    logical_date=logical_date_for(snapshot),
    run_conf={"snapshot": snapshot},
    mark_success_pattern=pattern,
)
tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("RESULT " + json.dumps({"state": str(run.state), "tasks": tasks}), flush=True)
"""

NOT_LOADED = "ingest_tokopedia, snapshot {snap}: reference bps not loaded"


@pytest.fixture(scope="module")
def airflow(warehouse, tmp_path_factory):
    """An initialised Airflow home (SQLite metadata) in a state folder of its own."""
    from umkm.runner import airflow_env

    state = tmp_path_factory.mktemp("refwait-state")
    saved = os.environ.get("UMKM_STATE_DIR")
    os.environ["UMKM_STATE_DIR"] = str(state)
    try:
        env = airflow_env.airflow_env(warehouse)
        airflow_env.ensure_initialised(env)
    finally:
        if saved is None:
            os.environ.pop("UMKM_STATE_DIR", None)
        else:
            os.environ["UMKM_STATE_DIR"] = saved
    driver = state / "driver.py"
    driver.write_text(DRIVER)
    return {"env": env, "driver": driver, "url": warehouse}


def _no_reference(url: str) -> None:
    with connect(url) as conn:
        conn.execute("delete from audit.loads where source_id = 'bps'")


def _start(airflow, snapshot: str, interval: str, timeout: str, log_path):
    env = {
        **airflow["env"],
        references.POKE_INTERVAL_ENV: interval,
        references.WAIT_TIMEOUT_ENV: timeout,
    }
    cmd = [sys.executable, str(airflow["driver"]), snapshot, "ingest_tokopedia"]
    cmd.append("extract_load|validate|publish")
    log = open(log_path, "w")  # noqa: SIM115 (closed by _finish)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def _finish(proc, log, log_path, seconds: int = 180) -> tuple[dict, str]:
    try:
        proc.wait(timeout=seconds)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = log_path.read_text()
    results = [line for line in text.splitlines() if line.startswith("RESULT ")]
    assert results, text[-4000:]
    return json.loads(results[-1].removeprefix("RESULT ")), text


def test_waits_then_times_out_with_the_message(airflow, tmp_path):
    _no_reference(airflow["url"])
    log_path = tmp_path / "timeout.log"
    proc, log = _start(airflow, "2017-11-15", "1", "3", log_path)
    result, text = _finish(proc, log, log_path)

    assert result["state"] == "failed", text[-4000:]
    assert result["tasks"][references.SENSOR_TASK_ID] == "failed"
    assert result["tasks"]["extract_load"] == "upstream_failed"  # nothing pulled
    waiting = [line for line in text.splitlines() if NOT_LOADED.format(snap="2017-11-15") in line]
    assert sum("; waiting (" in line for line in waiting) >= 2, text[-4000:]  # rescheduled
    timed_out = [line for line in waiting if "AirflowSensorTimeout" in line]
    assert timed_out, text[-4000:]
    assert "run the DAG ingest_bps (or `umkm ingest bps --snapshot 2017-11-15`)" in timed_out[0]
    assert "gave up after waiting" in timed_out[0]


def test_waits_then_passes_when_the_reference_is_loaded(airflow, tmp_path):
    _no_reference(airflow["url"])
    log_path = tmp_path / "passes.log"
    proc, log = _start(airflow, "2017-10-15", "1", "120", log_path)
    deadline = time.monotonic() + 120
    while "; waiting (" not in log_path.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-4000:]
        time.sleep(0.5)
    with connect(airflow["url"]) as conn:  # what ingest_bps's publish records
        conn.execute(
            "insert into audit.loads (source_id, snapshot, batch_id, mode, status) "
            "values ('bps', %s, 'bps-20170115', 'full', 'success')",
            (date(2017, 1, 15),),
        )
    result, text = _finish(proc, log, log_path)

    assert result["state"] == "success", text[-4000:]
    assert result["tasks"][references.SENSOR_TASK_ID] == "success"
    assert "ingest_tokopedia, snapshot 2017-10-15: reference bps loaded" in text
    assert "AirflowSensorTimeout" not in text

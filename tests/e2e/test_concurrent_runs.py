"""Two operators run the same snapshot into one warehouse at once (issue 21, item 5).

Two `umkm run` processes start together, each with its own state folder (its own Airflow
home and its own simulator, same seed), against one warehouse. One writer per source and
snapshot (the load lock) and one build per warehouse (the build lock) must make them both
finish, with every record landed once and the same marts whichever finished first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import create_test_database, drop_test_database
from umkm.sources import load_registry
from umkm.warehouse.db import connect

pytestmark = pytest.mark.e2e

SNAPSHOT = "2017-11-15"
SCALE = "0.002"
SEED = "11"


def _marts(url: str) -> dict:
    """The published marts' integer content (floats of the model may differ in last bits)."""
    with connect(url) as conn:
        return {
            "bridge": conn.execute(
                "select snapshot, step_id, value, running_total "
                "from marts.mart_reconciliation_bridge order by snapshot, step_order"
            ).fetchall(),
            "platforms": conn.execute(
                "select * from marts.mart_umkm_by_platform order by snapshot, platform"
            ).fetchall(),
            "entities": conn.execute(
                "select count(*), count(distinct entity_id) from marts.map_record_to_entity"
            ).fetchone(),
            "facts": conn.execute(
                "select count(*), count(*) filter (where is_online_umkm) "
                "from marts.fct_umkm_entity_snapshots"
            ).fetchone(),
        }


@pytest.fixture(scope="module")
def two_runs(admin_url, tmp_path_factory):
    url = create_test_database(admin_url, "concurrent")
    cmd = [sys.executable, "-m", "umkm", "run", "--snapshot", SNAPSHOT, "--scale", SCALE]
    cmd += ["--seed", SEED]
    procs, states = [], []
    for i in range(2):
        state = tmp_path_factory.mktemp(f"concurrent-{i}")
        env = {**os.environ, "UMKM_STATE_DIR": str(state), "WAREHOUSE_URL": url}
        env.pop("AIRFLOW_HOME", None)
        states.append(state)
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    finished, marts = [], []
    deadline = time.monotonic() + 1800
    while len(finished) < 2:
        for i, proc in enumerate(procs):
            if i not in finished and proc.poll() is not None:
                finished.append(i)
                marts.append(_marts(url) if proc.returncode == 0 else None)
        assert time.monotonic() < deadline, "the runs did not finish in 30 minutes"
        time.sleep(0.5)
    outputs = [proc.stdout.read().decode() for proc in procs]
    for i, proc in enumerate(procs):
        if proc.returncode != 0:
            log = states[i] / "logs" / f"run-{SNAPSHOT}.log"
            tail = log.read_text()[-6000:] if log.exists() else ""
            pytest.fail(f"run {i} failed:\n{outputs[i][-3000:]}\n{tail}")
    yield {"url": url, "marts": marts, "outputs": outputs, "order": finished, "states": states}
    drop_test_database(admin_url, url)


def test_both_runs_finish_with_identical_marts(two_runs):
    first, second = two_runs["marts"]
    assert first["bridge"] and first["entities"][0] > 0
    assert first == second


def test_every_source_landed_once(two_runs):
    """Each source's snapshot was published by one pull; the other found it unchanged (or
    waited for the load lock and published the same records): no record twice."""
    with connect(two_runs["url"]) as conn:
        for sid in load_registry():
            n, distinct = conn.execute(
                f"select count(*), count(distinct record_id) from raw.{sid} where snapshot = %s",
                (SNAPSHOT,),
            ).fetchone()
            assert n == distinct and n > 0, sid
            published = conn.execute(
                "select count(distinct coalesce(unchanged_of, batch_id)) from audit.loads "
                "where source_id = %s and snapshot = %s and status = 'success'",
                (sid, SNAPSHOT),
            ).fetchone()[0]
            assert published == 1, sid


def test_both_builds_succeeded_and_published_everything(two_runs):
    """Each run's build succeeded (or found nothing to do); the build lock made the second
    wait rather than collide with the first in staging (its log says when it waited)."""
    with connect(two_runs["url"]) as conn:
        builds = conn.execute(
            "select status from audit.builds where snapshot = %s order by build_id", (SNAPSHOT,)
        ).fetchall()
        left = conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'marts_build'"
        ).fetchone()[0]
    statuses = [status for (status,) in builds]
    assert len(statuses) == 2 and set(statuses) <= {"success", "skipped"}, statuses
    assert "success" in statuses
    assert left == 0  # everything the builds wrote was published
    waited = [s for s in two_runs["states"] if "build_lock_wait" in _run_log(s)]
    print(f"builds {statuses}; runs that waited for the build lock: {len(waited)}")


def _run_log(state) -> str:
    """The run's log and its Airflow task logs."""
    return "".join(p.read_text(errors="replace") for p in state.rglob("*.log") if p.is_file())

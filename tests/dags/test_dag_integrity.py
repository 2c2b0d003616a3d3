"""Tier 1: every DAG file imports cleanly, cheaply, and declares what operators need."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from umkm import settings
from umkm.sources import load_registry


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    from umkm.transform.dbt import ensure_manifest

    ensure_manifest()  # built ahead, as `umkm run` does: the build DAG renders from it

    return DagBag(dag_folder=str(settings.DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_one_ingest_dag_per_source_and_the_build(dagbag):
    expected = {f"ingest_{sid}" for sid in load_registry()} | {"warehouse_build"}
    assert set(dagbag.dag_ids) == expected


def test_every_dag_has_owner_tags_retries_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.default_args.get("owner"), dag_id
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        assert dag.default_args.get("on_failure_callback"), dag_id
        for task in dag.tasks:
            if task.task_id.endswith("dbt_producer_watcher"):
                # Cosmos skips a retried producer (the run would end green with nothing
                # built), so it fails the run instead; see umkm.orchestration.dbt_group
                assert task.retries == 0, f"{dag_id}.{task.task_id}"
                continue
            assert task.retries >= 1, f"{dag_id}.{task.task_id}"


def test_ingest_dags_are_serial_pooled_and_produce_their_asset(dagbag):
    for sid in load_registry():
        dag = dagbag.dags.get(f"ingest_{sid}")
        assert dag.max_active_runs == 1
        assert dag.get_task("extract_load").pool == f"source_{sid}"
        outlets = dag.get_task("publish").outlets
        assert [o.uri for o in outlets] == [f"umkm-warehouse://raw/{sid}"]
        assert set(dag.params) >= {"snapshot", "mode"}


def test_each_ingest_dag_runs_on_its_registry_schedule(dagbag):
    schedules = {}
    for sid, source in load_registry().items():
        timetable = dagbag.dags.get(f"ingest_{sid}").timetable
        assert timetable.expression == source.schedule, sid
        assert str(timetable.timezone) == "Asia/Jakarta", sid
        schedules[sid] = source.schedule
    assert schedules["bps"] != schedules["tokopedia"]  # yearly against monthly


def test_build_is_scheduled_on_the_critical_raw_assets(dagbag):
    dag = dagbag.dags.get("warehouse_build")
    uris = {a.uri for a in dag.timetable.asset_condition.objects}
    critical = {
        f"umkm-warehouse://raw/{s.source_id}"
        for s in load_registry().values()
        if s.criticality == "critical" and s.kind != "reference"
    }
    assert uris == critical


PROBE = textwrap.dedent(
    """
    import runpy, socket, sys
    def refuse(*args, **kwargs):
        raise RuntimeError("network or database connection while importing a DAG file")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    import psycopg
    psycopg.connect = refuse
    for path in sys.argv[1:]:
        runpy.run_path(path)
    print("imported", len(sys.argv) - 1)
    loaded = sorted(
        m for m in sys.modules
        if m == "umkm_sim" or m.startswith(("umkm_sim.", "umkm.runner"))
    )
    print("loaded", ",".join(loaded))
    """
)


def test_importing_dag_files_makes_no_connection_and_loads_no_runner_or_simulator(tmp_path):
    files = sorted(str(p) for p in settings.DAGS_DIR.glob("*.py"))
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path))
    env.pop("WAREHOUSE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *files], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"imported {len(files)}" in proc.stdout
    # neither the simulator (umkm_sim) nor the local runner (umkm.runner) comes with them
    assert "loaded \n" in proc.stdout, proc.stdout


def test_build_has_one_task_per_dbt_model(dagbag):
    import json

    from umkm.transform.dbt import manifest_path

    manifest = json.loads(manifest_path().read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    task_ids = set(dagbag.dags["warehouse_build"].task_ids)
    assert "dbt.dbt_producer_watcher" in task_ids
    for model in models:
        # a model with tests is a group of its run and its test (dbt.<model>.run); one
        # without (a staged view) is a task of its own (dbt.<model>_run)
        assert task_ids & {f"dbt.{model}.run", f"dbt.{model}_run"}, model
    assert {"check_sources", "report"} <= task_ids


def test_build_skips_only_dbt_when_nothing_changed(dagbag):
    """needs_build (a short circuit) stands before every dbt task; drift and report run
    whether dbt ran or was skipped, but not after a failure."""
    dag = dagbag.dags["warehouse_build"]
    gate = dag.get_task("needs_build")
    assert gate.ignore_downstream_trigger_rules is False
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert dbt_tasks
    for task in dbt_tasks:
        assert "needs_build" in task.get_flat_relative_ids(upstream=True), task.task_id
    assert "build_done" in dag.get_task("drift").get_flat_relative_ids(upstream=True)
    for task_id in ("drift", "report"):
        assert dag.get_task(task_id).trigger_rule == "none_failed", task_id
    assert dag.params["force"] is False

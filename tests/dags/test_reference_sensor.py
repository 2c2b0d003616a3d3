"""The reference wait in the DAGs (issue 21, item 3): `wait_for_reference` is the first task
of exactly the ingest DAGs whose validation reads the BPS region codes."""

from __future__ import annotations

import pytest

from umkm import settings
from umkm.orchestration import references
from umkm.sources import load_registry

SENSOR = references.SENSOR_TASK_ID


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(settings.DAGS_DIR / "ingest_sources.py"))
    assert bag.import_errors == {}
    return bag.dags


def _needs_reference(source_id: str) -> bool:
    """Independently of the DAG code: the source's suite reads the region reference."""
    from umkm.validation.runner import REFERENCE_CHECKS
    from umkm.validation.suites import checks_for

    source = load_registry()[source_id]
    return source.kind != "reference" and any(
        check.name in REFERENCE_CHECKS for check in checks_for(source_id)
    )


def test_sensor_only_in_the_dags_that_need_the_reference(dags):
    waiting = {dag_id for dag_id, dag in dags.items() if SENSOR in dag.task_ids}
    expected = {f"ingest_{sid}" for sid in load_registry() if _needs_reference(sid)}
    assert waiting == expected
    # the cases the issue names, spelled out
    assert {"ingest_tokopedia", "ingest_kemenkopukm", "ingest_kemenperin"} <= waiting
    assert not {"ingest_bps", "ingest_kominfo"} & waiting
    assert {"ingest_bps", "ingest_kominfo"} <= set(dags)


def test_sensor_is_the_first_task(dags):
    for dag_id, dag in dags.items():
        roots = [task.task_id for task in dag.roots]
        if SENSOR in dag.task_ids:
            assert roots == [SENSOR], dag_id
            assert dag.get_task("extract_load").upstream_task_ids == {SENSOR}, dag_id
            assert dag.get_task(SENSOR).downstream_task_ids == {"extract_load"}, dag_id
        else:
            assert roots == ["extract_load"], dag_id


def test_sensor_reschedules_with_the_documented_interval_and_timeout(dags):
    limits = references.wait_limits()
    for dag_id, dag in dags.items():
        if SENSOR not in dag.task_ids:
            continue
        sensor = dag.get_task(SENSOR)
        assert getattr(sensor, "_is_sensor", False), dag_id
        assert sensor.mode == "reschedule", dag_id
        assert sensor.poke_interval == limits.poke_interval, dag_id
        # the poke gives up at `timeout` with its message; Airflow's timeout is the backstop
        assert sensor.timeout == limits.timeout + limits.poke_interval, dag_id
        assert sensor.retries >= 1, dag_id
        assert sensor.pool != f"source_{dag_id.removeprefix('ingest_')}", dag_id
        assert "wait_for_reference" in dag.doc_md and "ingest_bps" in dag.doc_md, dag_id


def test_ingest_dags_stay_on_cron_and_bps_still_produces_the_asset(dags):
    for sid, source in load_registry().items():
        dag = dags[f"ingest_{sid}"]
        assert dag.timetable.expression == source.schedule, sid
    outlets = dags["ingest_bps"].get_task("publish").outlets
    assert [o.uri for o in outlets] == ["umkm-warehouse://raw/bps"]
    assert "raw.bps" in dags["ingest_bps"].doc_md and "ends their wait" in dags["ingest_bps"].doc_md

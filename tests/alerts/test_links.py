"""The links of an alert: the task log on the configured Airflow base URL, the Data Docs page
on the docs server, the runbook section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from umkm import settings
from umkm.alerts import links


@pytest.fixture(autouse=True)
def no_base_urls(monkeypatch):
    for name in (
        "UMKM_AIRFLOW_BASE_URL",
        "AIRFLOW__API__BASE_URL",
        "UMKM_DOCS_BASE_URL",
        "UMKM_RUNBOOK_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_airflow_base_url_precedence(monkeypatch):
    import airflow.configuration  # noqa: F401 - as in a task: the configuration is loaded

    assert settings.airflow_base_url() == "http://localhost:8080"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.internal/")
    assert settings.airflow_base_url() == "https://airflow.internal"
    monkeypatch.setenv("UMKM_AIRFLOW_BASE_URL", "https://ops.example.org/airflow/")
    assert settings.airflow_base_url() == "https://ops.example.org/airflow"


@pytest.mark.parametrize("module", ["airflow.sdk.configuration", "airflow.configuration"])
def test_airflow_config_is_read_when_loaded(monkeypatch, module):
    import importlib

    conf = importlib.import_module(module).conf
    monkeypatch.setattr(conf, "get", lambda section, key, fallback=None: "http://cfg.example:90/")
    assert settings.airflow_base_url() == "http://cfg.example:90"


def test_task_log_url_shape(monkeypatch):
    monkeypatch.setenv("UMKM_AIRFLOW_BASE_URL", "https://ops.example.org/airflow/")
    run_id = "manual__2017-11-16T02:00:00+07:00"
    assert links.task_log_url("ingest_shopee", run_id, "extract_load", 2) == (
        "https://ops.example.org/airflow/dags/ingest_shopee/runs/"
        "manual__2017-11-16T02%3A00%3A00%2B07%3A00/tasks/extract_load?try_number=2"
    )
    assert links.task_log_url("warehouse_build", "r1", "dbt.stg_shopee_run", 1, 4) == (
        "https://ops.example.org/airflow/dags/warehouse_build/runs/r1/tasks/"
        "dbt.stg_shopee_run/mapped/4?try_number=1"
    )
    assert links.dag_run_url("ingest_bps", "r1") == (
        "https://ops.example.org/airflow/dags/ingest_bps/runs/r1"
    )


def test_task_log_url_matches_airflow_and_its_ui_routes(monkeypatch):
    """Same URL as Airflow's own `ti.log_url` for the same base, and a route of the
    installed Airflow UI whose index tab is the log (reads `try_number`)."""
    import airflow
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.test:8080/")
    ti = RuntimeTaskInstance.model_construct(
        dag_id="ingest_shopee",
        run_id="scheduled__2017-11-15T19:00:00+00:00",
        task_id="extract_load",
        try_number=3,
        map_index=-1,
    )
    ours = links.task_log_url(ti.dag_id, ti.run_id, ti.task_id, ti.try_number, ti.map_index)
    assert ours == ti.log_url

    bundles = list((Path(airflow.__file__).parent / "ui" / "dist" / "assets").glob("index-*.js"))
    assert bundles, "the Airflow UI bundle is not installed"
    ui = "".join(b.read_text(errors="replace") for b in bundles)
    assert "path:`dags/:dagId/runs/:runId/tasks/:taskId`" in ui
    assert "path:`dags/:dagId/runs/:runId/tasks/:taskId/mapped/:mapIndex`" in ui
    assert "TRY_NUMBER=`try_number`" in ui


def test_data_docs_url_is_the_validation_page_on_the_docs_server(monkeypatch, tmp_path):
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path))
    site = settings.data_docs_dir()
    page = site / "validations/raw_shopee/shopee-20171115-x1/20171116T010203.000001Z"
    page.mkdir(parents=True)
    (page / "shopee__20171115__b1.html").write_text("<html></html>")
    (site / "index.html").write_text("<html></html>")

    assert links.data_docs_url(None) is None
    assert links.data_docs_url(site / "index.html") == "http://127.0.0.1:8099/data_docs/index.html"
    assert links.data_docs_url(site / "index.html", "shopee-20171115-x1") == (
        "http://127.0.0.1:8099/data_docs/validations/raw_shopee/shopee-20171115-x1/"
        "20171116T010203.000001Z/shopee__20171115__b1.html"
    )
    monkeypatch.setenv("UMKM_DOCS_BASE_URL", "https://docs.example.org/umkm/")
    assert links.data_docs_url(site, "no-such-run") == "https://docs.example.org/umkm/data_docs/"
    assert not re.search(r"/(work|tmp)/", links.data_docs_url(site / "index.html"))


def test_runbook_url(monkeypatch):
    assert links.runbook_url("no_data") == "docs/RUNBOOK.md#no_data"
    assert links.runbook_url("something new") == "docs/RUNBOOK.md#alert-kinds"
    monkeypatch.setenv(
        "UMKM_RUNBOOK_BASE_URL", "https://git.example.org/umkm/blob/main/docs/RUNBOOK.md"
    )
    assert links.runbook_url("bridge_drift") == (
        "https://git.example.org/umkm/blob/main/docs/RUNBOOK.md#bridge_drift"
    )

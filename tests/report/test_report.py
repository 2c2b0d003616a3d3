"""The report, looked at as a person does: headless Chromium, no console errors, the bridge
chart drawn, a screenshot kept as a test artifact (test-artifacts/report.png)."""

from __future__ import annotations

from pathlib import Path

import pytest

from umkm import settings
from umkm.report import build_report
from umkm.warehouse.db import connect

ARTIFACTS = settings.REPO_ROOT / "test-artifacts"

STEPS = [
    ("kominfo_published", 46000),
    ("feed_recount_gap", -120),
    ("ministry_list_records", -50),
    ("same_platform_duplicate_shops", -2100),
    ("cross_platform_duplicates", -6100),
    ("large_enterprises", -900),
    ("dormant_accounts", -4300),
    ("not_in_registry", -9800),
    ("registry_only", 15270),
]


@pytest.fixture(scope="module")
def marts(warehouse):
    """A few mart rows, shaped as dbt builds them (the report reads nothing else)."""
    running, rows = 0, []
    for order, (step, value) in enumerate(STEPS, start=1):
        running = value if order == 1 else running + value
        rows.append((order, step, f"step {step}", value, running))
    rows.append((10, "kemenkopukm_registry", "registry count", running, running))
    with connect(warehouse) as conn:
        conn.execute(
            """create table marts.mart_reconciliation_bridge (snapshot date, step_order int,
               step_id text, description text, value bigint, running_total bigint)"""
        )
        for row in rows:
            conn.execute(
                "insert into marts.mart_reconciliation_bridge"
                " values ('2017-11-15', %s, %s, %s, %s, %s)",
                row,
            )
        conn.execute(
            """create table marts.mart_umkm_by_platform (snapshot date, platform text,
               accounts bigint, businesses bigint, active_umkm bigint)"""
        )
        conn.execute(
            """insert into marts.mart_umkm_by_platform values
               ('2017-11-15', 'Tokopedia', 100, 90, 70), ('2017-11-15', 'Shopee', 80, 75, 60)"""
        )
    return warehouse


def test_report_opens_without_console_errors_and_draws_the_bridge(marts, browser, tmp_path):
    page = build_report("2017-11-15", out_dir=tmp_path, url=marts)
    assert (tmp_path / "plotly.min.js").exists()
    html = page.read_text()
    assert "kemenkopukm_registry" in html
    browser.get(Path(page).as_uri())
    browser.implicitly_wait(5)
    chart = browser.find_element("css selector", "#bridge-chart .waterfalllayer")
    assert chart.is_displayed()
    bars = browser.find_elements("css selector", "#bridge-chart .waterfalllayer .point")
    assert len(bars) == 10
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report.png"))


def test_missing_marts_are_named_not_fatal(warehouse, tmp_path):
    page = build_report("2019-01-15", out_dir=tmp_path, url=warehouse)
    assert "has no rows for this snapshot" in page.read_text()

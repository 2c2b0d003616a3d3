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
        # step 5 has an interval from the matching draws; the others are exact here
        low, high = (value - 40, value + 25) if order == 5 else (value, value)
        rows.append((order, step, f"step {step}", value, low, high, running))
    rows.append((10, "kemenkopukm_registry", "registry count", running, running, running, running))
    with connect(warehouse) as conn:
        conn.execute(
            """create table marts.mart_reconciliation_bridge (snapshot date, step_order int,
               step_id text, description text, value bigint, ci_low bigint, ci_high bigint,
               running_total bigint)"""
        )
        for row in rows:
            conn.execute(
                "insert into marts.mart_reconciliation_bridge"
                " values ('2017-11-15', %s, %s, %s, %s, %s, %s, %s)",
                row,
            )
        conn.execute(
            """create table marts.mart_er_parameters (parameter text, slot_index int,
               comparison text, level_number int, meaning text, m_probability float8,
               u_probability float8, match_weight float8, prior_probability float8,
               expected_matching_pairs float8, links_accepted bigint,
               link_threshold float8)"""
        )
        conn.execute(
            """insert into marts.mart_er_parameters values
               ('level', 1, 'phone', 0, 'none of these', 0.1, 0.999, -3.3, null, null, null, null),
               ('level', 2, 'phone', 1, 'equal', 0.9, 0.0001, 13.1, null, null, null, null),
               ('prior', null, null, null, 'prior', null, null, -12.6, 0.00016, 1614.4, 1614,
                0.98)"""
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


def test_bridge_intervals_and_the_learned_model_are_shown(marts, tmp_path):
    html = build_report("2017-11-15", out_dir=tmp_path, url=marts).read_text()
    bridge = _text(html, "bridge")
    assert "-6,140 – -6,075" in bridge  # step 5: value -6,100, interval from the draws
    assert "no uncertain link" in bridge  # another matching step, exact here
    assert "a count" in bridge  # steps 1-3 and 10 count records
    model = _text(html, "er-model")
    assert "1,614 links accepted (match probability 0.98 or more)" in model
    assert "phone equal 0.9000 1.00e-04 +13.1" in model


def test_missing_marts_are_named_not_fatal(warehouse, tmp_path):
    page = build_report("2019-01-15", out_dir=tmp_path, url=warehouse)
    assert "has no rows for this snapshot" in page.read_text()


def _text(html: str, section: str) -> str:
    """The words of one section of the report, tags and runs of spaces collapsed."""
    import html as html_lib
    import re

    start = html.index(f'<section id="{section}">')
    body = html[start : html.index("</section>", start)]
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_commodity_coverage_and_threshold_sections(warehouse, tmp_path):
    """The unmapped share per source and over all sources (summed records, not averaged
    shares), the largest unmapped texts, and step 6 at the three thresholds."""
    with connect(warehouse) as conn:
        conn.execute(
            """create table marts.mart_commodity_coverage (snapshot date, source_id text,
               records bigint, category_texts bigint, records_priority_commodity bigint,
               records_lainnya bigint, records_unmapped bigint, unmapped_category_texts bigint,
               unmapped_share double precision)"""
        )
        conn.execute(
            """insert into marts.mart_commodity_coverage values
               ('2017-11-15', 'tokopedia', 300, 5, 200, 40, 60, 2, 0.2),
               ('2017-11-15', 'shopee', 100, 3, 50, 50, 0, 0, 0),
               ('2017-12-15', 'shopee', 100, 3, 0, 0, 100, 1, 1)"""
        )
        conn.execute(
            """create table marts.mart_unmapped_categories (snapshot date, source_id text,
               category_text text, is_missing boolean, records bigint, source_records bigint,
               share_of_source double precision)"""
        )
        conn.execute(
            """insert into marts.mart_unmapped_categories values
               ('2017-11-15', 'tokopedia', 'Serba Ada', false, 45, 300, 0.15),
               ('2017-11-15', 'tokopedia', null, true, 15, 300, 0.05)"""
        )
        conn.execute(
            """create table marts.mart_large_enterprise_thresholds (snapshot date,
               threshold_variant text, factor numeric, min_products bigint,
               large_enterprises bigint, step_value bigint, umkm_on_marketplaces bigint,
               change_from_current bigint)"""
        )
        conn.execute(
            """insert into marts.mart_large_enterprise_thresholds values
               ('2017-11-15', 'twice', 2.0, 20000, 141, -141, 41190, -9),
               ('2017-11-15', 'half', 0.5, 5000, 163, -163, 41168, 13),
               ('2017-11-15', 'current', 1.0, 10000, 150, -150, 41181, 0)"""
        )
    html = build_report("2017-11-15", out_dir=tmp_path, url=warehouse).read_text()
    coverage = _text(html, "commodity-coverage")
    assert "shopee 100 50 50 0 0.0% 0" in coverage
    assert "tokopedia 300 200 40 60 20.0% 2" in coverage
    assert "all sources 400 250 90 60 15.0% 2" in coverage  # 60 / 400, not mean(20%, 0%)
    assert "tokopedia Serba Ada 45 15.0%" in coverage
    assert "tokopedia (no category) 15 5.0%" in coverage
    thresholds = _text(html, "large-enterprise-threshold")
    assert "half 5,000 -163 41,168 +13 current 10,000 -150 41,181 +0" in thresholds
    assert "twice 20,000 -141 41,190 -9" in thresholds
    # another snapshot's rows do not leak in, and a snapshot without rows says so
    html = build_report("2018-01-15", out_dir=tmp_path, url=warehouse).read_text()
    assert "mart_commodity_coverage has no rows for this snapshot" in html
    assert "mart_large_enterprise_thresholds has no rows for this snapshot" in html

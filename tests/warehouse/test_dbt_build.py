"""Tier 3: `dbt build` (models, seeds, tests) against real PostgreSQL servers.

The default target is the warehouse under test (embedded, or `WAREHOUSE_URL`); the second
is the PostgreSQL 15 service at 127.0.0.1:5432 when it is reachable
(`UMKM_SECOND_WAREHOUSE_URL` overrides it). Both must pass.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import (
    SECOND_TARGET_URL,
    create_test_database,
    drop_test_database,
    reachable,
    server_admin_url,
)
from umkm.transform.dbt import run_dbt, target_dir
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt


def _targets() -> list:
    targets = [pytest.param(server_admin_url, id="warehouse-under-test")]
    targets.append(
        pytest.param(
            lambda: SECOND_TARGET_URL,
            id="postgres-service",
            marks=pytest.mark.skipif(
                not reachable(SECOND_TARGET_URL), reason=f"{SECOND_TARGET_URL} not reachable"
            ),
        )
    )
    return targets


@pytest.mark.parametrize("admin", _targets())
def test_dbt_build_passes(admin):
    admin_url = admin()
    url = create_test_database(admin_url, "dbt")
    try:
        with connect(url) as conn:  # one published summary, as ingest_kominfo lands it
            conn.execute(
                "insert into raw.kominfo values ('2017-11-15', '2017-11-15', %s, 'b1', 0, now())",
                (
                    json.dumps(
                        {
                            "tanggal": "2017-11-15",
                            "total": 30,
                            "rincian": [
                                {"sumber": "Tokopedia", "jumlah": 20},
                                {"sumber": "Kementerian/Lembaga", "jumlah": 10},
                            ],
                        }
                    ),
                ),
            )
        run_dbt(["build"], url=url, capture=True)
        results = json.loads((target_dir() / "run_results.json").read_text())
        # exposures have nothing to run: dbt reports them as "no-op"
        statuses = {r["status"] for r in results["results"]}
        assert statuses <= {"success", "pass", "no-op"}, statuses
        assert "success" in statuses and "pass" in statuses
        with connect(url) as conn:
            total = conn.execute(
                "select sum(jumlah), max(published_total) from staging.stg_kominfo__counts"
            ).fetchone()
            figures = conn.execute("select count(*) from marts.published_figures").fetchone()[0]
        assert total == (30, 30)
        assert figures >= 10
    finally:
        drop_test_database(admin_url, url)

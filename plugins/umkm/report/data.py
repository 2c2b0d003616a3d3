"""What the report reads from the warehouse, one query per panel.

A panel whose mart is not built yet comes back as `None` and the report says so, instead
of failing: the report is also the place where a missing piece shows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg

from umkm.loading import audit

Rows = list[dict[str, Any]]

QUERIES: dict[str, str] = {
    "bridge": """
        select step_order, step_id, description, value, ci_low, ci_high, running_total
        from marts.mart_reconciliation_bridge where snapshot = %(snapshot)s
        order by step_order
    """,
    "er_model": """
        select parameter, comparison, level_number, meaning, m_probability, u_probability,
               match_weight, prior_probability, expected_matching_pairs, links_accepted,
               link_threshold
        from marts.mart_er_parameters
        order by parameter desc, slot_index
    """,
    "figures": """
        select figure_id, published_by, published_on, definition, published_value,
               warehouse_recount, recount_note
        from marts.mart_agency_figures order by published_on, figure_id
    """,
    "population": """
        select method, estimate, ci_low, ci_high, lists_used, assumptions
        from marts.mart_online_umkm_population where snapshot = %(snapshot)s
        order by method
    """,
    "platforms": """
        select platform, accounts, businesses, active_umkm
        from marts.mart_umkm_by_platform where snapshot = %(snapshot)s
        order by active_umkm desc
    """,
    "platforms_per_business": """
        select platform_count, businesses
        from marts.mart_platforms_per_business where snapshot = %(snapshot)s
        order by platform_count
    """,
    "overlap": """
        select platform_a, platform_b, businesses
        from marts.mart_platform_overlap where snapshot = %(snapshot)s
    """,
    "provinces": """
        select province_code, province_name, sum(active_umkm)::bigint as active_umkm
        from marts.mart_umkm_by_region where snapshot = %(snapshot)s
        group by province_code, province_name order by active_umkm desc
    """,
    "commodities": """
        select commodity, active_umkm
        from marts.mart_umkm_by_commodity where snapshot = %(snapshot)s
        order by active_umkm desc
    """,
    "commodity_coverage": """
        select * from (
            select source_id, records, records_priority_commodity, records_lainnya,
                   records_unmapped, unmapped_share, unmapped_category_texts
            from marts.mart_commodity_coverage where snapshot = %(snapshot)s
            union all
            select 'all sources', sum(records)::bigint, sum(records_priority_commodity)::bigint,
                   sum(records_lainnya)::bigint, sum(records_unmapped)::bigint,
                   sum(records_unmapped)::float8 / nullif(sum(records), 0),
                   sum(unmapped_category_texts)::bigint
            from marts.mart_commodity_coverage where snapshot = %(snapshot)s
            having count(*) > 0
        ) as coverage
        order by source_id = 'all sources', source_id
    """,
    "unmapped_categories": """
        select source_id, category_text, records, share_of_source
        from marts.mart_unmapped_categories where snapshot = %(snapshot)s
        order by records desc, source_id, category_text limit 10
    """,
    "large_enterprise_thresholds": """
        select threshold_variant, min_products, large_enterprises, step_value,
               umkm_on_marketplaces, change_from_current
        from marts.mart_large_enterprise_thresholds where snapshot = %(snapshot)s
        order by factor
    """,
    "progress": """
        select snapshot, online_umkm, active_online_umkm, kominfo_published, target
        from marts.mart_progress_toward_target order by snapshot
    """,
}

#: the columns of each source's latest load that the data-quality panel shows
LOAD_COLUMNS = (
    "status",
    "rows_fetched",
    "rows_loaded",
    "rows_rejected",
    "started_at",
    "finished_at",
)


def _loads(conn: psycopg.Connection, snapshot: date) -> Rows:
    """Each source's latest load for the snapshot, by source."""
    return [
        {"source_id": sid} | {column: load[column] for column in LOAD_COLUMNS}
        for sid, load in audit.latest_loads(conn, snapshot).items()
    ]


def _query(sql: str, conn: psycopg.Connection, snapshot: date) -> Rows:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql, {"snapshot": snapshot})
        return cur.fetchall()


#: every panel's reader, in report order: the marts' queries, then the audit tables (read
#: through umkm.loading.audit, the one place that reads them)
PANELS: dict[str, Callable[[psycopg.Connection, date], Rows]] = {
    **{name: functools.partial(_query, sql) for name, sql in QUERIES.items()},
    "loads": _loads,
    "validation": audit.latest_validation_results,
}


def fetch(conn: psycopg.Connection, snapshot: date) -> dict[str, Rows | None]:
    """Every panel's rows; `None` where the relation does not exist (yet)."""
    out: dict[str, Rows | None] = {}
    for name, read in PANELS.items():
        try:
            with conn.transaction():
                out[name] = read(conn, snapshot)
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
            out[name] = None
    return out

"""The warehouse: which PostgreSQL, how to connect, and its versioned bootstrap."""

from umkm.warehouse.db import connect, dbt_env, parse_url, warehouse_url

__all__ = ["connect", "dbt_env", "parse_url", "warehouse_url"]

"""Everything DAG files use: shared settings, DAG builders, task callables, `umkm run`.

DAG files import from here only, and importing this package is cheap: no database, no
network, no dbt or Great Expectations at module level.
"""

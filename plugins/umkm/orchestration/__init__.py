"""Everything DAG files use: shared settings, DAG builders, task callables.

DAG files import from here only, and importing this package is cheap: no database, no
network, no dbt or Great Expectations at module level. Nothing here imports the local
runner (`umkm.runner`: `umkm run`, its executor and Airflow home) or the simulator.
"""

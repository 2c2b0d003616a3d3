"""The local runner: `umkm run` (`run`), the executor it runs the DAGs with (`execute`), the
Airflow home it sets up (`airflow_env`) and the feed simulator's process (`simulator`).

No DAG file imports this package, and nothing here is needed to parse or run a DAG
(tests/dags/test_dag_integrity.py checks both); what DAG files import is
`umkm.orchestration`. The simulator is a separate program (`umkm-sim`, the package
`umkm_sim` outside plugins/): the runner starts its command and reads what it prints.
"""

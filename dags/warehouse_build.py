"""Airflow DAG `warehouse_build`: dbt staging, entity resolution and marts after sources land."""

from umkm.orchestration.dags import build_warehouse_dag

warehouse_build = build_warehouse_dag()

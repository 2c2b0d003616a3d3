"""Airflow DAGs, one per source in the registry: `ingest_<source_id>`.

The DAGs' shape lives in `umkm.orchestration.dags`; the sources in
`plugins/umkm/sources/registry.yaml`. Adding a source adds its DAG here.
"""

from umkm.orchestration.dags import build_ingest_dags

globals().update(build_ingest_dags())

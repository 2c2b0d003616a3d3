# The project's Airflow image: the official Airflow 3.3 image plus the pinned stack.
# Used by docker-compose.yml (not built on the development machine: no Docker engine there).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.txt constraints.txt /opt/umkm/
RUN pip install --no-cache-dir -r /opt/umkm/requirements.txt -c /opt/umkm/constraints.txt

# The package lives in plugins/ (mounted at /opt/airflow/plugins, which Airflow puts on
# sys.path); PYTHONPATH makes `python -m umkm` work in every container too. The feed
# simulator (simulator/umkm_sim) is not in plugins/: only the compose service `simulator`
# mounts it.
ENV PYTHONPATH=/opt/airflow/plugins

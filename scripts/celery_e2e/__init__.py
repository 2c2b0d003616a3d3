"""Prove that the pipeline runs unchanged under CeleryExecutor, on this machine.

The production shape (`docker-compose.yml`) is Airflow 3.3 with CeleryExecutor: a Redis
broker, PostgreSQL for Airflow's metadata and the Celery results, a PostgreSQL warehouse,
and two Celery workers. This script builds that shape out of local processes:

1. fresh databases on the PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres):
   `airflow_celery_<pid>` (Airflow metadata + Celery result backend) and
   `umkm_celery_<pid>` (the warehouse, bootstrapped by `umkm.warehouse.bootstrap`);
2. an Airflow home in a temp dir: `executor = CeleryExecutor`, broker on the Redis at
   127.0.0.1:6379 (its own db number, `--redis-db`, and a queue named after this run so
   concurrent runs never take each other's tasks), `[api_auth] jwt_secret` shared by every
   process, `[core] execution_api_server_url` pointing the workers at the api-server;
3. the processes of the compose file, as subprocesses with their logs in the temp dir:
   api-server, scheduler, dag-processor, TWO Celery workers with different hostnames
   (`worker-1-<pid>@<host>`, `worker-2-<pid>@<host>`), and a triggerer when
   `warehouse_build` runs (dbt's per-model Cosmos sensors defer to it);
4. the sources: the feed simulator (`umkm-sim serve --base-port 0`, tiny scale),
   or the tests' loopback feed servers (`tests/servers/feeds.py`, `--feeds loopback`), handed
   to the workers as `AIRFLOW_CONN_UMKM_<SOURCE>`;
5. `airflow dags unpause` + `airflow dags trigger` (the CLI's own commands, run in this
   process so the 10 s CLI start-up is paid once) with conf `{"snapshot": "2017-11-15"}` and
   the snapshot's logical date: `ingest_bps` first (the other sources' validation resolves
   regions against `raw.bps`), then every other `ingest_<source>` at once, then, when they
   have all succeeded, `warehouse_build` (`--build auto`: when the dbt project parses);
6. checks, from the metadata DB, that every run succeeded and that task instances ran on
   BOTH workers (`task_instance.hostname`, `task_instance_history` for earlier tries), and,
   from the warehouse, that each source's raw table holds the snapshot's rows without
   duplicates and, with `--baseline` (an undisturbed run's `--json-out`) or loopback feeds,
   exactly the expected number; prints a table and exits non-zero otherwise.

Reliability drills (issue 8): `--kill-worker` sends SIGKILL to worker-1's whole process
group (Celery parent, pool processes and the task processes they supervise: a lost
container or machine) while it runs a task, then starts a replacement worker; the task's
heartbeat stops, the scheduler fails that try after `[scheduler]
task_instance_heartbeat_timeout` (60 s here) and retries it on a live worker.
`--kill-scheduler` SIGKILLs the scheduler mid-run and starts another, which adopts the
running tasks (a task queued in the killed scheduler's last second may wait for
`[scheduler] task_queued_timeout`, 600 s, before it is requeued). Both must end with every
run successful and the same raw row counts as an undisturbed run.

Backfill (issue 8): `--backfill 2017-01-15:2019-12-15` replaces step 5's triggers of the
ingestion DAGs (bps excepted: reference data, triggered first for the last snapshot) with
`airflow backfill create --dag-id ingest_<source> --from-date .. --to-date ..` each, the
scheduler's own backfill; every run takes its snapshot from its logical date. Then
`warehouse_build` for the last snapshot (dbt rebuilds every snapshot), then one ingestion
DAG is backfilled again with `--reprocess-behavior completed`. Checks: every source holds
every snapshot without duplicates, the rerun left each snapshot's rows as they were, and
`marts.mart_reconciliation_bridge` holds the whole series, closing for each snapshot.

Only the deployment differs from `umkm run`: the DAG files, plugins and dbt project are the
repository's own. `[scheduler] use_job_schedule = False` keeps the cron and asset schedules
from adding runs of their own (today's cron run would load another snapshot); every run
here is triggered explicitly.

    .venv/bin/python scripts/celery_e2e.py --json-out plain.json        # plain run
    .venv/bin/python scripts/celery_e2e.py --kill-worker --baseline plain.json
    .venv/bin/python scripts/celery_e2e.py --kill-scheduler --baseline plain.json --keep
    .venv/bin/python scripts/celery_e2e.py --backfill 2017-09-15:2017-11-15

The parts, one module each in this package (`scripts/celery_e2e.py` is the command):
`config` (the Airflow configuration, from the local runner's builder
`umkm.runner.airflow_env.airflow_config`, plus what only this shape needs), `processes`
(the services started and stopped, the Airflow CLI in-process, the broker's clean-up),
`feeds` (step 4), `db` (the databases, and the reads of Airflow's metadata and the
warehouse), `drills` (kill-worker, kill-scheduler, backfill), `checks` (step 6: the
checks, the printed tables and `--json-out`), `e2e` (one run, in order), `cli` (the flags
and the exit codes); `common` holds what they share.

Exit codes: 0 all checks passed; 1 a check failed (also: runs not finished within
--timeout); 2 set-up failed (a process did not start, DAG import errors); 3 Redis or
PostgreSQL not reachable.
Every process started here is stopped on exit, also on Ctrl-C or failure.
"""

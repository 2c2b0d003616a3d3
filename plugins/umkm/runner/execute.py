"""Run the pipeline's DAGs for one snapshot through Airflow, in this process.

`umkm run` starts this module with the project's Airflow environment. Each DAG runs with
Airflow's `dag.test()` loop: real task instances, XComs, assets, retries and callbacks in
the metadata DB, without a long-running scheduler (the scheduler shape is
`scripts/celery_e2e.sh` and docker-compose). Ingestion DAGs run first, one per source,
then `warehouse_build`.

    python -m umkm.runner.execute --snapshot 2017-11-15 [--only ingest_bps ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from umkm import settings
from umkm.orchestration.snapshots import logical_date_for, parse_snapshot
from umkm.sources import ingest_order


def dag_order(only: list[str] | None = None) -> list[str]:
    order = [f"ingest_{sid}" for sid in ingest_order()] + ["warehouse_build"]
    return [d for d in order if not only or d in only]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="umkm.runner.execute")
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--only", nargs="*", help="DAG ids to run (default: all, in order)")
    parser.add_argument("--result-file", help="write per-DAG states as JSON here")
    args = parser.parse_args(argv)
    snapshot = parse_snapshot(args.snapshot)

    from airflow.dag_processing.dagbag import DagBag

    from umkm.orchestration.dbt_group import PRODUCER_FIRST_ENV

    os.environ[PRODUCER_FIRST_ENV] = "1"  # dag.test runs one task at a time (see dbt_group)

    bag = DagBag(dag_folder=str(settings.DAGS_DIR))
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"DAG import error in {path}:\n{err}", file=sys.stderr)
        return 2
    results = []
    ok = True
    for dag_id in dag_order(args.only):
        dag = bag.get_dag(dag_id)
        print(f"DAGSTART {dag_id}", flush=True)  # read by umkm.runner.progress
        started = time.monotonic()
        run = dag.test(
            logical_date=logical_date_for(snapshot),
            run_conf={"snapshot": snapshot.isoformat()},
        )
        state = str(getattr(run, "state", "unknown"))
        results.append(
            {"dag_id": dag_id, "state": state, "seconds": round(time.monotonic() - started, 1)}
        )
        print(f"DAGRUN {dag_id} {state} {results[-1]['seconds']}s", flush=True)
        if state != "success":
            ok = False
            break
    if args.result_file:
        with open(args.result_file, "w") as handle:
            json.dump({"snapshot": snapshot.isoformat(), "runs": results}, handle, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

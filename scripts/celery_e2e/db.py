"""The databases of a run: the two it creates and drops on the local PostgreSQL, and the
reads of Airflow's metadata (runs, task instances and where they ran, parsed DAGs,
backfills) and of the warehouse (raw rows per source, the bridge per snapshot)."""

from __future__ import annotations

from dataclasses import dataclass

from umkm.warehouse.bootstrap import create_database_sql

from .common import PG_ADMIN


@dataclass
class Run:
    dag_id: str
    run_id: str
    state: str = "none"
    seconds: float | None = None


def pg(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def create_database(name: str) -> None:
    with pg(PG_ADMIN) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(create_database_sql(name))


def drop_database(name: str) -> None:
    with pg(PG_ADMIN) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def db_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def count_of(url: str, query: str, params: tuple) -> int:
    """The number a `select count(*) ...` answers."""
    with pg(url) as conn:
        row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


# -- Airflow's metadata --------------------------------------------------------------------------
def backfill_runs(meta: str, dag_ids: list[str], since: float) -> list[Run]:
    """The dag runs of the backfills of `dag_ids` created after `since` (Unix seconds): new
    runs, or existing ones a reprocessing backfill cleared (they keep their run ids)."""
    with pg(meta) as conn:
        rows = conn.execute(
            "select dr.dag_id, dr.run_id from backfill b "
            "join backfill_dag_run bdr on bdr.backfill_id = b.id "
            "join dag_run dr on dr.id = bdr.dag_run_id "
            "where b.dag_id = any(%s) and b.created_at >= to_timestamp(%s) "
            "order by dr.dag_id, dr.logical_date",
            (dag_ids, since),
        ).fetchall()
    return [Run(dag_id, run_id) for dag_id, run_id in rows]


def open_backfills(meta: str, dag_id: str) -> int:
    """Backfills of `dag_id` the scheduler has not marked complete yet."""
    return count_of(
        meta, "select count(*) from backfill where dag_id = %s and completed_at is null", (dag_id,)
    )


def refresh_runs(meta: str, runs: list[Run]) -> None:
    with pg(meta) as conn:
        rows = conn.execute(
            "select dag_id, run_id, state, extract(epoch from (end_date - start_date)) "
            "from dag_run where run_id = any(%s)",
            ([r.run_id for r in runs],),
        ).fetchall()
    found = {(d, r): (s, sec) for d, r, s, sec in rows}
    for run in runs:
        state, seconds = found.get((run.dag_id, run.run_id), ("none", None))
        run.state = state or "none"
        run.seconds = float(seconds) if seconds is not None else None


def task_rows(meta: str, run_ids: list[str]) -> list[tuple]:
    """(dag_id, task_id, map_index, try_number, state, hostname, current) for every try."""
    with pg(meta) as conn:
        current = conn.execute(
            "select dag_id, task_id, map_index, try_number, state, hostname, true "
            "from task_instance where run_id = any(%s)",
            (run_ids,),
        ).fetchall()
        history = conn.execute(
            "select dag_id, task_id, map_index, try_number, state, hostname, false "
            "from task_instance_history where run_id = any(%s)",
            (run_ids,),
        ).fetchall()
    return list(current) + list(history)


def running_on(meta: str, hostname: str, run_ids: list[str]) -> list[tuple]:
    with pg(meta) as conn:
        return conn.execute(
            "select dag_id, task_id, try_number from task_instance "
            "where run_id = any(%s) and state = 'running' and hostname = %s",
            (run_ids, hostname),
        ).fetchall()


def running_tasks(meta: str, run_ids: list[str]) -> int:
    return count_of(
        meta,
        "select count(*) from task_instance where run_id = any(%s) and state = 'running'",
        (run_ids,),
    )


def dags_parsed(meta: str) -> tuple[set[str], list[tuple[str, str]]]:
    with pg(meta) as conn:
        dags = {r[0] for r in conn.execute("select dag_id from serialized_dag").fetchall()}
        errors = conn.execute("select filename, stacktrace from import_error").fetchall()
    return dags, [(f, s) for f, s in errors]


# -- the warehouse -------------------------------------------------------------------------------
def raw_counts(warehouse: str, snapshot: str) -> dict[str, dict]:
    from psycopg import sql

    from umkm.sources import load_registry

    out: dict[str, dict] = {}
    with pg(warehouse) as conn:
        for sid in load_registry():
            total, distinct = conn.execute(
                sql.SQL(
                    "select count(*), count(distinct record_id) from {} where snapshot = %s"
                ).format(sql.Identifier("raw", sid)),
                (snapshot,),
            ).fetchone()
            status = conn.execute(
                "select status from audit.loads where source_id = %s and snapshot = %s "
                "order by load_id desc limit 1",
                (sid, snapshot),
            ).fetchone()
            out[sid] = {
                "rows": int(total),
                "distinct": int(distinct),
                "status": status[0] if status else "missing",
            }
    return out


def bridge_series(warehouse: str) -> list[tuple]:
    """(snapshot, Kominfo's total, active online UMKM, Kemenkop's count, residual) per
    snapshot of marts.mart_reconciliation_bridge."""
    with pg(warehouse) as conn:
        return conn.execute(
            "select snapshot, "
            "max(value) filter (where step_id = 'kominfo_published'), "
            "max(running_total) filter (where step_id = 'dormant_accounts'), "
            "max(value) filter (where step_id = 'kemenkopukm_registry'), "
            "max(value) filter (where step_id = 'kemenkopukm_registry') - "
            "sum(value) filter (where step_order < 10) "
            "from marts.mart_reconciliation_bridge group by snapshot order by snapshot"
        ).fetchall()

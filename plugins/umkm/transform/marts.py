"""Atomic marts: analysts see the old marts or the new ones, never a mix.

dbt replaces models one at a time, so a build in place shows a reader new facts beside old
counts for minutes, and a build killed half-way leaves that mix for good. The pipeline's
build instead:

1. takes the warehouse's *build lock* (a session advisory lock: one build per warehouse at
   a time, whoever starts it, `umkm run` or Airflow), then empties the schema `marts_build`;
2. runs `dbt build` with the var `marts_schema: marts_build` (macro generate_schema_name):
   staging and intermediate are rebuilt in place as before (analysts do not read them), the
   marts and their seeds land in `marts_build`, and every test runs there;
3. once dbt succeeded, *publishes*: one transaction locks every relation of both schemas,
   drops each mart that has a new version and moves the new one into `marts`
   (`alter table ... set schema`: no copy; grants, comments, indexes and statistics move
   with the table), then commits. A failed or killed build never reaches step 3: `marts`
   stays as the last publication left it, and the next build empties `marts_build` again.

Readers are never made to fail: the publication takes its locks without waiting (`nowait`)
and, when a reader holds one, gives way at once and tries again, for up to
`PATIENCE_SECONDS`. It must not wait while holding locks: a reader holding one mart and
waiting for another the publication holds would close a cycle, and PostgreSQL's deadlock
detector may cancel the reader (seen once views over marts lengthened the readers' lock
taking, and possible before). A view someone created on a mart is dropped with it (as dbt's own
table materialisation does), and the publication logs its name.

In Airflow, the Cosmos producer task holds the lock from its start (pre-execute hook) to
the publication (post-execute hook); the single-task fallback does the same in one call.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from psycopg import errors, sql

from umkm.transform.staging import restage_if_inputs_changed
from umkm.warehouse import connect

log = logging.getLogger("umkm.transform")

LIVE_SCHEMA = "marts"
BUILD_SCHEMA = "marts_build"
#: dbt vars of the pipeline's build: the marts go to BUILD_SCHEMA (generate_schema_name),
#: and the work tables are emptied once every node passed (macro empty_work_tables)
BUILD_VARIABLES = {"marts_schema": BUILD_SCHEMA, "empty_work_tables": True}
#: one build per warehouse at a time (session advisory lock key, text hashed by the server)
BUILD_LOCK_KEY = "umkm-warehouse-build"
#: how long the publication keeps trying while readers hold locks on the marts
PATIENCE_SECONDS = 600.0

_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}


class MartsNotBuilt(RuntimeError):
    """The build left nothing to publish; the marts stay as they were."""


class MartsBusy(RuntimeError):
    """Readers held locks on the marts for longer than the publication's patience."""


@dataclass
class Publication:
    relations: list[str]
    dropped_views: list[str] = field(default_factory=list)
    attempts: int = 1
    seconds: float = 0.0


def _relations(conn, schema: str) -> dict[str, str]:
    """name -> kind ('table', 'view', ...) of the relations dbt may create in `schema`."""
    rows = conn.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') order by c.relname",
        (schema,),
    ).fetchall()
    return {name: _KINDS[kind] for name, kind in rows}


def clear_build_schema(conn) -> int:
    """Drop what an earlier (failed or killed) build left in BUILD_SCHEMA; returns how many."""
    found = _relations(conn, BUILD_SCHEMA)
    for name, kind in found.items():
        conn.execute(
            sql.SQL("drop {} if exists {} cascade").format(
                sql.SQL(kind), sql.Identifier(BUILD_SCHEMA, name)
            )
        )
    return len(found)


def _dependent_views(conn, names: list[str]) -> list[str]:
    """Views outside the build that read one of the live marts about to be replaced."""
    rows = conn.execute(
        """
        select distinct vn.nspname || '.' || v.relname
        from pg_depend d
        join pg_rewrite r on r.oid = d.objid
        join pg_class v on v.oid = r.ev_class
        join pg_namespace vn on vn.oid = v.relnamespace
        join pg_class t on t.oid = d.refobjid
        join pg_namespace tn on tn.oid = t.relnamespace
        where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
          and tn.nspname = %s and t.relname = any(%s) and v.oid <> t.oid
          and not (vn.nspname = %s and v.relname = any(%s))
        order by 1
        """,
        (LIVE_SCHEMA, names, LIVE_SCHEMA, names),
    ).fetchall()
    return [r[0] for r in rows]


def _publish_once(conn, built: dict[str, str]) -> list[str]:
    with conn.transaction():
        live = _relations(conn, LIVE_SCHEMA)
        replaced = sorted(set(built) & set(live))
        targets = [sql.Identifier(BUILD_SCHEMA, n) for n in sorted(built)]
        targets += [sql.Identifier(LIVE_SCHEMA, n) for n in replaced]
        conn.execute(
            sql.SQL("lock table {} in access exclusive mode nowait").format(
                sql.SQL(", ").join(targets)
            )
        )
        dropped = _dependent_views(conn, replaced)
        # `if exists`: a mart that is a view over other marts went with their drop
        for name in replaced:
            conn.execute(
                sql.SQL("drop {} if exists {} cascade").format(
                    sql.SQL(live[name]), sql.Identifier(LIVE_SCHEMA, name)
                )
            )
        for name, kind in built.items():
            conn.execute(
                sql.SQL("alter {} {} set schema {}").format(
                    sql.SQL(kind), sql.Identifier(BUILD_SCHEMA, name), sql.Identifier(LIVE_SCHEMA)
                )
            )
    return dropped


def publish(conn, *, patience: float = PATIENCE_SECONDS) -> Publication:
    """Move every relation of BUILD_SCHEMA into LIVE_SCHEMA in one transaction.

    `conn` must be in autocommit mode (each attempt is its own transaction).
    """
    built = _relations(conn, BUILD_SCHEMA)
    if not built:
        raise MartsNotBuilt(
            f"the build left nothing in schema {BUILD_SCHEMA}: nothing published, the marts "
            "stay as they were; run the build again"
        )
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            dropped = _publish_once(conn, built)
            break
        except (errors.LockNotAvailable, errors.DeadlockDetected) as exc:
            waited = time.monotonic() - started
            if waited >= patience:
                raise MartsBusy(
                    f"could not publish the marts: readers held locks on {LIVE_SCHEMA} for "
                    f"{waited:.0f} s ({type(exc).__name__}); the new marts wait in "
                    f"{BUILD_SCHEMA}: end the long queries and run the build again"
                ) from None
            log.info("event=marts_publish_wait attempt=%s waited_s=%.1f", attempts, waited)
            time.sleep(min(0.05 * attempts, 2.0))
    result = Publication(sorted(built), dropped, attempts, round(time.monotonic() - started, 3))
    if dropped:
        log.warning(
            "event=marts_views_dropped views=%s (they read replaced marts; define them in dbt "
            "to keep them)",
            ",".join(dropped),
        )
    log.info(
        "event=marts_published relations=%s attempts=%s seconds=%s",
        len(result.relations),
        attempts,
        result.seconds,
    )
    return result


# -- the build lock -------------------------------------------------------------------------


def _acquire(url: str | None) -> psycopg.Connection:
    from umkm.warehouse.bootstrap import ensure_schema
    from umkm.warehouse.db import warehouse_url

    ensure_schema(url or warehouse_url())  # a deployment's new migrations, before the build
    conn = connect(url, autocommit=True)
    try:
        got = conn.execute(
            "select pg_try_advisory_lock(hashtextextended(%s, 0))", (BUILD_LOCK_KEY,)
        ).fetchone()[0]
        if not got:
            log.info("event=build_lock_wait (another build of this warehouse is running)")
            conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (BUILD_LOCK_KEY,))
        cleared = clear_build_schema(conn)
        if cleared:
            log.info("event=marts_build_cleared relations=%s", cleared)
        restage_if_inputs_changed(conn)  # staging is incremental by snapshot
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def build_lock(url: str | None = None) -> Iterator[psycopg.Connection]:
    """Hold the warehouse's build lock (and an empty BUILD_SCHEMA) for the block."""
    conn = _acquire(url)
    try:
        yield conn
    finally:
        conn.close()  # ends the session: the lock goes with it


def build_and_publish(variables: dict | None = None, url: str | None = None) -> Publication:
    """The whole atomic build in one call: lock, `dbt build` into BUILD_SCHEMA, publish."""
    from umkm.transform.dbt import run_dbt

    with build_lock(url) as conn:
        run_dbt(["build"], url=url, variables={**(variables or {}), **BUILD_VARIABLES})
        return publish(conn)


# -- the same, split over an Airflow task's hooks (the Cosmos producer) ---------------------

_held: psycopg.Connection | None = None


def hold_build_lock(context=None) -> None:
    """Pre-execute hook: take the build lock and empty BUILD_SCHEMA before dbt starts.

    The lock lives as long as this process's connection: until `publish_and_release`, or
    the end of the task's process when dbt fails (the marts then stay as they were)."""
    global _held
    release_build_lock()  # a failed build earlier in this process (dag.test) left it
    _held = _acquire(None)


def publish_and_release(context=None, result=None) -> None:
    """Post-execute hook: dbt succeeded; publish the marts, then release the lock."""
    global _held
    if _held is None:
        raise RuntimeError("publish_and_release without hold_build_lock")
    try:
        publish(_held)
    finally:
        release_build_lock()


def release_build_lock(context=None) -> None:
    global _held
    if _held is not None:
        with contextlib.suppress(Exception):
            _held.close()
        _held = None

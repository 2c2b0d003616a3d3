"""Atomic marts (issue 21, item 6): a reader sees the old marts or the new, never a mix,
during a build and after a build killed with SIGKILL.

On the hand-made world of tests/transform/world.py, a reader thread polls the marts
throughout each build with one statement that reads them all at once: a fingerprint of
every mart (row count and content digest) and the two consistency checks analysts rely
on (the bridge ends at the registry count of the fact table; each platform's business count
equals the fact table's). Between builds some raw records go away (every Shopee shop and
half the registry), so the old and new marts differ in both checks.

A control build in place (dbt as it is without the pipeline's shadow schema) shows the
poller does see mixed marts when they exist; the pipeline's build never shows one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
import yaml

from tests.transform.world import BUILD_VARIABLES, insert_world
from umkm import settings
from umkm.transform import marts
from umkm.transform.dbt import run_dbt
from umkm.warehouse.db import connect

pytestmark = pytest.mark.dbt

#: the marts the fingerprint covers: the fact table and what analysts read beside it
WATCHED = [
    "fct_umkm_entity_snapshots",
    "mart_reconciliation_bridge",
    "mart_umkm_by_platform",
    "map_record_to_entity",
    "dim_umkm_entity",
    "mart_online_umkm_population",
]

CONSISTENT = """
    (select bool_and(bridge.running_total = registry.c)
     from marts.mart_reconciliation_bridge as bridge
     join (select snapshot, sum(active_registry_records) as c
           from marts.fct_umkm_entity_snapshots group by snapshot) as registry
       on registry.snapshot = bridge.snapshot
     where bridge.step_order = 10)
    and
    (select coalesce(bool_and(coalesce(facts.n, 0) = platform.businesses), true)
     from marts.mart_umkm_by_platform as platform
     left join (select f.snapshot, p.platform, count(*) as n
                from marts.fct_umkm_entity_snapshots as f
                cross join lateral unnest(f.platforms) as p (platform)
                where f.is_on_marketplace group by 1, 2) as facts
       on facts.snapshot = platform.snapshot and facts.platform = platform.platform)
"""


def _poll_sql() -> str:
    digests = ", ".join(
        f"(select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '')"
        f" from marts.{name} as t)"
        for name in WATCHED
    )
    return f"select {CONSISTENT} as consistent, {digests}"


def _fingerprint(url: str) -> tuple:
    with connect(url) as conn:
        row = conn.execute(_poll_sql()).fetchone()
    assert row[0] is True, "the marts are not consistent outside any build"
    return tuple(row[1:])


class Reader(threading.Thread):
    """Polls the marts in one statement per observation until stopped."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.seen: list[tuple] = []
        self.inconsistent = 0
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        query = _poll_sql()
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._halt.is_set():
                try:
                    row = conn.execute(query).fetchone()
                except psycopg.Error as exc:  # recorded: a reader must not fail either
                    self.errors.append(str(exc).splitlines()[0])
                    time.sleep(0.05)
                    continue
                if not row[0]:
                    self.inconsistent += 1
                self.seen.append(tuple(row[1:]))
                time.sleep(0.02)

    def stop(self) -> Reader:
        self._halt.set()
        self.join(timeout=60)
        return self

    def mixed(self, *states: tuple) -> int:
        return sum(1 for seen in self.seen if seen not in states)

    def summary(self, label: str, *states: tuple) -> str:
        return (
            f"{label}: {len(self.seen)} observations, {self.mixed(*states)} mixed, "
            f"{self.inconsistent} inconsistent, {len(self.errors)} errors"
        )


def _remove_some_raw(url: str) -> None:
    with connect(url) as conn:
        conn.execute("delete from raw.shopee")
        conn.execute(
            "delete from raw.kemenkopukm where record_id in ("
            " select record_id from raw.kemenkopukm order by record_id"
            " limit (select count(*) / 2 from raw.kemenkopukm))"
        )


def _build_schema_relations(url: str) -> int:
    with connect(url) as conn:
        return conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind = 'r'",
            (marts.BUILD_SCHEMA,),
        ).fetchone()[0]


@pytest.fixture(scope="module")
def world(warehouse):
    with connect(warehouse) as conn:
        insert_world(conn)
    published = marts.build_and_publish(BUILD_VARIABLES, url=warehouse)
    return {"url": warehouse, "first": published, "before": _fingerprint(warehouse)}


def test_publication_moves_every_mart_with_its_grants(world):
    url = world["url"]
    assert set(WATCHED) <= set(world["first"].relations)
    assert _build_schema_relations(url) == 0  # everything moved, nothing copied
    with connect(url) as conn:
        for name in WATCHED:
            assert conn.execute(
                "select has_table_privilege('umkm_analyst', %s, 'select')", (f"marts.{name}",)
            ).fetchone()[0], name
        # analysts cannot see the schema the build writes into
        assert not conn.execute(
            "select has_schema_privilege('umkm_analyst', %s, 'usage')", (marts.BUILD_SCHEMA,)
        ).fetchone()[0]
        # staging and intermediate are unlogged (rebuilt whole each time); the marts are not
        persistence = dict(
            conn.execute(
                "select n.nspname, string_agg(distinct c.relpersistence::text, '') "
                "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where c.relkind = 'r' and n.nspname in ('staging', 'intermediate', 'marts') "
                "group by n.nspname"
            ).fetchall()
        )
        assert persistence == {"staging": "u", "intermediate": "u", "marts": "p"}
        # the docs dbt persisted move with the table
        assert conn.execute(
            "select obj_description('marts.mart_reconciliation_bridge'::regclass)"
        ).fetchone()[0]


def _work_tables() -> list[str]:
    """The models dbt_project.yml marks `work_table` (read from the file, not the macro)."""
    project = yaml.safe_load((settings.dbt_project_dir() / "dbt_project.yml").read_text())
    entities = project["models"]["umkm"]["intermediate"]["entities"]
    return sorted(name for name, conf in entities.items() if conf["+meta"]["work_table"])


def _row_counts(url: str, names: list[str]) -> dict[str, int]:
    with connect(url) as conn:
        return {
            name: conn.execute(f"select count(*) from intermediate.{name}").fetchone()[0]
            for name in names
        }


#: what `umkm eval` and the docs read after a build: the union of the staged records (a
#: view over staging) and the model's parameters
KEPT = ["int_records_unioned", "int_er_parameters"]


def test_a_pipeline_build_empties_its_work_tables_and_keeps_the_rest(world):
    """Issue 23, item 3: the pairs entity resolution compares, scores and draws, the
    records' matching attributes and their clusters are emptied once the pipeline's build
    has passed; the tables stay, the union of the staged records and the model's parameters
    keep their rows, and the marts were built from the full pairs."""
    url = world["url"]
    work = _work_tables()
    assert {"int_entity_pairs_scored", "int_entity_candidate_pairs"} <= set(work)
    assert {"int_entity_records", "int_entity_clusters"} <= set(work)
    assert not set(work) & set(KEPT)
    assert set(_row_counts(url, work).values()) == {0}
    assert all(n > 0 for n in _row_counts(url, KEPT).values())
    with connect(url) as conn:
        linked = conn.execute(
            "select count(*) - count(distinct entity_id) from marts.map_record_to_entity"
        ).fetchone()[0]
    assert linked > 0  # records were linked: the pairs were there while the build ran


def test_killed_build_leaves_the_old_marts_then_a_build_swaps_in_one_step(world, monkeypatch):
    url, before = world["url"], world["before"]
    _remove_some_raw(url)

    # 1. a build killed with SIGKILL once it has started writing marts
    reader = Reader(url)
    reader.start()
    code = (
        "import json, sys; from umkm.transform.marts import build_and_publish; "
        "build_and_publish(json.loads(sys.argv[1]), url=sys.argv[2])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(BUILD_VARIABLES), url],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while _build_schema_relations(url) < 3:
            assert proc.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build never reached the marts"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(1)
    reader.stop()
    print(reader.summary("killed build", before))
    assert _fingerprint(url) == before
    assert reader.seen and reader.mixed(before) == 0
    assert reader.inconsistent == 0 and not reader.errors

    # 2. the next build (the lock went with the killed process) publishes all at once; it
    # keeps its work tables (UMKM_KEEP_WORK_TABLES=1), to study the pairs
    reader = Reader(url)
    reader.start()
    monkeypatch.setenv("UMKM_KEEP_WORK_TABLES", "1")
    published = marts.build_and_publish(BUILD_VARIABLES, url=url)
    kept = _row_counts(url, _work_tables())
    assert kept["int_entity_pairs_scored"] > 0 and kept["int_entity_candidate_pairs"] > 0, kept
    time.sleep(0.5)
    reader.stop()
    after = _fingerprint(url)
    print(reader.summary("atomic build", before, after), f"attempts={published.attempts}")
    changed = [name for name, old, new in zip(WATCHED, before, after, strict=True) if old != new]
    assert {"fct_umkm_entity_snapshots", "mart_umkm_by_platform"} <= set(changed)
    assert published.attempts >= 1 and _build_schema_relations(url) == 0
    assert before in reader.seen and after in reader.seen
    assert reader.mixed(before, after) == 0
    assert reader.inconsistent == 0 and not reader.errors
    world["after"] = after


def test_control_build_in_place_is_seen_mixed(world):
    """The poller can fail: dbt's own build in place shows mixed, inconsistent marts."""
    url, after = world["url"], world["after"]
    with connect(url) as conn:  # more records go away, on the counted platforms too
        conn.execute("delete from raw.kemenkopukm")
        conn.execute("delete from raw.tokopedia where record_id like '%1%'")
    reader = Reader(url)
    reader.start()
    run_dbt(["build"], url=url, variables=BUILD_VARIABLES, capture=True)
    reader.stop()
    final = _fingerprint(url)
    print(reader.summary("build in place", after, final))
    assert final != after
    assert reader.mixed(after, final) > 0
    assert reader.inconsistent > 0
    # a plain dbt build (without the pipeline's var) keeps its work tables
    assert _row_counts(url, _work_tables())["int_entity_pairs_scored"] > 0

"""The versioned bootstrap against a real PostgreSQL."""

import re
import uuid

import psycopg
import pytest

from umkm.sources import load_registry
from umkm.warehouse import bootstrap as bootstrap_module
from umkm.warehouse.bootstrap import FunctionFile, Migration, bootstrap
from umkm.warehouse.db import connect, parse_url

SCHEMAS = {"raw", "audit", "quarantine", "staging", "intermediate", "marts"}


def test_schemas_extensions_and_tables(warehouse):
    with connect(warehouse) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
        assert schemas >= SCHEMAS
        extensions = {r[0] for r in conn.execute("select extname from pg_extension")}
        assert {"pg_trgm", "fuzzystrmatch"} <= extensions
        tables = {
            f"{s}.{t}"
            for s, t in conn.execute(
                "select table_schema, table_name from information_schema.tables"
            )
        }
    for sid in load_registry():
        assert f"raw.{sid}" in tables
        assert f"quarantine.{sid}" in tables
    assert {"audit.loads", "audit.checkpoints", "audit.schema_migrations"} <= tables


def test_warehouse_databases_sort_text_by_bytes(warehouse):
    """ensure_database creates warehouses under collation C (fast text sorts), keeping the
    server's character classes: lower() still folds non-ASCII letters."""
    with connect(warehouse) as conn:
        collate, ctype = conn.execute(
            "select datcollate, datctype from pg_database where datname = current_database()"
        ).fetchone()
        assert collate == "C"
        assert ctype == "C.UTF-8"  # the server's default, on both test servers
        assert conn.execute("select lower('\u00c9')").fetchone()[0] == "\u00e9"
        ordered = [
            r[0]
            for r in conn.execute(
                "select w from (values ('b'), ('B'), ('\u00e9'), ('a')) as v (w) order by w"
            )
        ]
    assert ordered == ["B", "a", "b", "\u00e9"]


def test_bootstrap_is_idempotent(warehouse):
    with connect(warehouse) as conn:
        assert bootstrap(conn) == []
        versions = [r[0] for r in conn.execute("select version from audit.schema_migrations")]
    assert versions == sorted(versions) and len(versions) == len(bootstrap_module.migrations())


def test_edited_migration_is_refused(warehouse, monkeypatch):
    real = bootstrap_module.migrations()
    edited = [Migration(real[0].version, real[0].name, real[0].sql + "\n-- edited"), *real[1:]]
    monkeypatch.setattr(bootstrap_module, "migrations", lambda: edited)
    with connect(warehouse) as conn, pytest.raises(RuntimeError, match="add a new migration"):
        bootstrap(conn)


def test_analyst_role_cannot_read_personal_data(warehouse):
    with connect(warehouse, autocommit=True) as conn:
        conn.execute("create table if not exists marts.t_probe (x int)")
        conn.execute("grant select on marts.t_probe to umkm_analyst")
        conn.execute("set role umkm_analyst")
        conn.execute("select * from marts.t_probe")
        for table in ("raw.tokopedia", "quarantine.tokopedia", "audit.loads"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from {table}")
        conn.execute("reset role")
        conn.execute("drop table marts.t_probe")


_DEFINES = re.compile(r"create or replace function public\.([a-z0-9_]+)\(")


def test_every_function_has_its_current_definition_in_one_file():
    """A function the migrations define has its current body in exactly one function file."""
    files_of: dict[str, set[str]] = {}
    for file in bootstrap_module.function_files():
        for name in _DEFINES.findall(file.sql):
            files_of.setdefault(name, set()).add(file.name)
    assert {n: f for n, f in files_of.items() if len(f) > 1} == {}
    in_migrations = {n for m in bootstrap_module.migrations() for n in _DEFINES.findall(m.sql)}
    assert in_migrations - set(files_of) == set()


def test_a_changed_function_file_is_applied_again(warehouse, monkeypatch):
    real = bootstrap_module.function_files()
    probe = "comment on function public.umkm_number_words(int) is 'probe';"
    changed = [
        FunctionFile(f.name, f.sql + "\n" + probe) if f.name.endswith("regions.sql") else f
        for f in real
    ]
    described = "select obj_description('public.umkm_number_words(int)'::regprocedure, 'pg_proc')"
    with connect(warehouse) as conn:
        original = conn.execute(described).fetchone()[0]
        monkeypatch.setattr(bootstrap_module, "function_files", lambda: changed)
        applied = bootstrap(conn)
        assert applied == [f"functions/{f.name}" for f in real if f.name.endswith("regions.sql")]
        assert conn.execute(described).fetchone()[0] == "probe"
        assert bootstrap(conn) == []  # unchanged since: not applied again
        monkeypatch.setattr(bootstrap_module, "function_files", lambda: real)
        assert bootstrap(conn) != []  # the file changed back
        assert conn.execute(described).fetchone()[0] == original


@pytest.fixture
def bare(admin_url, monkeypatch):
    """A database that was created but never bootstrapped, set as WAREHOUSE_URL."""
    from tests.conftest import drop_test_database
    from umkm.warehouse.bootstrap import ensure_database
    from umkm.warehouse.db import with_database

    name = f"t_bare_{uuid.uuid4().hex[:8]}"
    ensure_database(admin_url, name)
    url = with_database(admin_url, name)
    monkeypatch.setenv("WAREHOUSE_URL", url)
    yield url
    drop_test_database(admin_url, url)


def test_a_command_on_a_never_bootstrapped_warehouse_brings_it_up_to_date(bare, capsys):
    """`umkm quarantine list` on a configured warehouse nobody bootstrapped: the schema is
    applied first (no `relation "audit.checkpoints" does not exist`), then the command."""
    from umkm.cli import main
    from umkm.warehouse.bootstrap import pending

    with connect(bare) as conn:
        assert any(p.startswith("V001__") for p in pending(conn))
    assert main(["quarantine", "list"]) == 0
    out = capsys.readouterr()
    assert "warehouse brought up to date: V001__" in out.err
    assert "quarantine empty" in out.out
    with connect(bare) as conn:
        assert pending(conn) == []
    assert main(["quarantine", "list"]) == 0
    assert "brought up to date" not in capsys.readouterr().err  # nothing pending: one read


def test_warehouse_start_with_warehouse_url_bootstraps_it(bare, capsys):
    from umkm.cli import main
    from umkm.warehouse.bootstrap import pending

    assert main(["warehouse", "start"]) == 0
    assert "nothing to start, bootstrapping it" in capsys.readouterr().out
    with connect(bare) as conn:
        assert pending(conn) == []


def test_a_role_that_may_not_bootstrap_is_told_what_to_run(bare, capsys, monkeypatch):
    from umkm.cli import main

    role = f"t_reader_{uuid.uuid4().hex[:6]}"
    with connect(bare, autocommit=True) as conn:
        conn.execute(f"create role {role} login password 'reader-test-only'")
        conn.execute(f"revoke create on database {bare.rsplit('/', 1)[1]} from public")
        conn.execute("revoke create on schema public from public")
    try:
        p = parse_url(bare)  # the embedded server takes passwords only (scram-sha-256)
        reader = f"postgresql://{role}:reader-test-only@{p.host}:{p.port}/{p.dbname}"
        monkeypatch.setenv("WAREHOUSE_URL", reader)
        assert main(["quarantine", "list"]) == 3
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"role {role} may not bring it there" in err
        assert "umkm warehouse bootstrap" in err and "V001__" in err
    finally:
        with connect(bare, autocommit=True) as conn:
            conn.execute(f"drop owned by {role}")
            conn.execute(f"drop role {role}")


def test_the_quarantine_is_keyed_by_delivered_item_and_old_duplicates_go(warehouse):
    """One quarantine row per (batch, feed position): a warehouse from before the key keeps
    the first copy of each item when the bootstrap adds it; a second insert is refused."""
    insert = (
        "insert into quarantine.shopee (snapshot, batch_id, record_id, feed_position, "
        "expectation, reason) values ('2017-11-15', 'b1', 'r1', 7, %s, 'x')"
    )
    with connect(warehouse) as conn:
        conn.execute("drop index quarantine.shopee_delivered_item")
        conn.execute(insert, ("first",))
        conn.execute(insert, ("second",))
    with connect(warehouse) as conn:
        bootstrap(conn)
        kept = conn.execute(
            "select expectation from quarantine.shopee where batch_id = 'b1'"
        ).fetchall()
        assert kept == [("first",)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, ("third",))


def test_a_raw_table_from_before_history_stored_once_moves_in_exactly(warehouse):
    """A warehouse whose raw.<source_id> is still a table (one full copy of every record per
    snapshot): the bootstrap moves its rows into versions and deliveries, once, and the view
    then reads every row back exactly; records differing only in their activity field share
    a version."""
    record = {"shop_name": "Toko A", "city": "Kota Bandung", "last_active": "2017-10-01"}
    rows = [
        ("2017-11-15", "1", record),
        ("2017-11-15", "2", {**record, "shop_name": "Toko B"}),
        ("2017-12-15", "1", {**record, "last_active": "2017-12-01"}),
        ("2017-12-15", "2", {**record, "shop_name": "Toko B", "last_active": None}),
        ("2017-12-15", "3", ["not", "an", "object"]),
    ]
    with connect(warehouse) as conn:
        conn.execute("drop view raw.shopee")
        conn.execute("truncate raw.shopee__versions, raw.shopee__deliveries")
        conn.execute(
            "create table raw.shopee (snapshot date not null, record_id text not null, "
            "record jsonb not null, batch_id text not null, feed_position bigint not null, "
            "loaded_at timestamptz not null, primary key (snapshot, record_id))"
        )
        for position, (snapshot, rid, rec) in enumerate(rows):
            conn.execute(
                "insert into raw.shopee values (%s, %s, %s, 'b1', %s, now())",
                (snapshot, rid, psycopg.types.json.Jsonb(rec), position),
            )
        before = conn.execute(
            "select snapshot, record_id, record, batch_id, feed_position from raw.shopee "
            "order by 1, 2"
        ).fetchall()
        assert "raw.shopee" in bootstrap_module.pending(conn)
    with connect(warehouse) as conn:
        bootstrap(conn)
        kind = conn.execute("select relkind from pg_class where oid = 'raw.shopee'::regclass")
        assert kind.fetchone()[0] == "v"
        after = conn.execute(
            "select snapshot, record_id, record, batch_id, feed_position from raw.shopee "
            "order by 1, 2"
        ).fetchall()
        versions = conn.execute("select count(*) from raw.shopee__versions").fetchone()[0]
        assert bootstrap_module.pending(conn) == []
        conn.execute("truncate raw.shopee__versions, raw.shopee__deliveries")
    assert after == before
    assert versions == 3  # Toko A, Toko B (its JSON null kept with the delivery), the array


def test_deliveries_from_before_batch_keys_move_to_them_exactly(warehouse):
    """A warehouse from before V060 kept each delivery row's batch id as text: the bootstrap
    keys the batches in raw.delivery_batches, rewrites the column as the key, and the view
    reads every row back as before, batch id included."""
    rows = [
        ("2017-11-15", "1", {"shop_name": "Toko A"}, "shopee-20171115-a", 0),
        ("2017-11-15", "2", {"shop_name": "Toko B"}, "shopee-20171115-a", 1),
        ("2017-12-15", "1", {"shop_name": "Toko A"}, "shopee-20171215-b", 0),
    ]
    with connect(warehouse) as conn:
        conn.execute("drop view raw.shopee")
        conn.execute("truncate raw.shopee__versions")
        conn.execute("drop table raw.shopee__deliveries")
        conn.execute(
            "create table raw.shopee__deliveries (snapshot date not null, record_id text not "
            "null, version_id uuid not null, volatile jsonb, batch_id text not null, "
            "feed_position bigint not null, loaded_at timestamptz not null, "
            "primary key (snapshot, record_id))"
        )
        for snapshot, rid, record, batch, position in rows:
            version = psycopg.types.json.Jsonb(record)
            conn.execute(
                "insert into raw.shopee__versions values (md5(%s::jsonb::text)::uuid, %s) "
                "on conflict do nothing",
                (version, version),
            )
            conn.execute(
                "insert into raw.shopee__deliveries values (%s, %s, md5(%s::jsonb::text)::uuid, "
                "null, %s, %s, now())",
                (snapshot, rid, version, batch, position),
            )
        assert "raw.shopee" in bootstrap_module.pending(conn)
    with connect(warehouse) as conn:
        bootstrap(conn)
        after = conn.execute(
            "select snapshot::text, record_id, record, batch_id, feed_position from raw.shopee "
            "order by 1, 2"
        ).fetchall()
        key_type = conn.execute(
            "select data_type from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'shopee__deliveries' and column_name = 'batch_key'"
        ).fetchone()
        keyed = conn.execute(
            "select count(*) from raw.delivery_batches where batch_id like 'shopee-2017%%'"
        ).fetchone()[0]
        assert bootstrap_module.pending(conn) == []
        conn.execute("truncate raw.shopee__versions, raw.shopee__deliveries")
    assert after == [tuple(row) for row in rows]
    assert key_type == ("integer",)
    assert keyed == 2

"""The versioned warehouse bootstrap.

Migrations in `migrations/V###__name.sql` run once each, in order, recorded in
`audit.schema_migrations` with their checksum (an edited migration that already ran is an
error: write a new one). Tables, data and grants change only through migrations.

SQL functions are repeatable definitions: `functions/*.sql` holds the current definition of
every function the pipeline calls, each in exactly one file. After the migrations, a file
whose checksum differs from the one recorded in `audit.schema_functions` is applied again
(files in name order), so changing a function is an edit of its one file, and its history is
git's. The migrations that first defined a function still run on a new warehouse (before the
files), so a migration sees the functions as the migrations before it left them.

Then the per-source tables are created from the source registry (`raw.<source_id>`, a view
over the two tables of raw_history, and `quarantine.<source_id>`), so adding a source needs no
hand-written DDL; a warehouse from before raw_history has its raw rows moved in, once. Safe to
run concurrently (advisory lock) and repeatedly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from umkm.sources import load_registry
from umkm.warehouse import raw_history

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
FUNCTIONS_DIR = Path(__file__).with_name("functions")
_NAME = re.compile(r"^V(\d{3})__([a-z0-9_]+)\.sql$")
_LOCK_KEY = 80_000_000_17  # any constant: serialises concurrent bootstraps


def _checksum(sql_text: str) -> str:
    """What the bootstrap records of a migration or a function file, to see it changed."""
    return hashlib.sha256(sql_text.encode()).hexdigest()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return _checksum(self.sql)


def migrations() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name must look like V001__name.sql: {path.name}")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {MIGRATIONS_DIR}")
    return found


@dataclass(frozen=True)
class FunctionFile:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return _checksum(self.sql)


def function_files() -> list[FunctionFile]:
    return [
        FunctionFile(path.name, path.read_text()) for path in sorted(FUNCTIONS_DIR.glob("*.sql"))
    ]


QUARANTINE_TABLE_DDL = """
create table if not exists quarantine.{sid} (
    quarantine_id bigserial primary key,
    snapshot date not null,
    batch_id text not null,
    record_id text,
    feed_position bigint,
    record jsonb,
    raw_text text,
    expectation text not null,
    reason text not null,
    quarantined_at timestamptz not null default now(),
    replayed_at timestamptz
);
create index if not exists {sid}_snapshot_batch on quarantine.{sid} (snapshot, batch_id);
-- one quarantine row per delivered item (batch, position in the feed): a second validation
-- of a batch adds nothing. A warehouse from before the key keeps its first copy of each.
do $keyed$
begin
    if to_regclass('quarantine.{sid}_delivered_item') is null then
        delete from quarantine.{sid} as q using quarantine.{sid} as d
        where q.batch_id = d.batch_id and q.feed_position = d.feed_position
            and q.quarantine_id > d.quarantine_id;
        create unique index {sid}_delivered_item on quarantine.{sid} (batch_id, feed_position);
    end if;
end
$keyed$;
"""


def source_tables_sql() -> str:
    """Per source: raw (raw_history: two tables and the view over them) and quarantine."""
    return "\n".join(
        raw_history.tables_sql(source) + QUARANTINE_TABLE_DDL.format(sid=sid)
        for sid, source in load_registry().items()
    )


def bootstrap(conn) -> list[str]:
    """Bring the warehouse up to date. Returns the names of migrations applied now."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("create schema if not exists audit")
        conn.execute(
            """
            create table if not exists audit.schema_migrations (
                version integer primary key,
                name text not null,
                checksum text not null,
                applied_at timestamptz not null default now()
            )
            """
        )
        done = {
            row[0]: row[1]
            for row in conn.execute("select version, checksum from audit.schema_migrations")
        }
        for migration in migrations():
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise RuntimeError(
                        f"migration V{migration.version:03d}__{migration.name} changed after it "
                        "was applied; add a new migration instead of editing an old one"
                    )
                continue
            conn.execute(migration.sql)
            conn.execute(
                "insert into audit.schema_migrations (version, name, checksum) values (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(f"V{migration.version:03d}__{migration.name}")
        applied_now += _apply_function_files(conn)
        conn.execute(source_tables_sql())
    return applied_now


class SchemaNotCurrent(RuntimeError):
    """The warehouse needs migrations that the connected role may not apply: the message
    names what is pending and the command its owner runs."""


def pending(conn) -> list[str]:
    """What `bootstrap` would apply now, read without writing anything: migrations not
    recorded, function files new or changed, the registry's per-source tables missing."""
    kinds = dict(
        conn.execute(
            "select table_schema || '.' || table_name, table_type from information_schema.tables "
            "where table_schema in ('audit', 'raw', 'quarantine')"
        ).fetchall()
    )
    names = set(kinds)
    done = (
        dict(conn.execute("select version, checksum from audit.schema_migrations").fetchall())
        if "audit.schema_migrations" in names
        else {}
    )
    out = [f"V{m.version:03d}__{m.name}" for m in migrations() if m.version not in done]
    functions = (
        dict(conn.execute("select name, checksum from audit.schema_functions").fetchall())
        if "audit.schema_functions" in names
        else {}
    )
    out += [f"functions/{f.name}" for f in function_files() if functions.get(f.name) != f.checksum]
    indexes = {
        row[0]
        for row in conn.execute("select indexname from pg_indexes where schemaname = 'quarantine'")
    }
    for sid in load_registry():
        stored = [
            f"raw.{raw_history.versions_table(sid)}",
            f"raw.{raw_history.deliveries_table(sid)}",
        ]
        out += [t for t in (*stored, f"quarantine.{sid}") if t not in names]
        if kinds.get(f"raw.{sid}") != "VIEW":
            out.append(f"raw.{sid}")
        if f"{sid}_delivered_item" not in indexes:
            out.append(f"quarantine.{sid}_delivered_item")
    return out


def ensure_schema(url: str) -> list[str]:
    """Bring the warehouse at `url` up to date before a command uses it: nothing to do is
    one read; else `bootstrap` under its lock. Returns what was applied. A role that may not
    apply it gets SchemaNotCurrent naming what is pending and the command to run."""
    import psycopg

    from umkm.warehouse.db import connect, redact

    with connect(url) as conn:
        todo = pending(conn)
        if not todo:
            return []
        try:
            return bootstrap(conn)
        except psycopg.errors.InsufficientPrivilege:
            user = conn.execute("select current_user").fetchone()[0]
    shown = ", ".join(todo[:3]) + (f" and {len(todo) - 3} more" if len(todo) > 3 else "")
    raise SchemaNotCurrent(
        f"the warehouse {redact(url)} is not up to date ({shown}) and role {user} may not "
        f"bring it there: its owner runs `WAREHOUSE_URL=<owner's URL> umkm warehouse bootstrap`"
    )


#: The exit code of a command whose warehouse is not ready (an environment problem).
EXIT_ENVIRONMENT = 3


def schema_exit_code(url: str) -> int:
    """For a command about to use the warehouse at `url`: 0 once its schema is up to date
    (applied now if need be, with a line saying what), else EXIT_ENVIRONMENT after one line
    on stderr naming what to run."""
    import sys

    try:
        applied = ensure_schema(url)
    except SchemaNotCurrent as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    if applied:
        print("warehouse brought up to date: " + ", ".join(applied), file=sys.stderr)
    return 0


def _apply_function_files(conn) -> list[str]:
    """Apply the function files that are new or changed since they were last applied."""
    conn.execute(
        """
        create table if not exists audit.schema_functions (
            name text primary key,
            checksum text not null,
            applied_at timestamptz not null default now()
        )
        """
    )
    done = dict(conn.execute("select name, checksum from audit.schema_functions").fetchall())
    applied: list[str] = []
    for file in function_files():
        if done.get(file.name) == file.checksum:
            continue
        conn.execute(file.sql)
        conn.execute(
            "insert into audit.schema_functions (name, checksum) values (%s, %s) "
            "on conflict (name) do update set checksum = excluded.checksum, applied_at = now()",
            (file.name, file.checksum),
        )
        applied.append(f"functions/{file.name}")
    return applied


def create_database_sql(dbname: str) -> str:
    """`create database` for a warehouse: byte-order text sorting (collation C).

    The server's default (here C.UTF-8 under libc) compares text with strcoll and without
    abbreviated keys: sorting the 9M entity ids at scale 1.0 took 21.4 s against 9.9 s under
    C. For UTF-8 both orders are code-point order, so no result changes; only the collation
    is set, the character classes (lower(), regular expressions) stay the server's.
    """
    return f"create database \"{dbname}\" template template0 lc_collate 'C'"


def ensure_database(admin_url: str, dbname: str) -> None:
    """Create database `dbname` on the server of `admin_url` if it does not exist."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(create_database_sql(dbname))


# --- analyst logins ----------------------------------------------------------------------

#: The group role of the people who read the marts (migration V001): logins are its members.
ANALYST_GROUP = "umkm_analyst"
DEFAULT_ANALYST_USER = "analyst"
MIN_PASSWORD_LENGTH = 8
_LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ANALYST_LOCK_KEY = _LOCK_KEY + 1


class AnalystLoginError(RuntimeError):
    """An analyst login could not be made or updated: the message names the fix (an
    environment problem for the command line: exit code 3)."""


def check_analyst_name(name: str) -> None:
    if not _LOGIN_NAME.match(name) or name.startswith("pg_"):
        raise AnalystLoginError(
            f"{name!r} is not a login name this command makes: lower-case letters, digits and "
            "underscores, starting with a letter or an underscore (not pg_), e.g. siti"
        )


def check_analyst_password(password: str, origin: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AnalystLoginError(
            f"the password from {origin} is shorter than {MIN_PASSWORD_LENGTH} characters: "
            "choose a longer one"
        )


def analyst_from_env() -> tuple[str, str] | None:
    """(login, password) from `UMKM_ANALYST_USER` (default `analyst`) and
    `UMKM_ANALYST_PASSWORD`; None when no password is set (empty is unset)."""
    import os

    password = os.environ.get("UMKM_ANALYST_PASSWORD", "")
    if not password:
        return None
    name = os.environ.get("UMKM_ANALYST_USER", "").strip() or DEFAULT_ANALYST_USER
    check_analyst_name(name)
    check_analyst_password(password, "UMKM_ANALYST_PASSWORD")
    return name, password


def ensure_analyst(conn, name: str, password: str) -> str:
    """Make `name` a login in the group umkm_analyst with `password`; returns what changed
    ("created", "password updated", "unchanged", ...). Idempotent. The server receives the
    password's SCRAM verifier (computed by libpq), never the password, so no server log
    can show it. A role that exists with other rights (superuser, a pipeline group, a
    member of another group) is refused, not turned into an analyst."""
    from psycopg import sql

    from umkm.warehouse.embedded import scram_matches

    check_analyst_name(name)
    role = sql.Identifier(name)
    group = sql.Identifier(ANALYST_GROUP)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_ANALYST_LOCK_KEY,))
        me, superuser = conn.execute(
            "select current_user, rolsuper from pg_roles where rolname = current_user"
        ).fetchone()
        if not conn.execute(
            "select 1 from pg_roles where rolname = %s", (ANALYST_GROUP,)
        ).fetchone():
            raise AnalystLoginError(
                f"the group role {ANALYST_GROUP} does not exist on this server: run "
                "`umkm warehouse bootstrap` first"
            )
        verifier = conn.pgconn.encrypt_password(
            password.encode(), name.encode(), b"scram-sha-256"
        ).decode()
        existing = conn.execute(
            "select rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls, "
            "rolcanlogin from pg_roles where rolname = %s",
            (name,),
        ).fetchone()
        if existing is None:
            conn.execute(
                sql.SQL("create role {} login password {} in role {}").format(
                    role, sql.Literal(verifier), group
                )
            )
            return f"created (member of {ANALYST_GROUP})"
        privileged, can_login = existing
        others = [
            row[0]
            for row in conn.execute(
                "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid "
                "join pg_roles u on u.oid = m.member where u.rolname = %s and g.rolname <> %s",
                (name, ANALYST_GROUP),
            )
        ]
        if privileged or not can_login or others or name == me:
            if privileged:
                what = "has rights beyond an analyst's (superuser, createrole, ...)"
            elif name == me:
                what = "is the role this command connects as"
            elif not can_login:
                what = "cannot log in (a group role)"
            else:
                what = "is also a member of " + ", ".join(sorted(others))
            raise AnalystLoginError(
                f"role {name} exists and {what}: choose another name for an analyst login"
            )
        done: list[str] = []
        member = conn.execute(
            "select pg_has_role(%s, %s, 'member')", (name, ANALYST_GROUP)
        ).fetchone()[0]
        if not member:
            conn.execute(sql.SQL("grant {} to {}").format(group, role))
            done.append(f"added to {ANALYST_GROUP}")
        same = None
        if superuser:  # only a superuser reads pg_authid: others set the password every time
            stored = conn.execute(
                "select rolpassword from pg_authid where rolname = %s", (name,)
            ).fetchone()[0]
            same = scram_matches(stored, password)
        if not same:
            conn.execute(
                sql.SQL("alter role {} login password {}").format(role, sql.Literal(verifier))
            )
            done.append("password set" if same is None else "password updated")
        return ", ".join(done) or "unchanged"


def ensure_analyst_at(url: str, name: str, password: str) -> str:
    """`ensure_analyst` on the warehouse at `url`; a role that may not make logins gets
    AnalystLoginError naming whose URL to use."""
    import psycopg

    from umkm.warehouse.db import connect, redact

    with connect(url) as conn:
        try:
            return ensure_analyst(conn, name, password)
        except psycopg.errors.InsufficientPrivilege as exc:
            user = conn.execute("select current_user").fetchone()[0]
            raise AnalystLoginError(
                f"role {user} may not create logins in {ANALYST_GROUP} on {redact(url)} "
                f"({str(exc).strip().splitlines()[0]}): run it with WAREHOUSE_URL naming a role "
                f"with CREATEROLE and admin option on {ANALYST_GROUP} (the warehouse's owner)"
            ) from exc


def provision_analyst_from_env(url: str) -> str | None:
    """When `UMKM_ANALYST_PASSWORD` is set: the analyst login of the environment on the
    warehouse at `url` (`ensure_analyst`); a line saying what was done, never the password."""
    wanted = analyst_from_env()
    if wanted is None:
        return None
    name, password = wanted
    return f"analyst login {name}: {ensure_analyst_at(url, name, password)}"

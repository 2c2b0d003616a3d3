"""Staging by snapshot: when to stage everything again.

The staging models of the marketplaces and the government lists are incremental (dbt macro
`staging_by_snapshot`): a build stages only the snapshots whose published rows changed.
Rows staged earlier stay as they are, so they must have been computed with what this build
would compute them with. `inputs_digest` names that: the dbt project and the warehouse
functions staging calls with the pseudonymisation key (`build_state.code_digest`), and the
content of the latest BPS reference snapshot (the region lookup resolves cities with it; a
yearly reload of the same codes and names changes nothing). The pipeline's build
calls `restage_if_inputs_changed` under the build lock, before dbt: when the digest differs
from the one recorded in `audit.staging_inputs` (or none is), it drops every table of the
schema `staging`, and dbt builds them whole. The digest is recorded at once: a table dbt
builds afterwards is built with these inputs, one it does not reach is missing and built
whole by the next build.
"""

from __future__ import annotations

import hashlib
import logging

from psycopg import sql

from umkm.sources import load_registry

log = logging.getLogger("umkm.transform")

SCHEMA = "staging"


def inputs_digest(conn) -> str:
    from umkm.transform.build_state import code_digest

    digest = hashlib.sha256(code_digest().encode())
    for sid in sorted(sid for sid, s in load_registry().items() if s.kind == "reference"):
        # the content of its latest snapshot (what the region lookup is built from): a
        # yearly reload that delivers the same codes and names changes nothing
        content = conn.execute(
            sql.SQL(
                "select md5(string_agg(record_id || ' ' || record::text, E'\\n' "
                "order by record_id)) from {} where snapshot = (select max(snapshot) from {})"
            ).format(sql.Identifier("raw", sid), sql.Identifier("raw", sid))
        ).fetchone()[0]
        digest.update(f"{sid}|{content}\n".encode())
    return digest.hexdigest()


def restage_if_inputs_changed(conn) -> list[str]:
    """Drop the staging tables when the inputs changed since they were staged; returns the
    tables dropped. `conn` in autocommit mode, holding the build lock."""
    current = inputs_digest(conn)
    row = conn.execute("select digest from audit.staging_inputs").fetchone()
    if row is not None and row[0] == current:
        return []
    with conn.transaction():
        tables = [
            name
            for (name,) in conn.execute(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relkind in ('r', 'p') order by 1",
                (SCHEMA,),
            )
        ]
        for name in tables:
            conn.execute(sql.SQL("drop table {} cascade").format(sql.Identifier(SCHEMA, name)))
        conn.execute(
            "insert into audit.staging_inputs (digest) values (%s) on conflict (only_row) do "
            "update set digest = excluded.digest, recorded_at = now()",
            (current,),
        )
    log.info(
        "event=restage_all reason=%r tables_dropped=%d",
        "first build" if row is None else "project, functions, key or reference changed",
        len(tables),
    )
    return tables

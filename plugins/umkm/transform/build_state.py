"""Skip a warehouse build that would build the same thing again.

A build's *state* is a digest of everything its result depends on:

* the batch whose rows are published, for every source and snapshot (`audit.loads`: the
  latest successful load; a rerun that delivered the same records keeps the batch it
  matched, `unchanged_of`, so it does not change the state);
* the quarantine's newest row and latest replay per source (validating published rows
  moves rows out of raw; a replay puts rows back);
* the data stewards' decisions (`stewardship.er_labels`: each pair and its label; a note
  or who decided does not change a build), which the next build follows over the model;
* the dbt project's files and the warehouse functions staging calls (migrations), and a
  keyed digest of the pseudonymisation key (a new key changes every hash);
* the snapshot the build is for (the `snapshot` var).

`begin_build` compares the state with the latest successful build's: equal, the build is
recorded as `skipped` and not run (the marts already are what it would produce);
otherwise it is recorded as `running` and `finish_build` marks it `success` after dbt.
`force` builds anyway. A failed build stays `running` and never matches.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from psycopg import sql

from umkm import settings
from umkm.loading import audit
from umkm.sources import load_registry
from umkm.warehouse import connect

log = logging.getLogger("umkm.transform")

#: dbt's own output folders, not inputs of a build
_NOT_INPUTS = {"target", "logs", "dbt_packages", ".user.yml"}


@dataclass
class BuildDecision:
    snapshot: str
    needed: bool
    state: str
    reason: str
    build_id: int


def _files_digest(*roots: Path) -> str:
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            parts = set(path.relative_to(root).parts)
            if not path.is_file() or parts & _NOT_INPUTS or "__pycache__" in parts:
                continue
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_digest() -> str:
    """The dbt project and the warehouse migrations and functions staging relies on."""
    from umkm.transform.dbt import pii_key
    from umkm.warehouse.bootstrap import FUNCTIONS_DIR, MIGRATIONS_DIR

    key = pii_key()
    keyed = hmac.new(key.encode(), b"umkm-build-state", hashlib.sha256).hexdigest()[:16]
    return f"{_files_digest(settings.dbt_project_dir(), MIGRATIONS_DIR, FUNCTIONS_DIR)}:{keyed}"


def raw_state(conn) -> str:
    """Digest of what raw holds: published batch per source and snapshot, quarantine moves."""
    digest = hashlib.sha256()
    for sid, snap, batch in audit.published_batches(conn):
        digest.update(f"{sid}|{snap}|{batch}\n".encode())
    for sid in sorted(load_registry()):
        newest, replayed = conn.execute(
            sql.SQL("select max(quarantine_id), max(replayed_at) from {}").format(
                sql.Identifier("quarantine", sid)
            )
        ).fetchone()
        digest.update(f"q|{sid}|{newest}|{replayed}\n".encode())
    return digest.hexdigest()


def labels_state(conn) -> str:
    """Digest of the stewards' decisions: every labelled pair with its label, in key order
    (a few thousand rows at most; the build reads them all anyway)."""
    row = conn.execute(
        "select md5(coalesce(string_agg(concat_ws(chr(31), source_id_a, record_id_a, "
        "source_id_b, record_id_b, label), chr(30) order by source_id_a, record_id_a, "
        "source_id_b, record_id_b), '')) from stewardship.er_labels"
    ).fetchone()
    return str(row[0])


def current_state(conn, snapshot: date) -> str:
    parts = (str(snapshot), raw_state(conn), labels_state(conn), code_digest())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def begin_build(snapshot: date, *, force: bool = False, url: str | None = None) -> BuildDecision:
    """Decide whether the build for `snapshot` must run, and record the decision."""
    with connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended('umkm-build-state', 0))")
        state = current_state(conn, snapshot)
        last = audit.last_successful_build(conn)
        if force:
            needed, reason = True, "forced"
        elif last is None:
            needed, reason = True, "no earlier build"
        elif audit.unlogged_tables_reset(conn):
            needed = True
            reason = "a crash emptied the unlogged staging and intermediate since the last build"
        elif (str(last[0]), last[1]) == (str(snapshot), state):
            needed = False
            reason = "raw data, stewards' decisions and dbt project unchanged since the last build"
        elif str(last[0]) != str(snapshot):
            needed, reason = True, f"the last build was for snapshot {last[0]}"
        else:
            needed = True
            reason = "raw data, stewards' decisions or dbt project changed since the last build"
        build_id = audit.record_build(
            conn, snapshot, state, "running" if needed else "skipped", reason
        )
    log.info(
        "event=build_decision snapshot=%s needed=%s reason=%r build_id=%s",
        snapshot,
        needed,
        reason,
        build_id,
    )
    return BuildDecision(str(snapshot), needed, state, reason, int(build_id))


def finish_build(build_id: int, *, url: str | None = None) -> None:
    """Mark a build `success` once dbt built everything (its state was taken at the start)."""
    with connect(url, autocommit=True) as conn:
        audit.mark_build_success(conn, build_id)

"""The data stewards' review of entity resolution: the next pairs to decide, and decisions.

The queue is `stewardship.er_review_queue`, which every build makes from the pairs the model
is unsure of; a decision goes to `stewardship.er_labels`, which the next build follows over
the model (docs/ENTITY_RESOLUTION.md, "Stewards"). A pair is named by its two records,
`source:record_id` each; a record's fields as delivered come from raw, where the steward
role may read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from umkm.sources import get_source, load_registry

LABELS = ("match", "non_match")

#: The fields a steward is shown of a record, by canonical name (registry.yaml `fields`).
SHOWN_FIELDS = (
    "shop_name",
    "owner_name",
    "phone",
    "email",
    "street",
    "city",
    "province",
    "regency_code",
    "platforms",
    "marketplace",
)


class ReviewError(ValueError):
    """An expected problem with a review command; the message says what to do."""


@dataclass(frozen=True)
class RecordRef:
    source_id: str
    record_id: str

    @classmethod
    def parse(cls, text: str) -> RecordRef:
        source_id, sep, record_id = text.partition(":")
        if not sep or not source_id or not record_id:
            raise ReviewError(
                f"{text!r}: name a record as SOURCE:RECORD_ID, e.g. tokopedia:10000001"
            )
        if source_id not in load_registry():
            raise ReviewError(f"{text!r}: {source_id!r} is not a source of the registry")
        return cls(source_id, record_id)

    def __str__(self) -> str:
        return f"{self.source_id}:{self.record_id}"


def ordered(a: RecordRef, b: RecordRef) -> tuple[RecordRef, RecordRef]:
    """The pair in the order stewardship.er_labels keeps it (source, then record id)."""
    if (a.source_id, a.record_id) == (b.source_id, b.record_id):
        raise ReviewError(f"{a} twice: a pair is two different records")
    return (a, b) if (a.source_id, a.record_id) < (b.source_id, b.record_id) else (b, a)


def _field_path(source_id: str, canonical: str) -> list[str] | None:
    """The source's path of a canonical field (`address.city` -> [address, city]; a dot
    followed by a space is part of a name: kemenperin's `No. Telp`)."""
    path = get_source(source_id).fields.get(canonical)
    return re.split(r"\.(?! )", path) if path else None


def record_fields(conn, ref: RecordRef) -> dict[str, Any] | None:
    """The record's shown fields as delivered in its latest snapshot (None: not in raw)."""
    row = conn.execute(
        sql.SQL(
            "select snapshot, record from {} where record_id = %s order by snapshot desc limit 1"
        ).format(sql.Identifier("raw", ref.source_id)),
        (ref.record_id,),
    ).fetchone()
    if row is None:
        return None
    snapshot, record = row
    shown: dict[str, Any] = {"snapshot": snapshot.isoformat()}
    for canonical in SHOWN_FIELDS:
        path = _field_path(ref.source_id, canonical)
        value: Any = record
        for part in path or []:
            value = value.get(part) if isinstance(value, dict) else None
        if path:
            shown[canonical] = value
    return shown


def next_pairs(conn, limit: int, audit: bool = False) -> list[dict[str, Any]]:
    """The next `limit` pairs of the queue that no steward has decided since the build:
    the review band's, nearest the link threshold first, or with `audit` the audit
    sample's, a random sample of every stratum of the calibration in turn."""
    order = sql.Identifier("audit_order" if audit else "review_order")
    rows = conn.execute(
        sql.SQL(
            """
            select q.source_id_a, q.record_id_a, q.source_id_b, q.record_id_b,
                   q.match_probability, q.is_linked_now, q.evidence
            from stewardship.er_review_queue as q
            where q.{order} is not null and not exists (
                select 1 from stewardship.er_labels as l
                where (l.source_id_a, l.record_id_a, l.source_id_b, l.record_id_b)
                    = (q.source_id_a, q.record_id_a, q.source_id_b, q.record_id_b)
            )
            order by q.{order}
            limit %s
            """
        ).format(order=order),
        (limit,),
    ).fetchall()
    out = []
    for source_a, record_a, source_b, record_b, probability, linked, evidence in rows:
        a, b = RecordRef(source_a, record_a), RecordRef(source_b, record_b)
        out.append(
            {
                "a": a,
                "b": b,
                "probability": probability,
                "linked": linked,
                "evidence": evidence,
                "fields_a": record_fields(conn, a),
                "fields_b": record_fields(conn, b),
            }
        )
    return out


def label_pair(conn, a: RecordRef, b: RecordRef, label: str, note: str | None) -> str:
    """Record (or change) a steward's decision on the pair; returns what happened."""
    if label not in LABELS:
        raise ReviewError(f"{label!r}: decide `match` or `non_match`")
    first, second = ordered(a, b)
    for ref in (first, second):
        if record_fields(conn, ref) is None:
            raise ReviewError(f"{ref}: no such record in raw.{ref.source_id}")
    previous = conn.execute(
        "select label from stewardship.er_labels where source_id_a = %s and record_id_a = %s "
        "and source_id_b = %s and record_id_b = %s",
        (first.source_id, first.record_id, second.source_id, second.record_id),
    ).fetchone()
    conn.execute(
        """
        insert into stewardship.er_labels
            (source_id_a, record_id_a, source_id_b, record_id_b, label, note)
        values (%s, %s, %s, %s, %s, %s)
        on conflict (source_id_a, record_id_a, source_id_b, record_id_b)
        do update set label = excluded.label, note = excluded.note,
            labelled_by = current_user, labelled_at = now()
        """,
        (first.source_id, first.record_id, second.source_id, second.record_id, label, note),
    )
    if previous is None:
        return f"{first} / {second}: {label} (the next build follows it)"
    return f"{first} / {second}: {previous[0]} -> {label} (the next build follows it)"

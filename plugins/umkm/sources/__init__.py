"""The declarative source registry (`registry.yaml`): one entry per source.

What differs between sources lives in the YAML; code is shared per protocol family. The
keys are described in the YAML's header; `Source` holds one entry with the defaults applied.
A marketplace's or government list's dbt staging files are generated from its entry
(`umkm sources generate`, `umkm.sources.generate`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

#: The repository's registry: the one every command, DAG and test reads by default.
REGISTRY_FILE = Path(__file__).with_name("registry.yaml")
#: Names another registry file for every reader (ingestion, validation, DAGs, generation).
REGISTRY_ENV = "UMKM_SOURCE_REGISTRY"

PROTOCOLS = frozenset(
    {
        "oauth-cursor",
        "signed-page",
        "apikey-offset",
        "file-drop",
        "ckan",
        "xlsx",
        "summary",
        "reference-csv",
    }
)
KINDS = frozenset(
    {"marketplace", "registry", "government_list", "ministry_list", "summary", "reference"}
)
#: The kinds whose records are lists of businesses staged by the macro `stage_list` (the
#: bridge's registry, and any other government list counted in the population estimate).
LIST_KINDS = ("registry", "government_list")
#: The activity fields: what a record says about its last activity, which changes most
#: months when nothing else does. Raw stores their top-level keys per delivery, apart from
#: the record's stored version (umkm.warehouse.raw_history); staging stages them per
#: snapshot, the rest per version (dbt macros stage_marketplace_*).
ACTIVITY_FIELDS = ("last_active", "updated")


@dataclass(frozen=True)
class Limits:
    """What one pull of a source may not exceed (registry `limits`): past any of them the
    loader stops the pull with a one-line error naming the key (ingestion's own bound,
    well before Airflow's task timeout ends a runaway pull)."""

    max_seconds: float  # one attempt's wall time
    max_pages: int  # pages of one pull, resumed attempts included
    max_records: int  # items delivered in one pull, resumed attempts included
    max_empty_pages: int  # pages in a row with no item that do not end the feed
    max_response_bytes: int  # one answer's body (a JSON page, a file), read as it streams
    max_inflated_bytes: int  # what one compressed file (a gzip CSV part, a workbook) holds
    max_inflation_ratio: float  # inflated over compressed size: above it, a zip or gzip bomb

    @classmethod
    def of(cls, source_id: str, value: Any) -> Limits:
        if not isinstance(value, dict):
            raise ValueError(
                f"source {source_id}: limits {value!r} is not a mapping, e.g. "
                "{max_seconds: 5400, max_pages: 100000}"
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in value if k not in names]
        missing = [k for k in names if k not in value]
        if unknown or missing:
            what = f"unknown key {unknown[0]!r}" if unknown else f"lacks {missing[0]!r}"
            raise ValueError(f"source {source_id}: limits {what} (keys: {', '.join(names)})")
        bad = [k for k in names if not isinstance(value[k], int | float) or value[k] <= 0]
        if bad:
            raise ValueError(
                f"source {source_id}: limits {bad[0]} {value[bad[0]]!r} is not a positive number"
            )
        return cls(**{k: value[k] for k in names})


class RegistryNotFound(FileNotFoundError):
    """`UMKM_SOURCE_REGISTRY` names no file; the message says what to do."""


@dataclass(frozen=True)
class Source:
    """One registry entry. Besides the keys every source has:

    fields: canonical field -> the source's own (dotted path for nested JSON);
    formats: canonical date field -> its format; values: canonical field -> {value as
    delivered: canonical value}; optional: canonical fields its records may leave out, besides
    the ones every source may (validation); founded: the first day its dates can carry
    (validation quarantines earlier ones; None: the suites' default).
    """

    source_id: str
    name: str
    kind: str
    protocol: str
    conn_id: str
    updated_since: bool
    id_field: str
    owner: str
    criticality: str
    schedule: str
    limits: Limits
    page_size: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    commodities: tuple[str, ...] = ()
    optional: frozenset[str] = frozenset()
    founded: date | None = None
    since: date | None = None
    until: date | None = None

    @property
    def raw_table(self) -> str:
        return f"raw.{self.source_id}"

    @property
    def quarantine_table(self) -> str:
        return f"quarantine.{self.source_id}"

    def discontinued_at(self, snapshot: date) -> bool:
        """The source stopped publishing before `snapshot` (registry `until`): its feed
        answers "no data", and a `no_data` load is the right result, not a gap."""
        return self.until is not None and snapshot > self.until

    @property
    def env_var(self) -> str:
        """The environment variable Airflow reads for this source's connection."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}"


def _as_date(value: Any, source_id: str = "", key: str = "") -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(
            f"source {source_id}: {key} {value!r} is not a date (YYYY-MM-DD, quoted)"
        ) from None


def _optional(source_id: str, value: Any, fields: dict[str, str]) -> frozenset[str]:
    """The `optional` list: canonical fields of this source's own `fields`."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(
            f"source {source_id}: optional {value!r} is not a list of field names, e.g. [phone]"
        )
    unknown = [v for v in value if v not in fields]
    if unknown:
        raise ValueError(
            f"source {source_id}: optional {unknown[0]!r} is not one of its fields "
            f"({', '.join(fields)})"
        )
    return frozenset(value)


def _build(source_id: str, entry: dict[str, Any], defaults: dict[str, Any]) -> Source:
    merged = {**defaults, **entry}
    # a source's own limits override the defaults key by key
    own = entry.get("limits") or {}
    limits = {**(defaults.get("limits") or {}), **own} if isinstance(own, dict) else own
    if merged["protocol"] not in PROTOCOLS:
        raise ValueError(f"source {source_id}: unknown protocol {merged['protocol']!r}")
    if merged["kind"] not in KINDS:
        raise ValueError(f"source {source_id}: unknown kind {merged['kind']!r}")
    if not croniter.is_valid(str(merged["schedule"])):
        raise ValueError(
            f"source {source_id}: schedule {merged['schedule']!r} is not a cron expression "
            '(five fields, in Asia/Jakarta, e.g. "0 2 16 * *")'
        )
    fields = {k: str(v) for k, v in (merged.get("fields") or {}).items()}
    return Source(
        source_id=source_id,
        name=merged["name"],
        kind=merged["kind"],
        protocol=merged["protocol"],
        conn_id=merged["conn_id"],
        updated_since=bool(merged.get("updated_since", False)),
        id_field=str(merged["id_field"]),
        owner=merged["owner"],
        criticality=merged["criticality"],
        schedule=merged["schedule"],
        limits=Limits.of(source_id, limits),
        page_size=merged.get("page_size"),
        options=dict(merged.get("options") or {}),
        fields=fields,
        formats=dict(merged.get("formats") or {}),
        values={k: dict(v) for k, v in (merged.get("values") or {}).items()},
        commodities=tuple(merged.get("commodities") or ()),
        optional=_optional(source_id, merged.get("optional"), fields),
        founded=_as_date(merged.get("founded"), source_id, "founded"),
        since=_as_date(merged.get("since"), source_id, "since"),
        until=_as_date(merged.get("until"), source_id, "until"),
    )


def registry_file() -> Path:
    """The registry in use: the file `UMKM_SOURCE_REGISTRY` names, else the repository's.

    Pointing it elsewhere (a registry with a source the repository does not have) needs the
    files generated from that registry beside it: its dbt project (`UMKM_DBT_PROJECT_DIR`)
    and its validation suites (`UMKM_EXPECTATIONS_DIR`); see docs/INGESTION.md.
    """
    configured = os.environ.get(REGISTRY_ENV, "").strip()
    if not configured:
        return REGISTRY_FILE
    path = Path(configured).expanduser().resolve()
    if not path.is_file():
        raise RegistryNotFound(
            f"{REGISTRY_ENV}={configured} is not a file: point it at a registry YAML "
            "or unset it for the repository's"
        )
    return path


def load_registry(path: Path | None = None) -> dict[str, Source]:
    """All sources, keyed by source_id, in registry order (`path`, else `registry_file()`)."""
    return _load(Path(path).resolve() if path is not None else registry_file())


@functools.cache
def _load(path: Path) -> dict[str, Source]:
    doc = yaml.safe_load(path.read_text())
    defaults = doc.get("defaults", {})
    registry = {sid: _build(sid, entry, defaults) for sid, entry in doc["sources"].items()}
    registries = [sid for sid, source in registry.items() if source.kind == "registry"]
    if len(registries) > 1:
        raise ValueError(
            f"sources {', '.join(registries)}: at most one source is of kind registry (the "
            "registry the bridge reconciles, docs/BRIDGE.md); make the others government_list"
        )
    return registry


def ingest_order() -> list[str]:
    """Source ids in the order a full load runs them: reference data first.

    Validation resolves free-text cities against the region reference (`bps`), so a
    snapshot's first load needs the reference in place before the other sources.
    """
    registry = load_registry()
    return sorted(registry, key=lambda sid: registry[sid].kind != "reference")


def get_source(source_id: str) -> Source:
    registry = load_registry()
    try:
        return registry[source_id]
    except KeyError:
        known = ", ".join(registry)
        raise KeyError(f"unknown source {source_id!r}; known sources: {known}") from None


def marketplaces() -> list[Source]:
    return [s for s in load_registry().values() if s.kind == "marketplace"]

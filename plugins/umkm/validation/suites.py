"""The validation suites, built from the source registry: one Great Expectations suite per source.

Each check is declared once here and used twice:

* as a Great Expectations expectation, run in the database against the batch (the suite
  files under `expectations/expectations/<source_id>.json` are generated from these
  definitions; `umkm validate --write-suites` rewrites them, a test keeps them in step);
* for row-level checks, as the SQL predicate that selects the rows to move to
  `quarantine.<source_id>` (GX only returns a sample of failing rows).

Row predicates are SQL booleans over a row aliased `t` with the landing columns (`t.snapshot`,
`t.record_id`, `t.record`, `t.batch_id`, `t.feed_position`); true means the row is bad. They
select nothing personal: the GX queries return only `record_id` and `feed_position`.
Predicates must not contain braces (GX formats `{batch}` into the query) nor the bare
literal `true` (GX rewrites it).

Severity: `critical` checks are batch-level problems that stop publication; `warning` checks
are row-level (failing rows are quarantined, the rest goes on) or advisory. See
docs/VALIDATION.md for the table.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umkm import settings
from umkm.sources import Source, get_source, load_registry

LANDING_COLUMNS = ("snapshot", "record_id", "record", "batch_id", "feed_position", "loaded_at")
#: Namespace of the deterministic ids of suites and expectations (stable files in git).
_NAMESPACE = uuid.UUID("6c1d2a8e-5b7f-4e0a-9f57-3a0c0de0f11e")

#: First day a record can carry when its registry entry names no `founded` (the platform's
#: or programme's founding day; dates before it cannot be real and are quarantined).
#: See docs/VALIDATION.md.
DEFAULT_FOUNDED = "2000-01-01"

#: Canonical fields the contract marks optional (`?`) for every source: absent or null is
#: fine. A source's own further ones are its registry `optional` (e.g. shopee's `phone?`).
OPTIONAL_FIELDS = frozenset({"email", "street", "province", "licence", "national_id", "centre"})

#: Kominfo's `sumber` names besides the seven marketplaces' (registry `name`).
KOMINFO_EXTRA_SOURCES = ("Kementerian/Lembaga",)

#: Volume tolerance against the previous published snapshot (ratio of row counts).
VOLUME_WARNING = (0.5, 1.5)
VOLUME_CRITICAL = (0.1, 10.0)

#: Share of a batch's rows that may fail row-level checks before the batch is blocked.
MAX_QUARANTINE_RATE = 0.2


@dataclass(frozen=True)
class Check:
    """One expectation of a suite.

    kind: `row` (predicate; failing rows quarantined), `duplicates` (record ids delivered
    more than once; all but the first by feed_position quarantined), `query` (a batch-level
    unexpected-rows query), `columns` (landing columns), `volume` (row count against the
    previous snapshot, bounds passed at run time), `gate` (computed by the runner).
    """

    name: str
    severity: str
    kind: str
    expected: str
    reason: str = ""
    predicate: str = ""
    query: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def quarantines(self) -> bool:
        return self.kind in ("row", "duplicates")


# --- SQL helpers ------------------------------------------------------------------------


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def split_path(path: str) -> list[str]:
    """`address.city` -> [address, city]; a dot followed by a space is part of a name
    (kemenperin's `No. Telp`)."""
    return re.split(r"\.(?! )", path)


def json_text(path: str, alias: str = "t") -> str:
    """`t.record->'a'->>'b'` for the dotted path `a.b`."""
    parts = split_path(path)
    expr = f"{alias}.record"
    for part in parts[:-1]:
        expr += f"->{_lit(part)}"
    return f"{expr}->>{_lit(parts[-1])}"


def json_value(path: str, alias: str = "t") -> str:
    """`t.record->'a'->'b'` (jsonb) for the dotted path `a.b`."""
    expr = f"{alias}.record"
    for part in split_path(path):
        expr += f"->{_lit(part)}"
    return expr


def has_key(path: str, alias: str = "t") -> str:
    parts = split_path(path)
    expr = f"{alias}.record"
    for part in parts[:-1]:
        expr += f"->{_lit(part)}"
    return f"coalesce(({expr}) ? {_lit(parts[-1])}, 1 = 0)"


def blank(expr: str) -> str:
    return f"coalesce(btrim({expr}), '') = ''"


def _in_set(expr: str, values: list[str]) -> str:
    return f"{expr} in ({', '.join(_lit(v) for v in values)})"


def snapshot_end() -> str:
    """The end of the snapshot's day in WIB (UTC+7), as timestamptz."""
    return "((t.snapshot + 1)::text || ' 00:00:00+07')::timestamptz"


def founded(source: Source) -> str:
    """The first day the source's dates can carry: its registry `founded`, or the default."""
    return source.founded.isoformat() if source.founded else DEFAULT_FOUNDED


def date_bad(source: Source, canonical: str) -> str:
    """Predicate: the date field does not parse, is after the snapshot's end (WIB), or is
    before the platform existed."""
    value = json_text(source.fields[canonical])
    fmt = source.formats.get(canonical, "iso8601")
    first_day = founded(source)
    if fmt == "iso8601":
        parsed = f"public.umkm_try_timestamptz({value})"
    elif fmt == "unix_seconds":
        parsed = (
            f"(case when btrim({value}) ~ '^[0-9]+([.][0-9]+)?$' "
            f"then to_timestamp(btrim({value})::double precision) end)"
        )
    elif fmt in ("dd/mm/yyyy", "yyyy-mm-dd"):
        # a calendar date (WIB) against the snapshot's day and the founding day: compared
        # as dates, the same answer as at midnight WIB without three casts a row
        pattern = "DD/MM/YYYY" if fmt == "dd/mm/yyyy" else "YYYY-MM-DD"
        day = f"public.umkm_try_date({value}, {_lit(pattern)})"
        return f"({day} is null or {day} > t.snapshot or {day} < {_lit(first_day)}::date)"
    else:
        raise ValueError(f"{source.source_id}: unknown date format {fmt!r} for {canonical}")
    return (
        f"({parsed} is null or {parsed} >= {snapshot_end()} "
        f"or {parsed} < {_lit(first_day + ' 00:00:00+07')}::timestamptz)"
    )


def unexpected_rows_query(predicate: str) -> str:
    """The GX query for a row check: ids of the rows failing it, nothing else."""
    return (
        f"select t.record_id, t.feed_position from (select * from {{batch}}) as t where {predicate}"
    )


DUPLICATES_QUERY = (
    "select d.record_id, d.feed_position from (select t.record_id, t.feed_position, "
    "row_number() over (partition by t.record_id order by t.feed_position) as copy_no "
    "from (select * from {batch}) as t) as d where d.copy_no > 1"
)


# --- checks per source --------------------------------------------------------------------


def _required_fields(source: Source) -> list[str]:
    if source.kind == "summary":
        return ["tanggal", "total", "rincian"]
    if source.kind == "reference":
        return ["level", "code", "name"]
    optional = OPTIONAL_FIELDS | source.optional
    return [path for canonical, path in source.fields.items() if canonical not in optional]


def _common_checks(source: Source) -> list[Check]:
    required = _required_fields(source)
    missing_rows = " or ".join(f"not {has_key(path)}" for path in required)
    missing_fields = ", ".join(required)
    checks = [
        Check(
            "landing_columns",
            "critical",
            "columns",
            "columns " + ", ".join(LANDING_COLUMNS),
        ),
        Check(
            "fields_present",
            "critical",
            "query",
            "every required field appears in the batch: " + missing_fields,
            query=_fields_present_query(required),
        ),
        Check(
            "record_id_not_null",
            "warning",
            "row",
            "record_id not null or empty",
            reason="record id missing or empty",
            predicate=blank("t.record_id"),
        ),
        Check(
            "record_id_unique",
            "warning",
            "duplicates",
            "record_id unique within the batch (first delivery kept)",
            reason="record_id delivered more than once in the batch (first delivery kept)",
            query=DUPLICATES_QUERY,
        ),
        Check(
            "record_shape",
            "warning",
            "row",
            "record has every required field: " + missing_fields,
            reason="record lacks a required field",
            predicate=f"({missing_rows})",
        ),
    ]
    return checks


def _fields_present_query(required: list[str]) -> str:
    """Batch-level: the required fields that no record of a non-empty batch has."""
    alternatives = []
    for path in required:
        alternatives.append(f"(f.field_name = {_lit(path)} and {has_key(path, 'b')})")
    return (
        "select f.field_name from (values "
        + ", ".join(f"({_lit(p)})" for p in required)
        + ") as f(field_name) where exists (select 1 from (select * from {batch}) as a) "
        "and not exists (select 1 from (select * from {batch}) as b where "
        + " or ".join(alternatives)
        + ")"
    )


def _volume_checks() -> list[Check]:
    return [
        Check(
            "volume_warning",
            "warning",
            "volume",
            f"row count within {VOLUME_WARNING[0]:g}x-{VOLUME_WARNING[1]:g}x of the previous "
            "snapshot's",
            params={"min": "volume_warning_min", "max": "volume_warning_max"},
        ),
        Check(
            "volume_critical",
            "critical",
            "volume",
            f"row count within {VOLUME_CRITICAL[0]:g}x-{VOLUME_CRITICAL[1]:g}x of the previous "
            "snapshot's",
            params={"min": "volume_critical_min", "max": "volume_critical_max"},
        ),
    ]


def _name_check(source: Source) -> Check:
    return Check(
        "name_not_empty",
        "warning",
        "row",
        f"{source.fields['shop_name']} not empty after trimming",
        reason="shop or business name empty",
        predicate=blank(json_text(source.fields["shop_name"])),
    )


def _phone_check(source: Source) -> Check:
    phone = json_text(source.fields["phone"])
    invalid = f"public.umkm_phone_e164({phone}) is null"
    optional = "phone" in source.optional
    predicate = f"(not {blank(phone)} and {invalid})" if optional else f"({invalid})"
    return Check(
        "phone_valid",
        "warning",
        "row",
        f"{source.fields['phone']} normalises to an Indonesian E.164 number"
        + (" (or is absent)" if optional else ""),
        reason="phone number does not normalise",
        predicate=predicate,
    )


def _values_check(source: Source, canonical: str) -> Check:
    path = source.fields[canonical]
    allowed = list(source.values[canonical])
    return Check(
        f"{canonical}_allowed",
        "warning",
        "row",
        f"{path} in (" + ", ".join(allowed) + ")",
        reason=f"{canonical} not in the allowed set",
        predicate=f"not coalesce({_in_set(json_text(path), allowed)}, 1 = 0)",
    )


def _date_check(source: Source, canonical: str) -> Check:
    path = source.fields[canonical]
    fmt = source.formats.get(canonical, "iso8601")
    return Check(
        f"{canonical}_date_valid",
        "warning",
        "row",
        f"{path} parses ({fmt}), between {founded(source)} and the end of the snapshot day (WIB)",
        reason=f"{canonical} date unparseable, in the future or before the platform existed",
        predicate=date_bad(source, canonical),
    )


def _region_fields(source: Source) -> tuple[str, str]:
    city = json_text(source.fields["city"])
    province = json_text(source.fields["province"]) if "province" in source.fields else "null"
    return city, province


def remember_regions_sql(source: Source, target: str, snapshot: str | None = None) -> str:
    """One statement resolving each distinct (city, province) spelling of the table `target`
    (optionally one snapshot of it) once, which remembers the answer in
    public.umkm_region_lookup (V051). Run on its own (autocommit) before the suite, so the
    row checks only read the lookup and its writes stay in short transactions."""
    city, province = _region_fields(source)
    where = f"where t.snapshot = {_lit(snapshot)}::date" if snapshot else ""
    return (
        "select count(public.umkm_regency_code(places.city, places.province)) from "
        f"(select distinct {city} as city, {province} as province from {target} as t "
        f"{where}) as places"
    )


def _region_check(source: Source) -> Check:
    city, province = _region_fields(source)
    return Check(
        "region_resolves",
        "warning",
        "row",
        f"{source.fields['city']} resolves to one of the 514 BPS regencies",
        reason="city does not resolve to a BPS regency (add an alias and replay)",
        predicate=f"public.umkm_regency_code({city}, {province}) is null",
    )


def _marketplace_checks(source: Source) -> list[Check]:
    count = json_value(source.fields["product_count"])
    if source.protocol == "file-drop":
        count_text = json_text(source.fields["product_count"])
        count_bad = f"coalesce(btrim({count_text}), '') !~ '^[0-9]+$'"
    else:
        count_bad = f"jsonb_typeof({count}) is distinct from 'number'"
    return [
        _name_check(source),
        _region_check(source),
        _phone_check(source),
        _date_check(source, "opened"),
        _date_check(source, "last_active"),
        _values_check(source, "tier"),
        _values_check(source, "status"),
        Check(
            "product_count_type",
            "warning",
            "row",
            f"{source.fields['product_count']} is a whole number",
            reason="product count is not a whole number",
            predicate=f"({count_bad})",
        ),
    ]


def _list_checks(source: Source) -> list[Check]:
    """The registry's and any government list's: a name; a region (a known BPS regency code,
    or a city that resolves to one); and, for the fields the list has, a phone that
    normalises, a registration date in range, scale and status words it declares."""
    checks = [_name_check(source)]
    if "regency_code" in source.fields:
        code = json_text(source.fields["regency_code"])
        checks.append(
            Check(
                "regency_code_known",
                "warning",
                "row",
                f"{source.fields['regency_code']} is a BPS regency code (raw.bps, level regency)",
                reason="regency code not in the BPS code list",
                predicate=(
                    "not exists (select 1 from raw.bps as r where r.record->>'level' = 'regency' "
                    f"and r.record->>'code' = btrim({code}))"
                ),
            )
        )
    else:
        checks.append(_region_check(source))
    if "phone" in source.fields:
        checks.append(_phone_check(source))
    if "registered" in source.fields:
        checks.append(_date_check(source, "registered"))
    checks += [_values_check(source, name) for name in ("scale", "status") if name in source.fields]
    return checks


def _ministry_checks(source: Source) -> list[Check]:
    year = json_text(source.fields["training_year"])
    commodity = json_text(source.fields["commodity"])
    first = int(source.options.get("first_year", 2017))
    return [
        _name_check(source),
        _region_check(source),
        _phone_check(source),
        Check(
            "commodity_allowed",
            "warning",
            "row",
            f"{source.fields['commodity']} among the nine e-Smart commodities",
            reason="commodity not among the nine",
            predicate=f"not coalesce({_in_set(f'btrim({commodity})', list(source.commodities))}"
            ", 1 = 0)",
        ),
        Check(
            "training_year_valid",
            "warning",
            "row",
            f"{source.fields['training_year']} a year from {first} to the snapshot's year",
            reason="training year missing or outside the programme's years",
            predicate=(
                f"(case when btrim({year}) ~ '^[0-9]+([.]0+)?$' then "
                f"btrim({year})::numeric not between {first} "
                "and extract(year from t.snapshot) else 1 = 1 end)"
            ),
        ),
    ]


def _summary_checks(source: Source) -> list[Check]:
    names = [s.name for s in load_registry().values() if s.kind == "marketplace"]
    names += list(KOMINFO_EXTRA_SOURCES)
    parts = "jsonb_array_elements(t.record->'rincian')"
    malformed = (
        "jsonb_typeof(t.record->'total') is distinct from 'number' "
        "or jsonb_typeof(t.record->'rincian') is distinct from 'array' "
        f"or exists (select 1 from {parts} as e "
        "where jsonb_typeof(e->'jumlah') is distinct from 'number')"
    )
    total_bad = (
        f"(case when {malformed} then 1 = 1 else (t.record->>'total')::numeric <> "
        f"(select coalesce(sum((e->>'jumlah')::numeric), 0) from {parts} as e) end)"
    )
    sumber_known = _in_set("e->>'sumber'", names)
    sumber_bad = (
        "(case when jsonb_typeof(t.record->'rincian') is distinct from 'array' then 1 = 0 "
        f"else exists (select 1 from {parts} as e where not coalesce("
        f"{sumber_known}, 1 = 0)) end)"
    )
    return [
        Check(
            "total_equals_parts",
            "critical",
            "query",
            "total equals the sum of rincian[].jumlah",
            query=unexpected_rows_query(total_bad),
        ),
        Check(
            "sumber_known",
            "warning",
            "query",
            "rincian[].sumber among: " + ", ".join(names),
            query=unexpected_rows_query(sumber_bad),
        ),
    ]


def _reference_checks(source: Source) -> list[Check]:
    levels = ["province", "regency", "district", "village"]
    return [
        Check(
            "level_allowed",
            "warning",
            "row",
            "level in (" + ", ".join(levels) + ")",
            reason="level not one of province, regency, district, village",
            predicate=f"not coalesce({_in_set(json_text('level'), levels)}, 1 = 0)",
        ),
        Check(
            "code_not_empty",
            "warning",
            "row",
            "code not empty",
            reason="region code empty",
            predicate=blank(json_text("code")),
        ),
    ]


def checks_for(source_id: str) -> list[Check]:
    """Every check of a source's suite, in suite order (the gate last)."""
    source = get_source(source_id)
    checks = _common_checks(source)
    if source.kind == "marketplace":
        checks += _marketplace_checks(source)
    elif source.kind in ("registry", "government_list"):
        checks += _list_checks(source)
    elif source.kind == "ministry_list":
        checks += _ministry_checks(source)
    elif source.kind == "summary":
        checks += _summary_checks(source)
    elif source.kind == "reference":
        checks += _reference_checks(source)
    if source.kind not in ("summary", "reference"):
        checks += _volume_checks()
    checks.append(
        Check(
            "quarantine_rate",
            "critical",
            "gate",
            f"at most {MAX_QUARANTINE_RATE:.0%} of the batch's rows fail row-level checks",
        )
    )
    for check in checks:
        text = check.predicate + check.query.replace("{batch}", "")
        if "{" in text or "}" in text:
            raise ValueError(f"{source_id}.{check.name}: braces in SQL confuse GX formatting")
    return checks


# --- GX suites ------------------------------------------------------------------------------


def suite_name(source_id: str) -> str:
    return f"raw_{source_id}"


def _expectation(source_id: str, check: Check):
    import great_expectations as gx

    meta = {"name": check.name, "severity": check.severity, "kind": check.kind}
    common = {
        "id": str(uuid.uuid5(_NAMESPACE, f"{source_id}.{check.name}")),
        "meta": meta,
        "description": f"[{check.severity}] {check.name}: {check.expected}",
        "severity": check.severity,
    }
    if check.kind == "columns":
        return gx.expectations.ExpectTableColumnsToMatchSet(
            column_set=list(LANDING_COLUMNS), exact_match=True, **common
        )
    if check.kind == "volume":
        return gx.expectations.ExpectTableRowCountToBeBetween(
            min_value={"$PARAMETER": check.params["min"]},
            max_value={"$PARAMETER": check.params["max"]},
            **common,
        )
    from umkm.validation.gx_expectations import UnexpectedRowsCountExpectation

    query = check.query or unexpected_rows_query(check.predicate)
    return UnexpectedRowsCountExpectation(unexpected_rows_query=query, **common)


def build_suite(source_id: str):
    """The GX ExpectationSuite of a source (gate checks are not GX expectations)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(
        name=suite_name(source_id),
        id=str(uuid.uuid5(_NAMESPACE, suite_name(source_id))),
        meta={"source_id": source_id, "generated_by": "umkm.validation.suites"},
    )
    for check in checks_for(source_id):
        if check.kind != "gate":
            suite.expectations.append(_expectation(source_id, check))
    return suite


def suite_document(source_id: str) -> dict[str, Any]:
    """The suite as the JSON document committed under expectations/expectations/."""
    doc = build_suite(source_id).to_json_dict()
    doc["meta"].pop("great_expectations_version", None)
    return doc


def suites_dir() -> Path:
    """Where the suite files are: `expectations/expectations/` of `settings.expectations_dir()`."""
    return settings.expectations_dir() / "expectations"


def suite_path(source_id: str, directory: Path | None = None) -> Path:
    return (directory or suites_dir()) / f"{suite_name(source_id)}.json"


def render(source_id: str) -> str:
    return json.dumps(suite_document(source_id), indent=2, sort_keys=True) + "\n"


def write_suites(directory: Path | None = None) -> list[Path]:
    """(Re)write every source's suite file; returns the paths written."""
    directory = directory or suites_dir()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for source_id in load_registry():
        path = suite_path(source_id, directory)
        path.write_text(render(source_id))
        written.append(path)
    return written


def load_suite_document(source_id: str, directory: Path | None = None) -> dict[str, Any]:
    path = suite_path(source_id, directory)
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run `umkm validate --write-suites`")
    return json.loads(path.read_text())

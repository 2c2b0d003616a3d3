"""Bad batches per source fail exactly the expected expectations; quarantine adds up."""

from __future__ import annotations

import copy

import pytest

from tests.validation.conftest import PREVIOUS, SNAPSHOT
from tests.validation.fixtures import (
    PII,
    esmart_record,
    make_batch,
    merchant,
    publish_rows,
    registry_record,
)
from umkm.sources import get_source
from umkm.validation import CriticalValidationError, suites, validate_batch
from umkm.warehouse.db import connect

GOOD = 40


def _batch_count(conn, source_id: str) -> int:
    table = f'raw."{source_id}__batch_{SNAPSHOT:%Y%m%d}"'
    return conn.execute(f"select count(*) from {table}").fetchone()[0]


def _failed(outcome) -> set[str]:
    return {r["name"] for r in outcome.results if not r["success"]}


def _marketplace_batch(source_id: str) -> tuple[list[tuple[str, dict]], set[str]]:
    source = get_source(source_id)
    f = source.fields
    rows = [(merchant(source_id, i)[f["id"]], merchant(source_id, i)) for i in range(GOOD)]

    def bad(i: int, path: str, value) -> tuple[str, dict]:
        record = merchant(source_id, 1000 + i)
        parts = path.split(".")
        target = record
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value
        return record[f["id"]], record

    future = {
        "unix_seconds": 1893456000,
        "dd/mm/yyyy": "01/01/2030",
        "iso8601": "2030-01-01T00:00:00+07:00",
    }[source.formats["opened"]]
    garbage = "31/02/2017" if source.formats["opened"] == "dd/mm/yyyy" else "not a date"
    rows += [
        bad(1, f["shop_name"], "   "),
        bad(2, f["city"], "Atlantis"),
        bad(3, f["phone"], "12"),
        bad(4, f["opened"], future),
        bad(5, f["last_active"], garbage),
        bad(6, f["tier"], "gold"),
    ]
    shape = merchant(source_id, 1007)
    del shape[f["category"]]
    rows.append((shape[f["id"]], shape))
    rows.append((rows[0][0], copy.deepcopy(rows[0][1])))  # a duplicate delivery
    expected = {
        "name_not_empty",
        "region_resolves",
        "phone_valid",
        "opened_date_valid",
        "last_active_date_valid",
        "tier_allowed",
        "record_shape",
        "record_id_unique",
    }
    return rows, expected


@pytest.mark.parametrize("source_id", ["tokopedia", "bukalapak", "shopee", "blanja"])
def test_marketplace_bad_batch_quarantines_exactly_the_bad_rows(wh, source_id):
    rows, expected = _marketplace_batch(source_id)
    batch_id = f"{source_id}-bad"
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, source_id, SNAPSHOT, batch_id, rows)
        outcome = validate_batch(source_id, SNAPSHOT, batch_id, url=wh)
        assert _failed(outcome) == expected
        assert outcome.status == "warning"
        assert outcome.rows_checked == len(rows)
        assert outcome.rows_quarantined == len(rows) - GOOD
        assert _batch_count(conn, source_id) == GOOD
        quarantined = conn.execute(
            f"select expectation, count(*) from quarantine.{source_id} where batch_id = %s "
            "group by 1",
            (batch_id,),
        ).fetchall()
        assert {name for name, _ in quarantined} == expected
        assert sum(n for _, n in quarantined) == len(rows) - GOOD
        stored = conn.execute(
            "select count(*), count(*) filter (where not success) from audit.validation_results "
            "where run_id = %s",
            (outcome.run_id,),
        ).fetchone()
        assert stored == (len(outcome.results), len(expected))
        by_name = {r["name"]: r for r in outcome.results}
        assert by_name["region_resolves"]["unexpected_count"] == 1


def test_optional_phone_may_be_missing(wh):
    rows = [(f"S{i:05d}", merchant("shopee", i)) for i in range(5)]
    for _, record in rows:
        record.pop("phone")
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "shopee", SNAPSHOT, "shopee-nophone", rows)
    outcome = validate_batch("shopee", SNAPSHOT, "shopee-nophone", url=wh, alert=False)
    assert outcome.status == "passed", outcome.results


def test_registry_and_esmart_checks(wh):
    reg = [(f"R{i:05d}", registry_record(i)) for i in range(GOOD)]
    bad = registry_record(900)
    bad["kode_kabupaten"] = "9999"
    bad2 = registry_record(901)
    bad2["skala_usaha"] = "raksasa"
    bad3 = registry_record(902)
    bad3["tanggal_daftar"] = "2017-11-16"  # after the snapshot
    reg += [("R00900", bad), ("R00901", bad2), ("R00902", bad3)]
    es = [(str(i), esmart_record(i)) for i in range(GOOD)]
    e1 = esmart_record(900)
    e1["Komoditas"] = "Otomotif"
    e2 = esmart_record(901)
    e2["Tahun Pelatihan"] = 2019
    e3 = esmart_record(902)
    e3["Kabupaten/Kota"] = "Kota Antah Berantah"
    es += [("900", e1), ("901", e2), ("902", e3)]
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "kemenkopukm", SNAPSHOT, "reg-bad", reg)
        make_batch(conn, "kemenperin", SNAPSHOT, "esmart-bad", es)
    out = validate_batch("kemenkopukm", SNAPSHOT, "reg-bad", url=wh, alert=False)
    assert _failed(out) == {"regency_code_known", "scale_allowed", "registered_date_valid"}
    assert out.rows_quarantined == 3
    out = validate_batch("kemenperin", SNAPSHOT, "esmart-bad", url=wh, alert=False)
    assert _failed(out) == {"commodity_allowed", "training_year_valid", "region_resolves"}
    assert out.rows_quarantined == 3


def _kominfo(total: int, parts: list[tuple[str, int]]) -> dict:
    return {
        "tanggal": "2017-11-15",
        "total": total,
        "rincian": [{"sumber": s, "jumlah": n} for s, n in parts],
    }


def test_kominfo_total_must_equal_parts_critical(wh):
    doc = _kominfo(100, [("Tokopedia", 60), ("Kementerian/Lembaga", 30)])
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "kominfo", SNAPSHOT, "kominfo-bad", [("2017-11-15", doc)])
    with pytest.raises(CriticalValidationError) as info:
        validate_batch("kominfo", SNAPSHOT, "kominfo-bad", url=wh, alert=False)
    outcome = info.value.outcome
    assert _failed(outcome) == {"total_equals_parts"}
    assert outcome.status == "failed"
    assert "total_equals_parts" in str(info.value)
    assert outcome.rows_quarantined == 0  # batch-level: blocked, not quarantined


def test_kominfo_unknown_sumber_is_a_warning(wh):
    doc = _kominfo(100, [("Tokopedia", 60), ("Toko Sebelah", 40)])
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "kominfo", SNAPSHOT, "kominfo-warn", [("2017-11-15", doc)])
    outcome = validate_batch("kominfo", SNAPSHOT, "kominfo-warn", url=wh, alert=False)
    assert _failed(outcome) == {"sumber_known"}
    assert outcome.status == "warning"


def test_volume_anomaly_is_critical_and_blocks(wh):
    with connect(wh, autocommit=True) as conn:
        publish_rows(conn, "lazada", PREVIOUS, 200)
        rows = [(f"S{i:05d}", merchant("lazada", i)) for i in range(10)]  # 5% of before
        make_batch(conn, "lazada", SNAPSHOT, "lazada-small", rows)
    with pytest.raises(CriticalValidationError) as info:
        validate_batch("lazada", SNAPSHOT, "lazada-small", url=wh, alert=False)
    assert _failed(info.value.outcome) == {"volume_warning", "volume_critical"}
    message = str(info.value)
    assert "observed 10" in message and "between 20 and 2001" in message


def test_volume_within_warning_band_passes_with_warning(wh):
    with connect(wh, autocommit=True) as conn:
        publish_rows(conn, "blibli", PREVIOUS, 20)
        rows = [(f"S{i:05d}", merchant("blibli", i)) for i in range(8)]  # 40%: warning only
        make_batch(conn, "blibli", SNAPSHOT, "blibli-dip", rows)
    outcome = validate_batch("blibli", SNAPSHOT, "blibli-dip", url=wh, alert=False)
    assert _failed(outcome) == {"volume_warning"}
    assert outcome.status == "warning"


def test_too_many_bad_rows_is_critical(wh):
    rows = [(f"S{i:05d}", merchant("mataharimall", i)) for i in range(10)]
    for _, record in rows[:5]:
        record["kota"] = "Atlantis"
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "mataharimall", SNAPSHOT, "mm-bad", rows)
    with pytest.raises(CriticalValidationError) as info:
        validate_batch("mataharimall", SNAPSHOT, "mm-bad", url=wh, alert=False)
    assert _failed(info.value.outcome) == {"region_resolves", "quarantine_rate"}


def test_missing_batch_table_is_an_error(wh):
    with pytest.raises(LookupError):
        validate_batch("tokopedia", "2017-01-15", "nope", url=wh, alert=False)


def test_data_docs_hold_no_personal_data(wh, state_dir):
    rows, _ = _marketplace_batch("tokopedia")
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "tokopedia", SNAPSHOT, "tokopedia-docs", rows)
    outcome = validate_batch("tokopedia", SNAPSHOT, "tokopedia-docs", url=wh, alert=False)
    docs = state_dir / "data_docs"
    assert outcome.data_docs_path and (docs / "index.html").exists()
    pages = list(docs.rglob("*.html")) + list((state_dir / "gx").rglob("*.json"))
    assert len(pages) > 2
    text = "\n".join(p.read_text(errors="replace") for p in pages)
    assert "region_resolves" in text
    for value in PII.values():
        assert value not in text
        assert value.replace("-", "") not in text


def test_gx_scans_the_batch_once_per_row_check(wh):
    """The suites' row checks (UnexpectedRowsCountExpectation) compute the count of failing
    rows alone: GX's UnexpectedRowsExpectation would also fetch a sample of up to 200 of
    them, a second scan of the batch per check (docs/VALIDATION.md)."""
    import sqlalchemy

    from umkm.validation.gx_expectations import EXPECTATION_TYPE

    rows, expected = _marketplace_batch("tokopedia")
    row_checks = [
        e
        for e in suites.load_suite_document("tokopedia")["expectations"]
        if e["type"] == EXPECTATION_TYPE
    ]
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "tokopedia__batch_" in statement:
            statements.append(statement)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", seen)
    try:
        with connect(wh, autocommit=True) as conn:
            make_batch(conn, "tokopedia", SNAPSHOT, "tokopedia-scans", rows)
        outcome = validate_batch("tokopedia", SNAPSHOT, "tokopedia-scans", url=wh, alert=False)
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", seen)
    assert _failed(outcome) == expected  # the counts still find every failing check
    counted = [s for s in statements if "unexpected_row_count" in s]
    assert len(row_checks) == 12
    assert len(counted) == len(row_checks)
    # the sample fetch would select the row-check query's columns outside a count
    assert not [s for s in statements if "feed_position" in s and s not in counted]


def test_quarantine_evaluates_only_the_checks_gx_found_failing(wh):
    """The quarantine pass re-evaluates only the row checks GX counted failing rows for:
    with one bad name and one duplicate, exactly those two rows leave the batch; the
    evaluation restricted to other checks finds nothing, and to no check reads nothing."""
    from psycopg import sql

    from umkm.validation.quarantine import quarantine_rows

    source = get_source("tokopedia")
    f = source.fields
    rows = [(merchant("tokopedia", i)[f["id"]], merchant("tokopedia", i)) for i in range(10)]
    blank = merchant("tokopedia", 500)
    blank[f["shop_name"]] = " "
    rows.append((blank[f["id"]], blank))
    rows.append((rows[0][0], copy.deepcopy(rows[0][1])))
    with connect(wh, autocommit=True) as conn:
        make_batch(conn, "tokopedia", SNAPSHOT, "tokopedia-few", rows)
        target = sql.Identifier("raw", f"tokopedia__batch_{SNAPSHOT:%Y%m%d}")
        others = {"phone_valid", "region_resolves", "tier_allowed"}
        assert quarantine_rows(conn, "tokopedia", target, move=False, only=others).rows_failing == 0
        assert quarantine_rows(conn, "tokopedia", target, move=False, only=set()).rows_failing == 0
        outcome = validate_batch("tokopedia", SNAPSHOT, "tokopedia-few", url=wh, alert=False)
        assert _failed(outcome) == {"name_not_empty", "record_id_unique"}
        assert outcome.rows_quarantined == 2
        assert _batch_count(conn, "tokopedia") == 10
        reasons = dict(
            conn.execute(
                "select expectation, count(*) from quarantine.tokopedia where batch_id = %s "
                "group by 1",
                ("tokopedia-few",),
            ).fetchall()
        )
    assert reasons == {"name_not_empty": 1, "record_id_unique": 1}

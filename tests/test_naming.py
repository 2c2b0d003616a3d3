"""Snapshot dates and batch-table names, defined once (umkm.naming)."""

from datetime import date, datetime

import pytest

from umkm.naming import batch_ident, batch_table, batch_table_name, parse_snapshot


@pytest.mark.parametrize(
    "value", ["2017-11-15", " 2017-11-15 ", date(2017, 11, 15), datetime(2017, 11, 15, 23, 59)]
)
def test_parse_snapshot_takes_text_dates_and_datetimes(value):
    assert parse_snapshot(value) == date(2017, 11, 15)


@pytest.mark.parametrize("value", ["2017-13-01", "15/11/2017", "", "latest"])
def test_a_bad_snapshot_names_the_format(value):
    with pytest.raises(ValueError, match="snapshot must be a date YYYY-MM-DD"):
        parse_snapshot(value)


def test_batch_table_names_agree():
    assert batch_table_name("tokopedia", "2017-11-15") == "tokopedia__batch_20171115"
    assert batch_table("tokopedia", date(2017, 11, 15)) == "raw.tokopedia__batch_20171115"
    assert batch_ident("tokopedia", "2017-11-15").as_string(None) == (
        '"raw"."tokopedia__batch_20171115"'
    )

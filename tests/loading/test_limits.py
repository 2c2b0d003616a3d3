"""The registry's `limits`: a pull past one stops with one line naming the key, keeps what it
committed, and resumes when the limit is raised (issue 20, item 1)."""

from __future__ import annotations

import time

import pytest
from servers.feeds import SNAPSHOT
from servers.harness import FAST, loads, raw_ids

from umkm import settings
from umkm.connectors.errors import LimitExceeded, ProtocolViolation
from umkm.loading import extract_load, publish
from umkm.loading.extract import PREFETCH_PAGES
from umkm.sources import REGISTRY_ENV, load_registry

REGISTRY_TEXT = (settings.REPO_ROOT / "plugins/umkm/sources/registry.yaml").read_text()


def _use_registry(tmp_path, monkeypatch, name: str, tokopedia_limits: str) -> None:
    """The repository's registry with tokopedia's own `limits` (YAML flow mapping) and pages
    of 10 records."""
    text = REGISTRY_TEXT.replace("    page_size: 5000\n", "    page_size: 10\n", 1)
    text = text.replace(
        '    id_field: shop_id\n    founded: "2009-01-01"\n',
        f'    id_field: shop_id\n    founded: "2009-01-01"\n    limits: {tokopedia_limits}\n',
        1,
    )
    assert text != REGISTRY_TEXT
    path = tmp_path / name
    path.write_text(text)
    monkeypatch.setenv(REGISTRY_ENV, str(path))


def test_past_max_records_the_pull_stops_by_name_and_resumes_when_raised(
    wh, feed_server, tmp_path, monkeypatch
):
    server = feed_server("oauth-cursor", "tokopedia", count=57, short_pages=False)
    _use_registry(tmp_path, monkeypatch, "tight.yaml", "{max_records: 10}")
    with pytest.raises(LimitExceeded) as caught:
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    message = str(caught.value)
    assert "\n" not in message
    assert "limits.max_records (20 records; the limit is 10)" in message
    assert "raise it in the source's registry entry" in message
    assert [a["status"] for a in loads(wh, "tokopedia")] == ["failed"]
    assert loads(wh, "tokopedia")[0]["rows_fetched"] == 10  # the page past the limit: not kept
    assert raw_ids(wh, "tokopedia", SNAPSHOT) == []  # nothing published
    first_attempt = len(server.requests)

    _use_registry(tmp_path, monkeypatch, "raised.yaml", "{max_records: 1000}")
    result = extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    publish("tokopedia", SNAPSHOT, result.batch_id, url=wh)
    assert sorted(raw_ids(wh, "tokopedia", SNAPSHOT)) == sorted(server.expected_ids())
    # the second attempt resumed after the committed pages: no request without a cursor
    resumed = [q for _m, p, q in server.requests[first_attempt:] if p == "/v1/merchants"]
    assert resumed and all("cursor" in q for q in resumed)


def test_a_cursor_that_never_ends_is_stopped_by_max_empty_pages(wh, feed_server):
    server = feed_server(
        "oauth-cursor", "tokopedia", count=57, short_pages=False, endless_empty=True
    )
    limit = load_registry()["tokopedia"].limits.max_empty_pages
    expected = rf"max_empty_pages \({limit + 1} empty pages in a row; the limit is {limit}\)"
    with pytest.raises(LimitExceeded, match=expected):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    pages = [q for _m, p, q in server.requests if p == "/v1/merchants"]
    # one page of records (page size 5000), the empty ones up to the limit's, and what the
    # loader fetched ahead while landing: not a request more
    assert len(pages) == 1 + limit + 1 + PREFETCH_PAGES
    assert loads(wh, "tokopedia")[-1]["status"] == "failed"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ("{max_pages: 0}", r"^source tokopedia: limits max_pages 0 is not a positive number$"),
        ("{max_page: 5}", r"^source tokopedia: limits unknown key 'max_page' \(keys: max_seconds"),
        ("12", r"^source tokopedia: limits 12 is not a mapping"),
    ],
)
def test_bad_limits_are_refused_by_name(tmp_path, monkeypatch, limits, message):
    _use_registry(tmp_path, monkeypatch, "bad.yaml", limits)
    with pytest.raises(ValueError, match=message):
        load_registry()


def test_a_cursor_that_comes_back_is_refused_before_its_page_lands_twice(wh, feed_server):
    server = feed_server("oauth-cursor", "tokopedia", count=57, loop_cursor=True)
    with pytest.raises(ProtocolViolation, match="came back to a position it had already"):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    pages = [q for _m, p, q in server.requests if p == "/v1/merchants"]
    assert len(pages) <= 3 + PREFETCH_PAGES  # the first page, the cursor twice, one ahead
    assert loads(wh, "tokopedia")[-1]["status"] == "failed"
    assert loads(wh, "tokopedia")[-1]["rows_loaded"] <= 57  # no page landed twice


def test_has_more_with_empty_pages_is_stopped_too(wh, feed_server):
    feed_server("signed-page", "shopee", count=57, endless_empty=True)
    limit = load_registry()["shopee"].limits.max_empty_pages
    with pytest.raises(LimitExceeded, match=rf"max_empty_pages \({limit + 1} empty pages"):
        extract_load("shopee", SNAPSHOT, url=wh, policy=FAST)
    assert raw_ids(wh, "shopee", SNAPSHOT) == []


def test_a_pull_past_its_deadline_stops_by_name(wh, feed_server, tmp_path, monkeypatch):
    feed_server("oauth-cursor", "tokopedia", count=57, short_pages=False, page_delay_s=0.4)
    _use_registry(tmp_path, monkeypatch, "deadline.yaml", "{max_seconds: 1}")
    started = time.monotonic()
    expected = r"limits\.max_seconds \(\d+\.\d seconds; the limit is 1\)"
    with pytest.raises(LimitExceeded, match=expected):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    assert time.monotonic() - started < 10

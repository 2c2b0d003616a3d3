"""A resumed pull whose saved position the source refuses (a cursor past its hour) starts
over from the first page once, then lands every record exactly once (issue 21, item 2)."""

from __future__ import annotations

import pytest
from servers.feeds import SNAPSHOT, Fault
from servers.harness import FAST, loads, raw_rows

from umkm.connectors.errors import IngestError, SourceRequestError
from umkm.loading import extract_load, publish


def test_an_expired_cursor_on_resume_starts_over_once_and_lands_exactly(wh, feed_server):
    server = feed_server("oauth-cursor", "tokopedia", count=12000)
    # the first attempt dies after two committed pages (retries exhausted)
    server.faults.append(Fault("503", "/v1/merchants", times=FAST.max_attempts, after=2))
    with pytest.raises(IngestError):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    server.cursor_generation += 1  # an hour later: the saved cursor has expired
    first_attempts = len(server.requests)

    result = extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    publish("tokopedia", SNAPSHOT, result.batch_id, url=wh)
    rows = raw_rows(wh, "tokopedia", SNAPSHOT)
    assert sorted(r[0] for r in rows) == sorted(server.expected_ids())
    assert sorted(r[2] for r in rows) == list(range(len(rows)))  # every record once
    pages = [q for _m, p, q in server.requests[first_attempts:] if p == "/v1/merchants"]
    assert "cursor" in pages[0]  # tried to resume
    assert "cursor" not in pages[1]  # then started over, once
    assert sum("cursor" not in q for q in pages) == 1
    statuses = [(a["status"], a["error"] or "") for a in loads(wh, "tokopedia")]
    assert [s for s, _e in statuses] == ["failed", "failed", "success"]
    assert "the source refused to resume" in statuses[1][1]


def test_a_refusal_after_the_restart_is_not_retried_again(wh, feed_server):
    server = feed_server("oauth-cursor", "tokopedia", count=12000)
    server.faults.append(Fault("503", "/v1/merchants", times=FAST.max_attempts, after=2))
    with pytest.raises(IngestError):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    server.refuse_cursors = True  # the restarted pull's second page is refused too
    first_attempts = len(server.requests)
    with pytest.raises(SourceRequestError, match=r"HTTP 400|cursor_expired"):
        extract_load("tokopedia", SNAPSHOT, url=wh, policy=FAST)
    pages = [q for _m, p, q in server.requests[first_attempts:] if p == "/v1/merchants"]
    assert sum("cursor" not in q for q in pages) == 1  # one start over, not a loop
    assert [a["status"] for a in loads(wh, "tokopedia")] == ["failed", "failed", "failed"]

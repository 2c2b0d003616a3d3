"""Every transient fault of the contract, met on a real loopback server: the load is exact.

Each case scripts one fault on the data path; the connector must retry (or re-authenticate,
re-sign, re-fetch) and land exactly the served ids, once each.
"""

from __future__ import annotations

import json
import os

import pytest
from servers.feeds import SNAPSHOT, Fault
from servers.harness import FAST, loads, raw_ids

from umkm.connectors.errors import CorruptFileError, IngestError, SourceRequestError
from umkm.connectors.http import RetryPolicy
from umkm.loading import extract_load, publish
from umkm.sources import get_source

PATHS = {
    "oauth-cursor": "/v1/merchants",
    "signed-page": "/api/v2/merchants",
    "apikey-offset": "/api/stores",
    "ckan": "/api/3/action/datastore_search",
    "file-drop": "/exports/2017-11-15/merchants",
}
SOURCES = {
    "oauth-cursor": "tokopedia",
    "signed-page": "shopee",
    "apikey-offset": "bukalapak",
    "ckan": "kemenkopukm",
    "file-drop": "blanja",
}
TRANSIENT = ["429", "500", "502", "503", "504", "reset", "cut", "cut_nolen"]


def load(url: str, source_id: str, policy: RetryPolicy = FAST):
    result = extract_load(source_id, SNAPSHOT, url=url, policy=policy)
    assert result.status == "loaded"
    publish(source_id, SNAPSHOT, result.batch_id, url=url)
    return result


@pytest.mark.parametrize("kind", TRANSIENT)
@pytest.mark.parametrize("protocol", list(PATHS))
def test_transient_faults_are_retried_and_the_load_is_exact(wh, feed_server, protocol, kind):
    fault = Fault(kind, PATHS[protocol], times=2, retry_after="0")
    server = feed_server(protocol, SOURCES[protocol], faults=[fault])
    load(wh, SOURCES[protocol])
    assert fault.times == 0, "the fault was never met"
    assert raw_ids(wh, SOURCES[protocol], SNAPSHOT) == sorted(server.expected_ids())
    [attempt] = loads(wh, SOURCES[protocol])
    assert attempt["status"] == "success" and attempt["retries"] >= 2


def test_retry_after_is_honoured(wh, feed_server):
    import time

    fault = Fault("429", "/v1/merchants", times=1, retry_after="1")
    feed_server("oauth-cursor", "tokopedia", faults=[fault])
    started = time.monotonic()
    load(wh, "tokopedia")
    assert time.monotonic() - started >= 1.0


def test_token_expiring_mid_pull_is_renewed(wh, feed_server):
    fault = Fault("expire_token", "/v1/merchants", times=1)
    server = feed_server("oauth-cursor", "lazada", faults=[fault])
    load(wh, "lazada")
    tokens = [r for r in server.requests if r[1] == "/oauth/token"]
    assert len(tokens) >= 2
    assert raw_ids(wh, "lazada", SNAPSHOT) == sorted(server.expected_ids())


def test_clock_skew_inside_the_window_is_accepted(wh, feed_server):
    server = feed_server("signed-page", "shopee", clock_skew_s=-250)
    load(wh, "shopee")
    assert raw_ids(wh, "shopee", SNAPSHOT) == sorted(server.expected_ids())


def test_invalid_sign_is_signed_again(wh, feed_server):
    fault = Fault("skew", "/api/v2/merchants", times=1)
    server = feed_server("signed-page", "shopee", faults=[fault])
    load(wh, "shopee")
    assert fault.times == 0
    assert raw_ids(wh, "shopee", SNAPSHOT) == sorted(server.expected_ids())


def test_corrupt_file_is_fetched_again(wh, feed_server):
    fault = Fault("corrupt", "/exports/2017-11-15/merchants_001", times=1)
    server = feed_server("file-drop", "mataharimall", delimiter=";", crlf=True, faults=[fault])
    load(wh, "mataharimall")
    assert fault.times == 0
    assert raw_ids(wh, "mataharimall", SNAPSHOT) == sorted(server.expected_ids())


def test_file_that_stays_corrupt_fails_and_publishes_nothing(wh, feed_server):
    fault = Fault("corrupt", "/exports/2017-11-15/merchants_001", times=99)
    feed_server("file-drop", "blanja", faults=[fault])
    with pytest.raises(CorruptFileError) as err:
        extract_load("blanja", SNAPSHOT, url=wh, policy=FAST)
    assert "blanja" in str(err.value) and SNAPSHOT in str(err.value)
    assert raw_ids(wh, "blanja", SNAPSHOT) == []
    [attempt] = loads(wh, "blanja")
    assert attempt["status"] == "failed" and "sha256" in attempt["error"].lower()


def test_manifest_row_count_mismatch_is_corrupt(wh, feed_server):
    feed_server("file-drop", "blanja", wrong_manifest_rows=True)
    with pytest.raises(CorruptFileError):
        extract_load("blanja", SNAPSHOT, url=wh, policy=FAST)
    assert raw_ids(wh, "blanja", SNAPSHOT) == []


def test_exhausted_retries_name_source_snapshot_and_path_without_secrets(wh, feed_server):
    fault = Fault("503", "/api/stores", times=99, retry_after="0")
    feed_server("apikey-offset", "blibli", faults=[fault])
    with pytest.raises(IngestError) as err:
        extract_load("blibli", SNAPSHOT, url=wh, policy=FAST)
    text = str(err.value)
    assert "blibli" in text and SNAPSHOT in text and "/api/stores" in text
    assert "api-key-123" not in text
    [attempt] = loads(wh, "blibli")
    assert attempt["status"] == "failed"


def test_wrong_key_fails_fast_without_retrying(wh, feed_server, monkeypatch):
    server = feed_server("apikey-offset", "bukalapak")
    env_var = get_source("bukalapak").env_var
    conn = json.loads(os.environ[env_var])
    conn["extra"]["api_key"] = "wrong-key"
    monkeypatch.setenv(env_var, json.dumps(conn))
    with pytest.raises(SourceRequestError) as err:
        extract_load("bukalapak", SNAPSHOT, url=wh, policy=FAST)
    assert "403" in str(err.value) and "wrong-key" not in str(err.value)
    data_requests = [r for r in server.requests if r[1] == "/api/stores"]
    assert len(data_requests) == 1

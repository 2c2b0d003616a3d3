"""Issue 8: the warehouse restarts in the middle of a load; the retried load is exact.

A warehouse of its own (an embedded PostgreSQL in a temp state folder, on a free port), so
restarting it disturbs no other test. The pull runs in a thread, as a task would; the
server is stopped (fast shutdown: every connection is cut) while pages are being written,
then started again. The interrupted attempt must fail with an error that says what
happened, and the next attempt (what Airflow's retry runs) must resume from the last
committed page and publish exactly the served records, once each.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from servers.feeds import SNAPSHOT
from servers.harness import FAST, assert_resumed_exactly, wait_for_committed_rows

from umkm import settings
from umkm.connectors.errors import WarehouseUnavailable
from umkm.loading import extract_load, publish
from umkm.warehouse import embedded
from umkm.warehouse.bootstrap import bootstrap
from umkm.warehouse.db import connect

pytestmark = pytest.mark.skipif(
    settings.configured_warehouse_url() is not None,
    reason="WAREHOUSE_URL set: this test restarts a warehouse of its own (embedded)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("UMKM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("UMKM_EMBEDDED_PORT", str(_free_port()))
    url = embedded.start().url
    with connect(url) as conn:
        bootstrap(conn)
    yield url
    embedded.stop()


def test_restart_mid_load_then_retry_is_exact(own_warehouse, feed_server):
    url = own_warehouse
    server = feed_server("apikey-offset", "bukalapak", count=9000, page_delay_s=0.2)
    failure: list[BaseException] = []

    def attempt() -> None:
        try:
            extract_load("bukalapak", SNAPSHOT, url=url, policy=FAST)
        except BaseException as exc:  # noqa: BLE001 - kept for the assertions below
            failure.append(exc)

    pull = threading.Thread(target=attempt)
    pull.start()
    wait_for_committed_rows(url, "bukalapak", 2000)
    embedded.stop()  # fast shutdown: the loader's connection is cut mid-batch
    time.sleep(1.0)  # the pull meets the dead server (pages keep arriving from the feed)
    embedded.start()
    pull.join(timeout=120)
    assert not pull.is_alive()
    assert failure, "the interrupted attempt did not notice the warehouse going away"
    assert isinstance(failure[0], WarehouseUnavailable), repr(failure[0])
    assert "source bukalapak snapshot 2017-11-15" in str(failure[0])
    assert "resumes from the last committed page" in str(failure[0])

    # the retry, as Airflow runs it: same call, same snapshot
    server.page_delay_s = 0
    result = extract_load("bukalapak", SNAPSHOT, url=url, policy=FAST)
    publish("bukalapak", SNAPSHOT, result.batch_id, url=url)
    assert_resumed_exactly(url, server, SNAPSHOT)

"""`Prefetch`: pages in order, errors where they belong, a bounded lead, a clean stop."""

from __future__ import annotations

import threading
import time

import pytest

from umkm.loading.prefetch import Prefetch


def test_items_come_out_in_order():
    with Prefetch(iter(range(100)), depth=2) as ahead:
        assert list(ahead) == list(range(100))


def test_error_of_the_producer_is_raised_in_the_consumer_after_the_items_before_it():
    def pages():
        yield 1
        yield 2
        raise ConnectionResetError("cut mid-body")

    seen = []
    with Prefetch(pages()) as ahead, pytest.raises(ConnectionResetError, match="cut mid-body"):
        for item in ahead:
            seen.append(item)
    assert seen == [1, 2]


def test_producer_runs_at_most_depth_plus_one_items_ahead():
    produced = []

    def pages():
        for i in range(50):
            produced.append(i)
            yield i

    with Prefetch(pages(), depth=1) as ahead:
        it = iter(ahead)
        assert next(it) == 0
        time.sleep(0.3)  # give the producer every chance to run ahead
        # 0 consumed, 1 queued, 2 produced and waiting for room: never the whole feed
        assert len(produced) <= 3


def test_close_stops_the_producer_and_closes_the_iterator_in_its_thread():
    closed = threading.Event()

    def pages():
        try:
            yield from range(10_000)
        finally:
            closed.set()

    ahead = Prefetch(pages(), depth=1)
    for item in ahead:
        if item == 3:
            break
    ahead.close()
    assert closed.wait(5)
    assert not ahead._thread.is_alive()


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        Prefetch(iter([]), depth=0)

"""Fetch the next page while the current one is landing.

A pull alternates two waits: for the source to answer a page, and for PostgreSQL to COPY
it. `Prefetch` runs the connector's page iterator in a background thread, at most `depth`
pages ahead, so the two waits overlap. Pages still come out in order and are committed by
the caller's thread only, so resuming after a kill is unchanged: a page fetched ahead but
not committed is fetched again by the next attempt. Memory stays bounded: `depth` pages
queued, one being fetched, one being landed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"


class Prefetch(Generic[T]):
    """Iterate `items` in a background thread, up to `depth` items ahead of the consumer.

    An exception raised by `items` is raised again in the consumer, where it would have been
    raised without the thread. Use as a context manager, or call `close()`: it stops the
    producer, closes `items` (in the producer's thread) and waits up to `join_timeout_s`.
    """

    def __init__(self, items: Iterator[T], depth: int = 1, join_timeout_s: float = 30.0):
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._join_timeout_s = join_timeout_s
        self._thread = threading.Thread(
            target=self._produce, args=(items,), name="umkm-prefetch", daemon=True
        )
        self._thread.start()

    def _put(self, entry: tuple[str, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._put((_ITEM, item)):
                    return
            self._put((_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put((_ERROR, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, value = self._queue.get()
            if kind == _ITEM:
                yield value  # type: ignore[misc]
            elif kind == _END:
                return
            else:
                raise value  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(self._join_timeout_s)

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

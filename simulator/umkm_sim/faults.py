"""Seeded faults for `--faults flaky`: partners on a bad day.

Each listener numbers its data requests (not token requests). The first requests follow a
fixed script so every fault kind shows up early in any pull (`SCRIPT`); after that a seeded
generator picks a fault for about `rate` of the requests. Never two faults in a row, so a
client that retries the same request always gets through. A replay of the same requests
against the same seed meets the same faults.

Kinds: `429` (with `Retry-After: 1`), `500`, `502`, `503`, `504`, `cut` (headers with the full
Content-Length, half the body, then the connection closes), `expire_token` (oauth: every
token issued so far is revoked, the request answers 401). Two more are not per request:
the shopee listener's clock runs `CLOCK_SKEW_S` ahead (within the 300 s window), and the
first download of every file-drop file has corrupted bytes (its sha256 does not match).
"""

from __future__ import annotations

import random
import threading

#: Request numbers (1-based, per listener) that fail, and how, whatever the seed.
SCRIPT = {2: "429", 4: "503", 6: "cut", 8: "expire_token", 10: "500", 12: "502", 14: "504"}
KINDS = ("429", "500", "502", "503", "504", "cut", "expire_token")
CLOCK_SKEW_S = 120.0
RETRY_AFTER_S = "1"


class FaultPlan:
    """Which fault (if any) the next data request meets."""

    def __init__(self, mode: str, seed: int, listener: int, oauth: bool, rate: float = 0.03):
        self.enabled = mode == "flaky"
        self.rng = random.Random(seed * 1009 + listener)  # noqa: S311 - not security
        self.oauth = oauth
        self.rate = rate
        self.count = 0
        self.last_faulted = False
        self.lock = threading.Lock()
        self.corrupted: set[str] = set()

    def next(self) -> str | None:
        if not self.enabled:
            return None
        with self.lock:
            self.count += 1
            kind = SCRIPT.get(self.count)
            if kind is None and not self.last_faulted and self.rng.random() < self.rate:
                kind = self.rng.choice(KINDS)
            if kind == "expire_token" and not self.oauth:
                kind = "503"
            if self.last_faulted:
                kind = None
            self.last_faulted = kind is not None
            return kind

    def corrupt_once(self, name: str) -> bool:
        """True the first time a file is downloaded (flaky mode): serve it corrupted."""
        if not self.enabled:
            return False
        with self.lock:
            if name in self.corrupted:
                return False
            self.corrupted.add(name)
            return True

    @property
    def clock_skew_s(self) -> float:
        return CLOCK_SKEW_S if self.enabled else 0.0

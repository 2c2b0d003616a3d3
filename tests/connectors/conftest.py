"""Loopback feed servers and a clean warehouse per test (see tests/servers/harness.py)."""

from servers.harness import feed_server, wh  # noqa: F401 - fixtures

"""The sources a run ingests: the feed simulator (`umkm-sim serve`, tiny scale) in its own
process, or the tests' loopback feed servers (tests/servers/feeds.py) in this one, handed
to the workers as `AIRFLOW_CONN_UMKM_<SOURCE>`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from umkm.runner.simulator import SimulatorHandle
from umkm.runner.simulator import start_simulator as start_sim

from .common import ROOT, SetupError, log


@dataclass
class Feeds:
    env: dict[str, str] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)  # source -> rows served
    servers: list = field(default_factory=list)
    sim: SimulatorHandle | None = None

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        if self.sim is not None:
            self.sim.stop()


def sim_available() -> bool:
    return (ROOT / "simulator" / "umkm_sim" / "__main__.py").exists()


def start_feeds(kind: str, snapshots: list[str], scale: float, seed: int, log_dir: Path) -> Feeds:
    """Feeds serving `snapshots` (expected row counts, for loopback feeds: the last one's)."""
    if kind in ("auto", "sim") and sim_available():
        try:
            return start_simulator(",".join(snapshots), scale, seed, log_dir)
        except SetupError as exc:
            if kind == "sim":
                raise
            log(f"{exc}: using the loopback feed servers instead")
    elif kind == "sim":
        raise SetupError("no feed simulator (umkm-sim, simulator/umkm_sim) in this checkout")
    return start_loopback(snapshots)


def start_simulator(snapshot: str, scale: float, seed: int, log_dir: Path) -> Feeds:
    log(f"feeds: the feed simulator (umkm-sim serve, scale {scale}, seed {seed})")
    try:
        # its own session: the chaos drills kill process groups, never the feeds'
        handle = start_sim(
            seed,
            scale,
            snapshot,
            timeout=300,
            log_path=log_dir / "simulator.log",
            start_new_session=True,
        )
    except RuntimeError as exc:
        raise SetupError(str(exc)) from exc
    return Feeds(env=dict(handle.env), sim=handle)  # row counts: compared with --baseline


def start_loopback(snapshots: list[str]) -> Feeds:
    from servers.feeds import FeedServer

    from umkm.sources import load_registry

    registry = load_registry()
    feeds = Feeds()

    log(f"feeds: {len(registry)} loopback FeedServers (tests/servers/feeds.py), one per source")
    for sid, source in registry.items():
        server = FeedServer(source.protocol, snapshots=tuple(snapshots)).start()
        feeds.servers.append(server)
        feeds.env[source.env_var] = server.conn_uri()
        feeds.expected[sid] = len(server.expected_ids(snapshots[-1]))
    return feeds

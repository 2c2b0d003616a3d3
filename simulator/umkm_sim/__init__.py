"""The feed simulator: every source of ../shared/feeds/CONTRACT.md, with planted truth.

A package of its own, outside the pipeline's `umkm` (nothing here imports it, and nothing
the pipeline imports imports this). Run it as its own process (`umkm-sim serve` /
`python -m umkm_sim serve`); the pipeline only sees it through what that process prints
(its connection settings, then `READY`) and HTTP. Truth, from Python (tests, benchmarks):

    write_truth(out_dir, seed=1, scale=0.001, snapshots=["2017-11-15"])

The runner's side of a served simulator (start the command, read its READY line, stop it)
is `umkm.runner.simulator.start_simulator`. See docs/SIMULATOR.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

__all__ = ["write_truth"]


def _snapshot_list(snapshots: Iterable[str | date] | str) -> list[str]:
    """`"2017-11-15,2018-06-15"`, a date or a list of either, as a list of date texts."""
    if isinstance(snapshots, str | date):
        snapshots = [snapshots]
    out = []
    for s in snapshots:
        out += [part.strip() for part in str(s).split(",") if part.strip()]
    return out


def write_truth(
    out_dir: str | Path,
    seed: int,
    scale: float,
    snapshots: Iterable[str | date] | str,
    profile: str = "default",
) -> Path:
    """Write `<out_dir>/truth/records.csv` and `world.json` without serving (the records
    and the bridge are the same for every noise profile; world.json names the profile)."""
    from umkm_sim.config import SimConfig
    from umkm_sim.truth import write_truth as _write
    from umkm_sim.world import build_world

    snaps = [date.fromisoformat(s) for s in _snapshot_list(snapshots)]
    world = build_world(SimConfig(seed=seed, scale=scale, profile=profile))
    return _write(world, snaps, Path(out_dir))

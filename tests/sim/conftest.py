"""One small simulator for the whole conformance suite (scale 0.001), its truth beside it;
the suite runs once per noise profile (the same world, written two ways)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from umkm.runner.simulator import start_simulator

SEED = 11
SCALE = 0.001
HEADLINE = "2017-11-15"
LATE = "2019-06-15"  # MatahariMall.com has stopped; e-Smart files 2017-2019 count


PROFILES = ["default", "heldout"]


@pytest.fixture(scope="session", params=PROFILES)
def sim_profile(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory, sim_profile) -> Path:
    return tmp_path_factory.mktemp(f"sim-{sim_profile}")


@pytest.fixture(scope="session")
def sim(sim_dir, sim_profile):
    handle = start_simulator(SEED, SCALE, [HEADLINE, LATE], truth_out=sim_dir, profile=sim_profile)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def truth_records(sim, sim_dir) -> dict[tuple[str, str], list[str]]:
    """(snapshot, source_id) -> record ids in truth/records.csv (in file order)."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    with open(sim_dir / "truth" / "records.csv", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["snapshot", "source_id", "record_id", "entity_id"]
        for snap, source, rid, _entity in reader:
            out[(snap, source)].append(rid)
    return out

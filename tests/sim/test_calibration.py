"""The two published figures are exact in what the simulator serves on 2017-11-15:
Kominfo's total is round(4,600,000 X), and Kemenkop's registry resource holds exactly
round(3,790,000 X) *valid* records with status `aktif` (the planted invalid records come on
top), at every scale X. Records are rendered directly (no HTTP) and judged by the rules of
docs/SIMULATOR.md ("Invalid records"), not by the simulator's own flags."""

from __future__ import annotations

import csv
from datetime import date

import numpy as np
import pytest

from umkm import settings
from umkm_sim import records
from umkm_sim.config import SimConfig
from umkm_sim.render import Renderer
from umkm_sim.truth import bridge, kominfo_summary
from umkm_sim.world import build_world, day

HEADLINE = date(2017, 11, 15)


def regency_codes() -> set[str]:
    with open(settings.wilayah_dir() / "regencies.csv", newline="", encoding="utf-8") as f:
        return {row[0] for row in csv.reader(f) if row}


def valid_active(registry_records: list[dict], snapshot: date, codes: set[str]) -> int:
    """Distinct `aktif` records that pass the documented checks: a name, a registration
    date not after the snapshot, a known 4-digit regency code."""
    distinct = {r["id_umkm"]: r for r in registry_records}
    return sum(
        1
        for r in distinct.values()
        if r["status"] == "aktif"
        and r["nama_usaha"].strip()
        and r["tanggal_daftar"] <= snapshot.isoformat()
        and r["kode_kabupaten"] in codes
    )


@pytest.mark.parametrize("scale", [0.001, 0.01])
def test_published_figures_are_exact(scale):
    world = build_world(SimConfig(seed=2017, scale=scale))
    d = day(HEADLINE)
    rows = np.arange(world.registry.n_rows(d))
    served = records.registry_records(Renderer(world), rows, d)
    active = [r for r in served if r["status"] == "aktif"]
    valid = valid_active(served, HEADLINE, regency_codes())
    assert valid == round(3_790_000 * scale)
    assert len({r["id_umkm"] for r in active}) > valid  # the invalid ones come on top
    assert kominfo_summary(world, d)["total"] == round(4_600_000 * scale)
    truth = bridge(world, HEADLINE)
    assert truth["bridge"]["kemenkopukm_registry"] == valid
    assert truth["residual"] == 0
    assert sum(s["value"] for s in truth["steps"][:-1]) == valid

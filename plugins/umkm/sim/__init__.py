"""The feed simulator: every source of ../shared/feeds/CONTRACT.md, with planted truth.

Run it as its own process (`umkm sim serve` / `python -m umkm.sim serve`); the pipeline only
sees it through HTTP. From Python (tests, benchmarks):

    with start_simulator(seed=1, scale=0.001, snapshots=["2017-11-15"]) as sim:
        sim.env  # {"AIRFLOW_CONN_UMKM_TOKOPEDIA": "http://...", ...}

    write_truth(out_dir, seed=1, scale=0.001, snapshots=["2017-11-15"])

See docs/SIMULATOR.md.
"""

from __future__ import annotations

from umkm.sim.handle import SimulatorHandle, start_simulator, write_truth

__all__ = ["SimulatorHandle", "start_simulator", "write_truth"]

"""The accuracy harness: the whole pipeline on a tiny simulated world, then `umkm eval`.

The simulator plants the truth (`truth/records.csv`); the pipeline (`umkm run`: ingestion,
validation, dbt) never reads it. The entity resolution must reach the issue's targets at
the simulator's default noise: pairwise precision >= 0.98 and recall >= 0.97.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import create_test_database, drop_test_database
from umkm.evaluation.pairwise import evaluate

pytestmark = pytest.mark.e2e

SCALE = float(os.environ.get("UMKM_ACCURACY_SCALE", "0.002"))
SEED = 7
SNAPSHOT = "2017-11-15"


@pytest.fixture(scope="module")
def pipeline(admin_url, tmp_path_factory):
    sim = pytest.importorskip("umkm.sim")
    url = create_test_database(admin_url, "accuracy")
    state = tmp_path_factory.mktemp("accuracy-state")
    env = dict(os.environ, WAREHOUSE_URL=url, UMKM_STATE_DIR=str(state))
    proc = subprocess.run(
        [sys.executable, "-m", "umkm", "run", "--scale", str(SCALE), "--seed", str(SEED),
         "--snapshot", SNAPSHOT],
        env=env, capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    out = tmp_path_factory.mktemp("accuracy-truth")
    truth = sim.write_truth(out, seed=SEED, scale=SCALE, snapshots=[SNAPSHOT])
    yield url, truth
    drop_test_database(admin_url, url)


def test_pairwise_precision_and_recall_reach_the_targets(pipeline):
    url, truth = pipeline
    report = evaluate(truth, snapshot=SNAPSHOT, url=url)
    pw = report["pairwise"]
    assert pw["records_compared"] > 0.95 * (pw["records_compared"] + pw["records_only_in_truth"])
    assert pw["precision"] >= 0.98, pw
    assert pw["recall"] >= 0.97, pw

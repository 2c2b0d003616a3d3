"""Where the simulator finds the BPS region reference files, read from the environment.

The simulator imports nothing of the pipeline's package (`umkm`); this mirrors what
`umkm.settings` does for the same two variables, so both read the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: simulator/umkm_sim/paths.py -> ../../..
REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The read-only shared folder: `UMKM_SHARED_DIR`, else `shared/` beside the repository
    or any folder above it, else the development machine's `/work/shared`."""
    configured = os.environ.get("UMKM_SHARED_DIR")
    if configured:
        return Path(configured).resolve()
    for candidate in [p / "shared" for p in REPO_ROOT.parents] + [Path("/work/shared")]:
        if (candidate / "reference" / "wilayah").is_dir():
            return candidate.resolve()
    return (REPO_ROOT.parent / "shared").resolve()


def wilayah_dir() -> Path:
    """The BPS region reference files (ODbL data, read at run time, never copied):
    `UMKM_WILAYAH_DIR`, else `<shared>/reference/wilayah`."""
    default = shared_dir() / "reference" / "wilayah"
    return Path(os.environ.get("UMKM_WILAYAH_DIR", default)).resolve()

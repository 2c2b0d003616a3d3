"""`python -m umkm_sim serve|truth ...` (the same commands as `umkm-sim ...`)."""

from __future__ import annotations

import sys

from umkm_sim.cli import main

if __name__ == "__main__":
    sys.exit(main())

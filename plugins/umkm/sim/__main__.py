"""`python -m umkm.sim serve|truth ...` (the same commands as `umkm sim ...`)."""

from __future__ import annotations

import sys

from umkm.sim.cli import main

if __name__ == "__main__":
    sys.exit(main())

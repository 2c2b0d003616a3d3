"""Prove that the pipeline runs unchanged under CeleryExecutor, on this machine: the
docker-compose shape as local processes, two Celery workers, the ingestion DAGs and checks.

The command; the parts are the package `scripts/celery_e2e/` (what it proves, its steps,
drills, usage and exit codes: its `__init__.py`).

    .venv/bin/python scripts/celery_e2e.py --json-out plain.json        # plain run
    .venv/bin/python scripts/celery_e2e.py --kill-worker --baseline plain.json
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# umkm, and the tests' loopback feed servers (servers.feeds); this folder is first already:
# `celery_e2e` is the package beside this file
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "tests")]

from celery_e2e.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

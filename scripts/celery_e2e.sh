#!/usr/bin/env bash
# The CeleryExecutor end-to-end proof (issue 8, "Scale-out"): see scripts/celery_e2e.py and
# docs/SCALE_OUT.md. Options pass through, e.g. --kill-worker, --kill-scheduler, --keep.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/.venv/bin/python" "$root/scripts/celery_e2e.py" "$@"

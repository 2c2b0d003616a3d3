"""Static checks run by `make test` before pytest (and by pre-commit): ruff lint and format,
sqlfluff over the dbt models (dbt templater, postgres dialect).

Exits non-zero on the first failing check, naming it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(name: str, cmd: list[str], env: dict | None = None) -> None:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    took = time.monotonic() - started
    if proc.returncode != 0:
        print(f"check failed: {name} ({took:.1f}s)", flush=True)
        sys.exit(proc.returncode)
    print(f"check passed: {name} ({took:.1f}s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["ruff", "sqlfluff"], help="run one family of checks")
    only = parser.parse_args().only
    if only in (None, "ruff"):
        run("ruff check", [str(BIN / "ruff"), "check", "."])
        run("ruff format --check", [str(BIN / "ruff"), "format", "--check", "."])
    if only not in (None, "sqlfluff"):
        return
    from umkm.transform.dbt import dbt_environment

    # The dbt templater compiles the project: it needs the profile's environment (the
    # embedded warehouse is started if no WAREHOUSE_URL is set).
    # Only folders that exist: git does not keep empty ones, so a clean clone may lack some.
    paths = [p for p in ("dbt_project/models", "dbt_project/tests") if (ROOT / p).is_dir()]
    run(
        "sqlfluff lint (dbt templater)",
        [
            str(BIN / "sqlfluff"),
            "lint",
            *paths,
            "--processes",
            "2",
            "--disable-progress-bar",
        ],
        env=dbt_environment(),
    )


if __name__ == "__main__":
    main()

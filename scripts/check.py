"""Static checks run by `make test` before pytest (and by pre-commit): the file hygiene of the
pre-commit hooks (YAML parses, one newline at the end of a file, no trailing whitespace, no
large files), ruff lint and format, sqlfluff over the dbt models and tests (dbt templater,
postgres dialect; the SQL the macros emit is linted too, pyproject.toml [tool.sqlfluff.core]).

Exits non-zero on the first failing check, naming it.
"""

from __future__ import annotations

import argparse
import os
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


#: The pre-commit hook check-added-large-files' default limit.
LARGE_FILE_KB = 500
_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".gz", ".xlsx", ".zip", ".pdf"}


def file_problems(root: Path = ROOT) -> list[str]:
    """What pre-commit's check-yaml, end-of-file-fixer, trailing-whitespace and
    check-added-large-files would report, over the files git tracks (the hooks themselves
    are fetched from GitHub, which CI cannot reach)."""
    import yaml

    class Loader(yaml.SafeLoader):  # check-yaml --unsafe: syntax only, any tag
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.split(b"\0")
    problems = []
    for name in filter(None, (item.decode() for item in listed)):
        path = root / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if len(data) > LARGE_FILE_KB * 1024:
            problems.append(f"{name}: {len(data) // 1024} KB, above {LARGE_FILE_KB} KB")
        if path.suffix in _BINARY_SUFFIXES or b"\0" in data[:8192] or not data:
            continue
        if not data.endswith(b"\n") or data.endswith(b"\n\n"):
            problems.append(f"{name}: must end with exactly one newline")
        bad = [i for i, line in enumerate(data.split(b"\n"), 1) if line != line.rstrip(b" \t\r")]
        if bad:
            problems.append(f"{name}: trailing whitespace on line {bad[0]} ({len(bad)} lines)")
        if path.suffix in (".yml", ".yaml"):
            try:
                list(yaml.load_all(data, Loader=Loader))
            except yaml.YAMLError as exc:
                problems.append(f"{name}: YAML does not parse: {str(exc).splitlines()[0]}")
    return problems


def check_files() -> None:
    started = time.monotonic()
    problems = file_problems()
    took = time.monotonic() - started
    for problem in problems:
        print(problem, flush=True)
    if problems:
        print(f"check failed: files ({took:.1f}s)", flush=True)
        sys.exit(1)
    print(f"check passed: files ({took:.1f}s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", choices=["files", "ruff", "sqlfluff"], help="run one family of checks"
    )
    only = parser.parse_args().only
    if only in (None, "files"):
        check_files()
    if only in (None, "ruff"):
        run("ruff check", [str(BIN / "ruff"), "check", "."])
        run("ruff format --check", [str(BIN / "ruff"), "format", "--check", "."])
    if only not in (None, "sqlfluff"):
        return
    from umkm.transform.dbt import dbt_environment

    # Linting compiles the project and reads no personal data: the development key will do.
    os.environ.setdefault("UMKM_DEV_MODE", "1")
    # The dbt templater compiles the project: it needs the profile's environment (the
    # embedded warehouse is started if no WAREHOUSE_URL is set).
    # Only folders that exist: git does not keep empty ones, so a clean clone may lack some.
    # One run, templated areas included (ignore_templated_areas = false in pyproject.toml), so
    # what the macros emit is linted with the models' own SQL. RF06 is excluded there for the
    # whole run: dbt quotes every relation it renders, and a second run keeping RF06 for the
    # untemplated SQL alone would double the check's time (one run costs what the run without
    # templated areas did: about 105 s of CPU).
    paths = [p for p in ("dbt_project/models", "dbt_project/tests") if (ROOT / p).is_dir()]
    run(
        "sqlfluff lint (dbt templater, macros included)",
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

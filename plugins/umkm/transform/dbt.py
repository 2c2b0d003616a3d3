"""Run dbt against the warehouse.

dbt reads the committed `dbt_project/profiles.yml`, whose values come from `env_var()`;
`dbt_environment` derives them from the warehouse URL, so `WAREHOUSE_URL` stays the one
setting. Target and log folders live in the state folder, not in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from umkm import settings
from umkm.warehouse.db import dbt_env, warehouse_url

#: Pseudonymisation key for the demo and tests only; production sets UMKM_PII_KEY.
DEV_PII_KEY = "dev-only-not-secret"
#: Set to 1 (as `make demo` and the tests do) to run with DEV_PII_KEY when UMKM_PII_KEY is
#: unset; anywhere else a missing key stops the pipeline.
DEV_MODE_ENV = "UMKM_DEV_MODE"


class PiiKeyMissing(RuntimeError):
    """UMKM_PII_KEY is unset outside development mode; the message says what to set."""


def dev_mode(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get(DEV_MODE_ENV, "").strip() == "1"


def pii_key(env: Mapping[str, str] | None = None) -> str:
    """The pseudonymisation key: UMKM_PII_KEY; in development mode, DEV_PII_KEY when it is
    unset; otherwise PiiKeyMissing (a public key would make phones and NIK brute-forceable)."""
    env = os.environ if env is None else env
    key = env.get("UMKM_PII_KEY", "").strip()
    if key:
        return key
    if dev_mode(env):
        return DEV_PII_KEY
    raise PiiKeyMissing(
        "UMKM_PII_KEY is not set: set a long random value (e.g. `openssl rand -hex 32`) in the "
        f"environment, or {DEV_MODE_ENV}=1 for a demo with the public development key "
        "(make demo does)"
    )


class DbtError(RuntimeError):
    """dbt exited non-zero; the message carries the tail of its output."""


def target_dir() -> Path:
    return settings.state_dir() / "dbt" / "target"


def manifest_dir() -> Path:
    """Where the manifest the DAGs are rendered from lives (built ahead, see build_manifest)."""
    return settings.state_dir() / "dbt" / "manifest"


def manifest_path() -> Path:
    return manifest_dir() / "manifest.json"


def build_manifest() -> Path:
    """`dbt parse` into `manifest_dir()`: no warehouse connection needed."""
    env = dbt_environment(url=_manifest_url())
    env["DBT_TARGET_PATH"] = str(manifest_dir())
    proc = subprocess.run(
        [dbt_executable(), "parse", "--quiet"],
        cwd=settings.dbt_project_dir(),
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise DbtError(f"dbt parse failed\n{(proc.stdout + proc.stderr)[-4000:]}")
    _manifest_project_file().write_text(str(settings.dbt_project_dir()))
    return manifest_path()


def _manifest_project_file() -> Path:
    """Names the project the manifest was parsed from (`UMKM_DBT_PROJECT_DIR` may change)."""
    return manifest_dir() / "project_dir"


def ensure_manifest() -> Path:
    """Rebuild the manifest when any file of the dbt project is newer than it, or when it was
    parsed from another project folder."""
    path = manifest_path()
    marker = _manifest_project_file()
    parsed_from = marker.read_text() if marker.exists() else str(settings.DBT_PROJECT_DIR)
    if path.exists() and parsed_from == str(settings.dbt_project_dir()):
        built = path.stat().st_mtime
        newest = max(
            (p.stat().st_mtime for p in settings.dbt_project_dir().rglob("*") if p.is_file()),
            default=0.0,
        )
        if newest <= built:
            return path
    return build_manifest()


def _manifest_url() -> str:
    """Parsing needs a profile, not a server: never start the embedded one for it."""
    return warehouse_url(start_embedded=False)


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def dbt_environment(url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(dbt_env(url or warehouse_url()))
    env["DBT_PROFILES_DIR"] = str(settings.dbt_project_dir())
    env["DBT_PROJECT_DIR"] = str(settings.dbt_project_dir())
    env["DBT_TARGET_PATH"] = str(target_dir())
    env["DBT_LOG_PATH"] = str(settings.logs_dir() / "dbt")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["UMKM_PII_KEY"] = pii_key(env)
    return with_pii_key_option(env)


def with_pii_key_option(env: dict[str, str]) -> dict[str, str]:
    """Add the pseudonymisation key to `PGOPTIONS` for every dbt connection.

    The key reaches the server as the session setting `umkm.pii_key` (libpq passes
    PGOPTIONS), so models read it with current_setting() and it never appears in compiled
    SQL or logs. Spaces and backslashes are escaped for libpq. Any process that runs dbt
    (the Airflow workers too) needs it in its environment.
    """
    key = pii_key(env)
    key = key.replace("\\", "\\\\").replace(" ", "\\ ")
    option = f"-c umkm.pii_key={key}"
    if option not in env.get("PGOPTIONS", ""):
        env["PGOPTIONS"] = f"{env['PGOPTIONS']} {option}" if env.get("PGOPTIONS") else option
    return env


def run_dbt(
    args: list[str],
    *,
    url: str | None = None,
    variables: dict | None = None,
    capture: bool = False,
) -> subprocess.CompletedProcess:
    """Run `dbt <args>` in the project; raise DbtError with the output's tail on failure."""
    cmd = [dbt_executable(), *args]
    if variables:
        cmd += ["--vars", json.dumps(variables)]
    proc = subprocess.run(
        cmd,
        cwd=settings.dbt_project_dir(),
        env=dbt_environment(url),
        capture_output=capture,
        text=True,
    )
    if proc.returncode != 0:
        tail = ((proc.stdout or "") + (proc.stderr or ""))[-4000:]
        raise DbtError(f"dbt {' '.join(args)} failed (exit {proc.returncode})\n{tail}")
    return proc


def publish_docs(out_dir: Path, url: str | None = None) -> Path:
    """`dbt docs generate --static` into `out_dir/dbt-docs.html` (one file, no server).

    Published beside the analysts' report: every model, column, test and the exposures
    that declare what the report reads.
    """
    with tempfile.TemporaryDirectory(prefix="umkm-dbt-docs-") as target:
        env = dbt_environment(url)
        env["DBT_TARGET_PATH"] = target
        proc = subprocess.run(
            [dbt_executable(), "docs", "generate", "--static", "--quiet"],
            cwd=settings.dbt_project_dir(),
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise DbtError(f"dbt docs generate failed\n{(proc.stdout + proc.stderr)[-4000:]}")
        out_dir.mkdir(parents=True, exist_ok=True)
        page = out_dir / "dbt-docs.html"
        shutil.copyfile(Path(target) / "static_index.html", page)
    return page

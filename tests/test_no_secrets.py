"""No secret in the repository: committed files hold placeholders only.

Secrets come only through the environment (Airflow connections, `UMKM_PII_KEY`); `.env` is
git-ignored. Logs and the report are scanned by the end-to-end test.
"""

from __future__ import annotations

import re
import subprocess

from umkm import settings

PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Slack token": re.compile(r"xox[abposr]-[0-9A-Za-z-]{10,}"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/T[0-9A-Z]{6,}/"),
    "AWS key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "GitHub token": re.compile(r"gh[pousr]_[0-9A-Za-z]{30,}"),
}


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=settings.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if line]


def test_no_secret_shapes_in_the_repository():
    hits = []
    for name in tracked_files():
        path = settings.REPO_ROOT / name
        if not path.is_file() or path.suffix in {".png", ".gz", ".xlsx"}:
            continue
        text = path.read_text(errors="replace")
        hits += [f"{name}: {kind}" for kind, rx in PATTERNS.items() if rx.search(text)]
    assert not hits


def test_env_file_is_ignored_and_example_has_no_values_for_secrets():
    assert ".env" not in tracked_files()
    example = (settings.REPO_ROOT / ".env.example").read_text()
    keys = [line for line in example.splitlines() if re.match(r"#?\s*UMKM_PII_KEY=", line)]
    assert keys, "the example must name the pseudonymisation key"
    assert all(line.split("=", 1)[1].strip() in {"", "change-me"} for line in keys)

"""scripts/check.py's file hygiene (what the pre-commit hooks check) finds each problem."""

import importlib.util
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _check_module():
    spec = importlib.util.spec_from_file_location("check", ROOT / "scripts" / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_file_problems_names_each_hook_failure(tmp_path):
    files = {
        "ok.yml": "a: &x 1\nb: *x\nc: !Ref thing\n",  # anchors and unknown tags are fine
        "broken.yaml": "a: [1, 2\n",
        "no_newline.sql": "select 1",
        "two_newlines.md": "text\n\n",
        "trailing.py": "x = 1  \ny = 2\n",
        "big.csv": "x" * (501 * 1024) + "\n",
        "untracked.txt": "no newline",  # not in git: not checked
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    tracked = [n for n in files if n != "untracked.txt"]
    subprocess.run(["git", "add", *tracked], cwd=tmp_path, check=True)

    problems = _check_module().file_problems(tmp_path)

    assert sorted(p.split(":")[0] for p in problems) == [
        "big.csv",
        "broken.yaml",
        "no_newline.sql",
        "trailing.py",
        "two_newlines.md",
    ]
    assert any("trailing whitespace on line 1" in p for p in problems)


def test_the_repository_is_clean():
    assert _check_module().file_problems() == []

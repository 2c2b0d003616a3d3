"""A command line that never surprises (issue 22, item 2).

Every subcommand answers `--help` with its help and exit code 0 and does nothing else;
every option with a default says it; bad input ends in one line and the documented exit
code (0 success, 1 data or pipeline failure, 2 usage, 3 environment), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from tests.conftest import create_test_database, drop_test_database
from umkm.cli import build_parser, main
from umkm.warehouse.bootstrap import ensure_database
from umkm.warehouse.db import with_database

#: a warehouse URL nothing listens on
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple]:
    """Every command path of the parser (`warehouse start`, `er review`, ...)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = (*prefix, name)
                found.append((path, sub))
                found.extend(_commands(sub, path))
    return found


COMMANDS = [path for path, _ in _commands(build_parser())]


def test_the_command_tree_is_what_the_readme_names():
    tops = {path[0] for path in COMMANDS}
    assert {"warehouse", "run", "ingest", "validate", "quarantine", "report", "eval"} <= tops
    assert {("warehouse", a) for a in ("start", "stop", "status", "url", "psql")} <= set(COMMANDS)


@pytest.mark.parametrize("path", [p for p in COMMANDS if p != ("sim",)], ids=" ".join)
def test_help_only_helps(path, tmp_path, monkeypatch, capsys):
    """`--help` prints the help and exits 0: nothing starts, stops or writes (the state
    folder stays empty; a configured warehouse nothing listens on is never contacted)."""
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("UMKM_STATE_DIR", str(state))
    monkeypatch.setenv("WAREHOUSE_URL", UNREACHABLE)
    with pytest.raises(SystemExit) as stopped:
        main([*path, "--help"])
    out = capsys.readouterr()
    assert stopped.value.code == 0, out.err
    assert out.out.startswith("usage: umkm " + " ".join(path)), out.out[:200]
    assert "Traceback" not in out.out + out.err
    assert list(state.iterdir()) == []


@pytest.mark.parametrize("path", [p for p in COMMANDS if p != ("sim",)], ids=" ".join)
def test_every_default_is_shown(path):
    parser = dict(_commands(build_parser()))[path]
    text = "".join(parser.format_help().split())  # a long default may be wrapped
    for action in parser._actions:
        shown = action.default not in (None, False, [], argparse.SUPPRESS)
        if action.option_strings and shown and action.help != argparse.SUPPRESS:
            assert "".join(f"{action.default}".split()) in text, (path, action.dest)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_argument_has_help(path):
    parser = dict(_commands(build_parser()))[path]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.help != argparse.SUPPRESS:
            assert (action.help or "").strip(), (path, action.dest)


def test_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("umkm ")


def _umkm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "umkm", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    """The message: the last line on stderr (after any log lines), with no traceback."""
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, done.stdout[-2000:]
    return lines[-1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ingest", "nosuch", "--snapshot", "2017-11-15"], "unknown source 'nosuch'"),
        (["validate", "nosuch", "--snapshot", "2017-11-15"], "unknown source 'nosuch'"),
        (["run", "--snapshot", "2017-02-30"], "2017-02-30"),
        (["report", "--snapshot", "2017-13-01"], "2017-13-01"),
        (["warehouse", "fly"], "invalid choice: 'fly'"),
        (["warehouse", "start", "--now"], "unrecognized arguments: --now"),
    ],
    ids=[
        "unknown-source",
        "unknown-source-validate",
        "impossible-date",
        "bad-month",
        "bad-action",
        "bad-option",
    ],
)
def test_usage_errors_exit_2(args, needle):
    done = _umkm(*args, env={"WAREHOUSE_URL": UNREACHABLE})
    assert done.returncode == 2, done.stderr[-2000:]
    assert needle in _one_line_error(done)


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--snapshot", "2017-11-15"],
        ["ingest", "tokopedia", "--snapshot", "2017-11-15"],
        ["validate", "tokopedia", "--snapshot", "2017-11-15"],
        ["er", "review"],
        ["warehouse", "bootstrap"],
    ],
    ids=" ".join,
)
def test_an_unreachable_warehouse_is_the_environment(args):
    done = _umkm(*args, env={"WAREHOUSE_URL": UNREACHABLE})
    assert done.returncode == 3, done.stderr[-2000:]
    line = _one_line_error(done)
    assert "cannot reach the warehouse" in line and "127.0.0.1:1" in line


@pytest.fixture
def never_bootstrapped(admin_url):
    """An empty database: no schema, no table of the project."""
    url = create_test_database(admin_url, "cli_empty")  # bootstrapped: replaced below
    drop_test_database(admin_url, url)
    name = url.rsplit("/", 1)[1]
    ensure_database(admin_url, name)
    yield with_database(admin_url, name)
    drop_test_database(admin_url, with_database(admin_url, name))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["report", "--snapshot", "2017-11-15"], "bootstrap"),
        (["er", "review"], "build the warehouse first"),
        (["validate", "tokopedia", "--snapshot", "2017-11-15"], "BPS region codes"),
        (["ingest", "tokopedia", "--snapshot", "2017-11-15"], "AIRFLOW_CONN_UMKM_TOKOPEDIA"),
    ],
    ids=" ".join,
)
def test_a_never_bootstrapped_warehouse_is_the_environment(never_bootstrapped, args, needle):
    env = {"WAREHOUSE_URL": never_bootstrapped, "AIRFLOW_CONN_UMKM_TOKOPEDIA": ""}
    done = _umkm(*args, env=env)
    assert done.returncode == 3, done.stderr[-2000:]
    assert needle in _one_line_error(done)


def test_debug_shows_the_traceback():
    done = _umkm(
        "--debug", "report", "--snapshot", "2017-11-15", env={"WAREHOUSE_URL": UNREACHABLE}
    )
    assert done.returncode == 1 and "Traceback" in done.stderr

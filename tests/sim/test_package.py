"""The simulator is a program of its own: `umkm_sim` (simulator/) and the pipeline's `umkm`
(plugins/) import nothing of each other; they meet at the simulator's command line, what
its process prints, HTTP and the truth files."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import umkm_sim
from umkm import bridge, settings
from umkm.runner.simulator import simulator_command
from umkm_sim import truth

PLUGINS = settings.REPO_ROOT / "plugins" / "umkm"
SIMULATOR = settings.REPO_ROOT / "simulator" / "umkm_sim"


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in the file names (lazy ones too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_simulator_lives_outside_airflow_plugins():
    assert Path(umkm_sim.__file__).resolve().parent == SIMULATOR
    assert not (PLUGINS / "sim").exists()


def test_the_simulator_imports_nothing_of_the_pipeline():
    for path in SIMULATOR.rglob("*.py"):
        bad = {m for m in imported_modules(path) if m == "umkm" or m.startswith("umkm.")}
        assert not bad, f"{path.relative_to(settings.REPO_ROOT)} imports {sorted(bad)}"


def test_the_pipeline_imports_nothing_of_the_simulator_and_only_the_cli_the_runner():
    for path in PLUGINS.rglob("*.py"):
        modules = imported_modules(path)
        name = path.relative_to(settings.REPO_ROOT)
        assert not {m for m in modules if m.split(".")[0] == "umkm_sim"}, name
        if path.parent.name != "runner" and path.name != "cli.py":
            assert not {m for m in modules if m.startswith("umkm.runner")}, name
    # the cli.py files that may start the runner: the umbrella command's and the runner's own
    for path in PLUGINS.rglob("cli.py"):
        if path.parent not in (PLUGINS, PLUGINS / "runner"):
            assert not {m for m in imported_modules(path) if m.startswith("umkm.runner")}, path


def test_truth_uses_the_bridge_step_ids_of_the_pipeline():
    assert truth.STEP_IDS == bridge.STEP_IDS


def test_umkm_sim_runs_the_simulators_command(tmp_path):
    """`umkm sim ...` is `umkm-sim ...`: the same help, and the simulator's exit codes."""
    umkm = [sys.executable, "-m", "umkm", "sim"]
    own = subprocess.run([*simulator_command(), "--help"], capture_output=True, text=True)
    via = subprocess.run([*umkm, "--help"], capture_output=True, text=True)
    assert own.returncode == via.returncode == 0
    assert via.stdout == own.stdout and "serve" in own.stdout and "truth" in own.stdout
    bad = subprocess.run([*umkm, "truth", "--snapshot", "2016-01-01", "--out", str(tmp_path)])
    assert bad.returncode == 2

"""tools/gpu_check.py and tools/gpu_carry.py, run here on the CPU so they cannot rot.

The real run is on the lent GPU machine (DEVELOPERS.md); this is the same script, on two
notebooks at the smoke budget, through the same command line.
"""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARRY = runpy.run_path(str(ROOT / "tools" / "gpu_carry.py"))
NOTEBOOKS = ["chapters/7_6_lenet.ipynb", "solutions/7_2_conv_layer/7_2_conv_layer.ipynb"]

pytestmark = pytest.mark.slow


def _check(tmp_path, *arguments, env=None):
    report = tmp_path / "report"
    command = [sys.executable, ROOT / "tools" / "gpu_check.py", "--report", report, *arguments]
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((report / "gpu_check.json").read_text()), result.stdout


def test_gpu_check_runs_and_grades_on_the_cpu_and_reports_it(tmp_path, sample_dir):
    report, stdout = _check(tmp_path, "--budgets", "smoke", "--notebooks", *NOTEBOOKS)
    assert report["device"].startswith("cpu") and report["torch"]
    assert [run["notebook"] for run in report["runs"]] == NOTEBOOKS
    assert all(run["error"] is None and run["seconds"] > 0 for run in report["runs"])
    [lenet] = [run for run in report["runs"] if run["notebook"] == NOTEBOOKS[0]]
    assert lenet["training"] and all(t["budget"] == "smoke" for t in lenet["training"])
    [row] = report["grades"]
    assert (row["notebook"], row["status"]) == ("7_2_conv_layer", "graded")
    assert float(row["score"]) == float(row["max_score"]) - float(row["awaiting_points"]) > 0
    assert "gpu_check: 2 of 2 notebook runs ok, 1 of 1 notebooks graded" in stdout


def test_carried_wheels_are_installed_apart_and_used(tmp_path, sample_dir, monkeypatch):
    """--carry installs the wheels into a private folder and runs with them first on the path
    (the machine's own torch stays where it is)."""
    CARRY["build_wheel"](tmp_path / "carry" / "wheels")
    site = tmp_path / "site"
    env = {**os.environ, "CONVBOOK_GPU_SITE": str(site)}
    report, stdout = _check(
        tmp_path, "--carry", tmp_path / "carry", "--budgets", "smoke", "--no-grade",
        "--notebooks", NOTEBOOKS[1], env=env,
    )  # fmt: skip
    assert Path(report["convbook"].split(" from ")[1]).is_relative_to(site)
    assert report["runs"][0]["error"] is None


def test_carry_closure_follows_requirements_and_prunes_what_grading_never_imports():
    needed = CARRY["closure"](["nbclient"])
    assert {"nbclient", "jupyter-client", "nbformat", "traitlets"} <= set(needed)
    assert "jupyterlab" not in needed
    pruned = CARRY["closure"](["nbgrader"], prune=("jupyterlab", "notebook"))
    assert "nbgrader" in pruned and "jupyterlab" not in pruned and "notebook" not in pruned

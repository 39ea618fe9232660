"""Run the book on whatever accelerator this machine has, and print one report.

On the lent GPU machine (Python 3.12, its own torch, no Jupyter, no network), after
``python tools/gpu_carry.py`` here:

    python3 tools/gpu_check.py --carry .gpu          # device tool: carry=[".gpu"]

It also runs on a CPU-only machine, falling back to the CPU; CI runs it on two notebooks:

    python tools/gpu_check.py --budgets smoke --notebooks chapters/7_6_lenet.ipynb \\
        solutions/7_2_conv_layer/7_2_conv_layer.ipynb

Steps: install the carried wheels into a private folder (never over the machine's torch);
execute every selected notebook at the smoke budget; execute each selected chapter that
trains at every further budget asked for, on the offline sample; grade the selected
solutions with ``convbook grade``; print the device, torch version, seconds per notebook,
final validation accuracies and grades, and write them to ``REPORT/gpu_check.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("CONVBOOK_GPU_SITE", Path(tempfile.gettempdir()) / "convbook-gpu-site"))
_INSTALLED = "CONVBOOK_GPU_CHECK_SITE"


def install_carried(carry: Path) -> None:
    """Install ``carry/wheels`` into ``SITE`` and restart this script with it on the path."""
    wheels = sorted((carry / "wheels").glob("*.whl"))
    if not wheels:
        raise SystemExit(f"{carry}/wheels holds no wheels: run python tools/gpu_carry.py first")
    shutil.rmtree(SITE, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
         "--no-cache-dir", "--target", str(SITE), *map(str, wheels)],
        check=True,
    )  # fmt: skip
    env = dict(os.environ)
    env[_INSTALLED] = str(SITE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(SITE / "bin"), env.get("PATH", "")])
    data = carry / "data" / "fashion-mnist"
    if data.is_dir():
        env.setdefault("CONVBOOK_DATA_DIR", str(data.resolve()))
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _selected(args) -> list[Path]:
    if args.notebooks:
        return [path.resolve() for path in args.notebooks]
    return sorted(REPO.glob("chapters/*.ipynb")) + sorted(REPO.glob("solutions/*/*.ipynb"))


def _copy(notebooks: list[Path], work: Path) -> list[Path]:
    """Copies under ``work`` with the repository's layout, so the originals stay as they are."""
    copies = []
    for path in notebooks:
        copy = work / path.relative_to(REPO)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
        copies.append(copy)
    return copies


def run_budget(budget: str, notebooks: list[Path], work: Path, timeout: int) -> list[dict]:
    from convbook.notebooks import execute

    rows = []
    for path in _copy(notebooks, work / budget):
        run = execute(path, timeout=timeout, env={"CONVBOOK_BUDGET": budget})
        name = str(path.relative_to(work / budget))
        rows.append({"budget": budget, "notebook": name, "seconds": round(run.seconds, 1),
                     "error": run.error, "training": run.training})  # fmt: skip
        accuracies = ", ".join(f"{t['model']} {t['val_acc']:.3f}" for t in run.training)
        status = "ok" if run.ok else f"FAILED: {run.error}"
        print(f"  {budget:<6}{name:<58}{run.seconds:7.1f} s  {status}  {accuracies}", flush=True)
    return rows


def grade(solutions: list[Path], work: Path) -> tuple[list[dict], str]:
    """``convbook grade`` on the selected solutions, submitted as one student's work."""
    submissions = work / "submissions"
    for path in solutions:
        target = submissions / "instructor" / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / path.name)
    out = work / "graded"
    # The console script a pip install made: beside this Python, or in the carried SITE.
    places = [Path(sys.executable).parent, SITE / "bin"]
    found = [place / "convbook" for place in places if (place / "convbook").is_file()]
    command = str(found[0]) if found else shutil.which("convbook") or "convbook"
    base = [command, "grade", str(submissions), "--out", str(out), "--no-progress",
            "--solutions", str(REPO / "solutions")]  # fmt: skip
    result = subprocess.run(base, capture_output=True, text=True)
    if result.returncode == 3:  # no sandbox on this machine: the course's own solutions are
        # trusted code, so grade them without it (the summary says so)
        result = subprocess.run([*base, "--no-sandbox"], capture_output=True, text=True)
    log = (result.stdout + result.stderr)[-4000:]
    if not (out / "grades.csv").is_file():
        return [], f"convbook grade exited {result.returncode} without grades.csv\n{log}"
    with open(out / "grades.csv", newline="") as handle:
        return list(csv.DictReader(handle)), log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carry", type=Path, help="folder made by tools/gpu_carry.py")
    parser.add_argument(
        "--notebooks", nargs="+", type=Path, help="default: every chapter and solution"
    )
    parser.add_argument("--budgets", nargs="+", default=["smoke", "cpu", "full"])
    parser.add_argument("--no-grade", action="store_true", help="skip convbook grade")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--report", type=Path, default=Path(os.environ.get("OUT", "gpu-check")))
    args = parser.parse_args(argv)
    if args.carry and os.environ.get(_INSTALLED) != str(SITE):
        install_carried(args.carry)  # does not return

    import torch

    import convbook

    os.environ.setdefault("CONVBOOK_PROGRESS", "0")
    device = convbook.try_gpu()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    header = {
        "device": f"{device} ({name or platform.machine()})",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "convbook": f"{_version('convbook')} from {Path(convbook.__file__).parent}",
        "data": os.environ.get("CONVBOOK_DATA_DIR", "(default search)"),
    }
    for key, value in header.items():
        print(f"{key:>9}: {value}")
    notebooks = _selected(args)
    work = Path(tempfile.mkdtemp(prefix="convbook-gpu-check-"))
    rows = []
    budgets = list(dict.fromkeys(args.budgets))
    first = budgets[0]
    print(f"executing {len(notebooks)} notebooks at the {first} budget")
    rows += run_budget(first, notebooks, work, args.timeout)
    training = [REPO / row["notebook"] for row in rows if row["training"]]
    training = [path for path in training if path.parent.name == "chapters"]
    for budget in budgets[1:]:
        print(f"executing the {len(training)} chapters that train at the {budget} budget")
        rows += run_budget(budget, training, work, args.timeout)

    grades, grade_log = [], "skipped"
    solutions = [path for path in notebooks if path.parent.parent.name == "solutions"]
    if solutions and not args.no_grade:
        print(f"grading {len(solutions)} solutions with convbook grade")
        grades, grade_log = grade(solutions, work)
        for row in grades:
            print(
                f"  {row['notebook']:<30}{row['score']:>6} / {row['max_score']:<6}"
                f"{row['status']}  {row['message']}"
            )
        if not grades:
            print(grade_log)

    args.report.mkdir(parents=True, exist_ok=True)
    report = {**header, "runs": rows, "grades": grades, "grade_log": grade_log}
    (args.report / "gpu_check.json").write_text(json.dumps(report, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    failed = [row for row in rows if row["error"]]
    not_full = [row for row in grades if row["status"] != "graded"]
    print(
        f"gpu_check: {len(rows) - len(failed)} of {len(rows)} notebook runs ok, "
        f"{len(grades) - len(not_full)} of {len(grades)} notebooks graded; "
        f"report: {args.report}/gpu_check.json"
    )
    return 1 if failed or not_full or (solutions and not args.no_grade and not grades) else 0


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    sys.exit(main())

"""Time ``convbook grade`` on the course's 12 real solutions, in the sandbox (issue 12).

The claim checked: grading costs at most 2.5 s per notebook on 2 cores, with the sandbox
in force. The run goes through the console script, as an instructor's does:

1. the 12 blank releases are graded first: this builds the nbgrader course (once per
   set of assignments, cached in OUT) and is timed apart;
2. the 12 solutions, submitted by ``--students`` students, are then graded into the same
   OUT. Every one is a new submission, so every one runs its hidden tests in a fresh
   jailed kernel. Only this run counts.

Usage: python bench/bench_grading.py [--jobs 2] [--students 1] [--solutions DIR]
The last line is ``RESULT s_per_notebook=<seconds> notebooks=<n>``.
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (``/proc/stat``). The kernels are forked
    inside jails by processes that are killed, not waited for, so the command's own
    ``RUSAGE_CHILDREN`` misses them; on an otherwise idle machine this is the grading's."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in fields]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _submit(root: Path, folder: Path, students: list[str]) -> int:
    count = 0
    for notebook in sorted(folder.glob("*/*.ipynb")):
        if notebook.stem != notebook.parent.name:
            continue
        for student in students:
            target = root / student / notebook.parent.name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(notebook, target)
            count += 1
    return count


def _grade(submissions: Path, out: Path, solutions: Path, jobs: int) -> tuple[float, list]:
    script = Path(sys.executable).with_name("convbook")
    command = [str(script), "grade", str(submissions), "--out", str(out), "--solutions",
               str(solutions), "--jobs", str(jobs), "--no-progress"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"convbook grade exited {done.returncode}:\n{done.stderr[-3000:]}")
    if "sandbox: in force" not in done.stdout:
        raise SystemExit("convbook grade ran without its sandbox; the figure would not count")
    with open(out / "grades.csv", newline="") as handle:
        return elapsed, list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--students", type=int, default=1)
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        blanks, subs, out = work / "blanks", work / "subs", work / "out"
        _submit(blanks, ROOT / "exercises", ["blank"])
        setup, _ = _grade(blanks, out, args.solutions, args.jobs)
        students = [f"student{i:02d}" for i in range(args.students)]
        count = _submit(subs, args.solutions, students)
        cpu_before = _busy_cpu_seconds()
        elapsed, rows = _grade(subs, out, args.solutions, args.jobs)
        cpu = _busy_cpu_seconds() - cpu_before
    finally:
        shutil.rmtree(work, ignore_errors=True)
    graded = [row for row in rows if row["student_id"] in students]
    statuses = sorted({row["status"] for row in graded})
    print(f"course build + 12 blank releases: {setup:.1f} s (once per set of assignments)")
    print(f"graded {len(graded)} solution notebooks with {args.jobs} jobs in {elapsed:.1f} s;"
          f" statuses {statuses}")  # fmt: skip
    print(f"CPU time {cpu / count:.2f} s per notebook (the machine's busy time while grading);"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"RESULT s_per_notebook={elapsed / count:.2f} notebooks={count}")


if __name__ == "__main__":
    main()

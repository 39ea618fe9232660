"""Time ``convbook grade`` on N generated submissions of the fixture assignment (issue 6).

The claim checked: grading in parallel costs at most 2.5 s per notebook on 2 cores. The
submissions mix right answers, blank releases, wrong and hard-coded answers, so every
notebook runs its hidden tests in a fresh sandboxed kernel. The one-off build of the
nbgrader course is done first and timed apart; the timed run grades every submission.

Usage: python bench/bench_grading.py [--notebooks 20] [--jobs 2] [--solutions DIR]
The last line is ``RESULT s_per_notebook=<seconds> notebooks=<n>``.
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "grading"))
import planted  # noqa: E402  (the fixture assignment and its planted answers)

from convbook.grading.app import Settings, grade_folder  # noqa: E402

MIX = [
    ("correct", planted.solution),
    ("blank", planted.blank),
    ("wrong", lambda: planted.answer(double=planted.WRONG_DOUBLE)),
    ("hardcoded", planted.CASES["hardcoded"][0]),
    ("edited", planted.edited_tests),
]


def _cpu_seconds() -> float:
    """CPU time of this process and of every finished child (workers, and their kernels)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def make_submissions(root: Path, count: int) -> None:
    """Write ``count`` students, cycling through the MIX of answers."""
    for index in range(count):
        kind, make = MIX[index % len(MIX)]
        folder = root / f"student{index:03d}_{kind}" / "toy"
        folder.mkdir(parents=True)
        nbformat.write(make(), folder / "toy.ipynb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--solutions", type=Path, default=planted.SOURCE)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        warm, subs, out = work / "warm", work / "subs", work / "out"
        make_submissions(warm, 1)
        settings = Settings(jobs=args.jobs, progress=False)
        start = time.perf_counter()
        grade_folder(warm, out, args.solutions, settings)  # builds and caches the course
        setup = time.perf_counter() - start
        shutil.rmtree(out / ".convbook" / "cache")
        make_submissions(subs, args.notebooks)
        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        rows = grade_folder(subs, out, args.solutions, settings)
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_before
    finally:
        shutil.rmtree(work, ignore_errors=True)
    statuses = sorted({row.status for row in rows})
    scores = sorted({row.score for row in rows})
    print(f"course build + first notebook: {setup:.1f} s (once per assignment set)")
    print(f"graded {len(rows)} notebooks with {args.jobs} jobs in {elapsed:.1f} s; "
          f"statuses {statuses}, scores {scores}")  # fmt: skip
    # other processes on a shared machine slow the wall clock; CPU time is what grading costs
    print(f"CPU time {cpu / len(rows):.2f} s per notebook (workers and kernels); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"RESULT s_per_notebook={elapsed / len(rows):.2f} notebooks={len(rows)}")


if __name__ == "__main__":
    main()

"""Time ``convbook grade`` on the course's 12 real solutions, in the sandbox (issue 12).

The claim checked: grading costs at most 2.5 s per notebook on 2 cores, with the sandbox
in force. The run goes through the console script, as an instructor's does:

1. the 12 blank releases are graded first: this builds the nbgrader course (once per
   set of assignments, cached in OUT) and is timed apart;
2. the 12 solutions, submitted by ``--students`` students, are then graded into the same
   OUT. Every one is a new submission, so every one runs its hidden tests in a fresh
   jailed kernel. Only this run counts.

With ``--scheduler`` (issue 23) the same solutions are then graded a second time, on a
Dask cluster, into a new OUT that starts with the first one's course (no rebuild, the same
secret): ``--scheduler tcp://HOST:8786`` uses a running cluster, ``--scheduler start``
starts ``dask scheduler`` and two ``dask worker --nthreads 1`` on this machine (stopped at
the end). The scores must equal the local run's. Target: at most 10 % more per notebook.

Usage: python bench/bench_grading.py [--jobs 2] [--students 1] [--solutions DIR]
                                     [--scheduler ADDRESS|start] [--repeat N]
The last lines are ``RESULT s_per_notebook=<seconds> notebooks=<n>`` and, with
``--scheduler``, ``RESULT dask_s_per_notebook=<seconds> notebooks=<n> overhead=<percent>``
(with ``--repeat N``, each run N times, alternating, and the medians reported).
"""

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_client_cpu: list[float] = []  # CPU time of each ``convbook grade`` process (its own only)


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


def _grade(
    submissions: Path, out: Path, solutions: Path, jobs: int, *where: str
) -> tuple[float, list]:
    script = Path(sys.executable).with_name("convbook")
    command = [str(script), "grade", str(submissions), "--out", str(out), "--solutions",
               str(solutions), "--jobs", str(jobs), "--no-progress", *where]  # fmt: skip
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    _client_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"convbook grade exited {done.returncode}:\n{done.stderr[-3000:]}")
    if "sandbox: in force" not in done.stdout:
        raise SystemExit("convbook grade ran without its sandbox; the figure would not count")
    with open(out / "grades.csv", newline="") as handle:
        return elapsed, list(csv.DictReader(handle))


@contextmanager
def _cluster(address: str, folder: Path):
    """The scheduler's address: ``address``, or with ``start`` a scheduler and two
    single-thread workers on this machine, stopped on leaving."""
    if address != "start":
        yield address
        return
    dask = Path(sys.executable).with_name("dask")
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "wb")  # noqa: SIM115 (closed below)
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                  stdout=log, stderr=log)]  # fmt: skip
    try:
        while not scheduler_file.exists():
            if processes[0].poll() is not None:
                raise SystemExit(f"dask scheduler exited; see {folder / 'dask.log'}")
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for name in ("bench1", "bench2"):
            processes.append(subprocess.Popen(
                [str(dask), "worker", address, "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--name", name, "--local-directory", str(folder / name)],
                stdout=log, stderr=log,
            ))  # fmt: skip
        from distributed import Client

        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):  # the workers first, then their scheduler
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def _seed(out: Path, reference: Path) -> None:
    """A new OUT with the reference OUT's course (no rebuild) and secret (same inputs)."""
    shutil.rmtree(out, ignore_errors=True)
    state = out / ".convbook"
    state.mkdir(parents=True, mode=0o700)
    shutil.copytree(reference / ".convbook" / "course", state / "course")
    for name in ("course.json", "secret"):
        shutil.copy2(reference / ".convbook" / name, state / name)


def _scores(rows: list, students: list[str]) -> dict:
    return {(r["student_id"], r["assignment"]): (r["score"], r["status"]) for r in rows
            if r["student_id"] in students}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--students", type=int, default=1)
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--scheduler", default=None, help="tcp://HOST:PORT, or start")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    local_times, dask_times = [], []
    try:
        blanks, subs, out = work / "blanks", work / "subs", work / "out"
        _submit(blanks, ROOT / "exercises", ["blank"])
        setup, _ = _grade(blanks, out, args.solutions, args.jobs)
        students = [f"student{i:02d}" for i in range(args.students)]
        count = _submit(subs, args.solutions, students)
        with _cluster(args.scheduler, work) if args.scheduler else _nothing() as address:
            for attempt in range(args.repeat):
                local_out = out if attempt == 0 else work / f"local{attempt}"
                if attempt:
                    _seed(local_out, out)
                cpu_before = _busy_cpu_seconds()
                elapsed, rows = _grade(subs, local_out, args.solutions, args.jobs)
                cpu = _busy_cpu_seconds() - cpu_before
                local_times.append(elapsed)
                if address:
                    dask_out = work / f"dask{attempt}"
                    _seed(dask_out, out)
                    took, dask_rows = _grade(subs, dask_out, args.solutions, args.jobs,
                                             "--scheduler", address)  # fmt: skip
                    client_cpu = _client_cpu[-1]
                    if _scores(dask_rows, students) != _scores(rows, students):
                        raise SystemExit("the Dask run's scores differ from the local run's")
                    dask_times.append(took)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = statistics.median(local_times)
    graded = [row for row in rows if row["student_id"] in students]
    statuses = sorted({row["status"] for row in graded})
    print(f"course build + 12 blank releases: {setup:.1f} s (once per set of assignments)")
    print(f"graded {len(graded)} solution notebooks with {args.jobs} jobs in {elapsed:.1f} s;"
          f" statuses {statuses}")  # fmt: skip
    print(f"CPU time {cpu / count:.2f} s per notebook (the machine's busy time while grading);"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    if dask_times:
        print(f"local runs {[round(t, 1) for t in local_times]} s, Dask runs "
              f"{[round(t, 1) for t in dask_times]} s (same scores); the Dask client's own"
              f" CPU time {client_cpu:.1f} s (start-up, gradebook, pages)")  # fmt: skip
    print(f"RESULT s_per_notebook={elapsed / count:.2f} notebooks={count}")
    if dask_times:
        took = statistics.median(dask_times)
        print(f"RESULT dask_s_per_notebook={took / count:.2f} notebooks={count}"
              f" overhead={100 * (took / elapsed - 1):+.0f}%")  # fmt: skip


@contextmanager
def _nothing():
    yield None


if __name__ == "__main__":
    main()

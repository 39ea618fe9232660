"""``convbook grade`` on a real Dask cluster (issue 23), with a PostgreSQL gradebook.

The cluster is ``dask scheduler`` and ``dask worker --nthreads 1`` processes on 127.0.0.1
(not an in-process cluster); the gradebook a real PostgreSQL server (``tests/postgres.py``).
The submissions are the 12 solutions, the 12 blank releases and a sample of the attack
corpus (a kernel that dies, a memory attack, two tricks), graded through the console
script, once locally with ``--jobs 2`` (the reference) and then on the cluster, with
faults: a worker SIGKILLed in the middle of the run, the client SIGKILLed after about half
the notebooks, a worker that cannot jail. Every Dask OUT starts with the reference OUT's
course and secret, so the hidden tests' salted inputs are the same.

Every process the module starts carries ``MARK`` in its environment (kernels do not: they
get an allow-list; they are found as descendants of the workers).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from convbook.grading.gradebook import open_gradebook
from convbook.grading.pool import FIRST_UID, LAST_UID

from . import attacks

ROOT = Path(__file__).resolve().parents[2]
CONVBOOK = Path(sys.executable).with_name("convbook")
DASK = Path(sys.executable).with_name("dask")
MARK_NAME, MARK = "CONVBOOK_TEST_CLUSTER", uuid.uuid4().hex
ATTACKS = ["exits_the_kernel", "forks_to_multiply_memory", "reads_hidden_tests_by_glob",
           "patches_torch_isclose"]  # fmt: skip
# The child kills itself when the test process dies (PR_SET_PDEATHSIG survives exec), so
# no scheduler or worker outlives a crashed test session.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGKILL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


# ---------------------------------------------------------------------------------------
# Processes


def _environ(pid: str) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, start time) of a process, None when it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else (int(fields[1]), int(fields[19]))


def _marked(suffix: str = "") -> list[int]:
    """Processes whose environment carries this module's mark (``-<suffix>``: one of them)."""
    wanted = f"{MARK_NAME}={MARK}{'-' + suffix if suffix else ''}".encode()

    def carries(entry: bytes) -> bool:
        return entry == wanted or (not suffix and entry.startswith(wanted))

    pids = filter(str.isdigit, os.listdir("/proc"))
    return [int(pid) for pid in pids if any(map(carries, _environ(pid)))]


def _descendants(roots: list[int]) -> dict[int, int]:
    """Every process below ``roots`` (and the roots): pid -> start time."""
    children: dict[int, list[tuple[int, int]]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        stat = _stat(pid)
        if stat:
            children.setdefault(stat[0], []).append((int(pid), stat[1]))
    found = {root: (_stat(str(root)) or (0, 0))[1] for root in roots}
    todo = list(roots)
    while todo:
        for pid, started in children.get(todo.pop(), []):
            found[pid] = started
            todo.append(pid)
    return found


def _alive(processes: dict[int, int]) -> list[str]:
    """Which of a snapshot's processes still run (same pid and start time)."""
    left = []
    for pid, started in processes.items():
        stat = _stat(str(pid))
        if stat and stat[1] == started:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            left.append(f"{pid}: {command.decode(errors='replace')[:100]}")
    return left


def _kernels(roots: list[int]) -> list[int]:
    """Processes below ``roots`` running as a slot's user: student kernels."""
    found = []
    for pid in _descendants(roots):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        if FIRST_UID <= uid <= LAST_UID:
            found.append(pid)
    return found


def _wait_until(check, timeout: float = 30.0):
    """Poll ``check()`` until it returns something falsy; returns its last value."""
    deadline = time.monotonic() + timeout
    while (value := check()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return value


class Cluster:
    """A scheduler and workers on 127.0.0.1, each a ``dask`` console-script process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.scheduler_file = folder / "scheduler.json"
        self.processes: dict[str, subprocess.Popen] = {}
        self.address = ""

    def _start(self, name: str, arguments: list[str], env: dict | None = None):
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (kept by the process)
        environment = {**os.environ, **(env or {}), MARK_NAME: f"{MARK}-{name}"}
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-c", _DIE_WITH_PARENT, str(DASK), *arguments],
            stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=self.folder,
        )  # fmt: skip
        log.close()

    def start_scheduler(self, name: str = "scheduler") -> str:
        self._start(name, ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                           "--scheduler-file", str(self.scheduler_file)])  # fmt: skip
        deadline = time.monotonic() + 120
        while not self.scheduler_file.exists() and time.monotonic() < deadline:
            assert self.processes[name].poll() is None, self.log(name)
            time.sleep(0.2)
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        return self.address

    def start_worker(self, name: str, env: dict | None = None) -> None:
        self._start(name, ["worker", self.address, "--nthreads", "1", "--no-nanny",
                           "--no-dashboard", "--host", "127.0.0.1", "--name", name,
                           "--local-directory", str(self.folder / name)], env)  # fmt: skip

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=120)

    def workers(self) -> dict[str, int]:
        alive = {name: p for name, p in self.processes.items() if p.poll() is None}
        return {name: p.pid for name, p in alive.items() if name != "scheduler"}

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """SIGTERM (a graceful close: each worker stops its slots), then SIGKILL; the
        workers first, while their scheduler still answers."""
        workers = [p for name, p in self.processes.items() if name != "scheduler"]
        for group in (workers, [self.processes.get("scheduler")]):
            for process in filter(None, group):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in filter(None, group):
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# ---------------------------------------------------------------------------------------
# Submissions and runs


def _submissions(folder: Path) -> list[str]:
    """Write the submissions; returns their ``student/assignment/notebook`` names."""
    names = []
    for slug in sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()):
        for student, source in (("teacher", "solutions"), ("nobody", "exercises")):
            (folder / student / slug).mkdir(parents=True)
            shutil.copy(ROOT / source / slug / f"{slug}.ipynb", folder / student / slug)
            names.append(f"{student}/{slug}/{slug}")
    for name in ATTACKS:
        kind = attacks.KINDS[name]
        slug = attacks.assignment_of(kind)
        (folder / name / slug).mkdir(parents=True)
        nbformat.write(kind[0](), folder / name / slug / f"{slug}.ipynb")
        names.append(f"{name}/{slug}/{slug}")
    return sorted(names)


def _command(submissions: Path, out: Path, *extra) -> list[str]:
    return [str(part) for part in [CONVBOOK, "grade", submissions, "--out", out, "--solutions",
                                   ROOT / "solutions", "--no-progress", *extra]]  # fmt: skip


def _env(name: str) -> dict:
    return {**os.environ, MARK_NAME: f"{MARK}-{name}"}


def _rows(out: Path) -> dict[tuple[str, str, str], dict]:
    with open(out / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {(r["student_id"], r["assignment"], r["notebook"]): r for r in rows}


def _summary(stdout: str) -> str:
    return stdout.split("\nsandbox:")[0]


def _cached(out: Path) -> set[str]:
    """The notebooks whose outcome OUT's cache holds (``student/assignment/notebook``)."""
    cache = out / ".convbook" / "cache"
    return {p.relative_to(cache).with_suffix("").as_posix() for p in cache.rglob("*.json")}


def _seed(out: Path, reference: Path) -> None:
    """Give a new OUT the reference's course (no rebuild) and secret (the same inputs)."""
    state = out / ".convbook"
    state.mkdir(parents=True, mode=0o700)
    shutil.copytree(reference / ".convbook" / "course", state / "course")
    for name in ("course.json", "secret"):
        shutil.copy2(reference / ".convbook" / name, state / name)


def _graded_once(db: str) -> dict[str, int]:
    """How many times the gradebook holds each submitted notebook."""
    counts: dict[str, int] = {}
    with open_gradebook(db) as gradebook:
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                for notebook in submission.notebooks:
                    name = f"{submission.student_id}/{assignment.name}/{notebook.name}"
                    counts[name] = counts.get(name, 0) + 1
    return counts


def _assert_same_as_local(out: Path, local: dict, stdout: str) -> None:
    assert _rows(out) == local["rows"]  # every column, notebook for notebook
    assert _summary(stdout) == local["summary"]
    for student, assignment, notebook in local["rows"]:
        page = out / "feedback" / student / assignment / f"{notebook}.html"
        assert page.read_text().rstrip().endswith("</html>"), page


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture(scope="module")
def local(work: Path) -> dict:
    """The reference: the same submissions graded with ``--jobs 2`` on this machine."""
    names = _submissions(work / "submissions")
    out = work / "local"
    done = subprocess.run(_command(work / "submissions", out, "--jobs", "2"), capture_output=True,
                          text=True, timeout=1200, env=_env("local"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(out)
    statuses = {name: rows[tuple(name.split("/"))]["status"] for name in names}
    assert statuses["exits_the_kernel/7_5_pooling/7_5_pooling"] == "kernel died"
    assert statuses["forks_to_multiply_memory/7_5_pooling/7_5_pooling"] == "resource limit"
    assert {statuses[name] for name in names if name.startswith("teacher/")} == {"graded"}
    return {"names": names, "rows": rows, "summary": _summary(done.stdout), "out": out}


@pytest.fixture(scope="module")
def cluster(work: Path):
    folder = work / "dask"
    folder.mkdir()
    cluster = Cluster(folder)
    try:
        cluster.start_scheduler()
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.stop()


# ---------------------------------------------------------------------------------------
# Tests (in this order: they share the cluster)


def test_a_worker_killed_mid_run_changes_nothing_and_leaves_nothing(
    local, cluster, work, postgres_url
):
    out = work / "killed-worker"
    _seed(out, local["out"])
    command = _command(work / "submissions", out, "--scheduler", cluster.address, "--db",
                       postgres_url)  # fmt: skip
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env("client"))  # fmt: skip
    try:
        _wait_until(lambda: len(_cached(out)) < 8 and client.poll() is None, timeout=900)
        victim = cluster.processes["w1"]
        # in the middle of a notebook: its kernel runs
        assert _wait_until(lambda: not _kernels([victim.pid]), timeout=120) is False
        doomed = _descendants([victim.pid])  # the worker, its slot, zygote and kernel
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        cluster.start_worker("w3")  # its replacement, as a nanny or an operator would start
        stdout, stderr = client.communicate(timeout=900)
    finally:
        client.kill()
    assert client.returncode == 0, stderr[-3000:]
    assert _wait_until(lambda: _alive(doomed), timeout=20) == []  # its lifeline took them
    assert _marked("w1") == []

    _assert_same_as_local(out, local, stdout)
    assert _graded_once(postgres_url) == {"/".join(key): 1 for key in local["rows"]}
    assert sorted(json.loads((out / ".convbook" / "last_run.json").read_text())) == local["names"]
    assert "Remove worker" in cluster.log("scheduler")


def test_a_killed_client_rerun_grades_only_the_rest(local, cluster, work, postgres_url):
    cluster.wait_for_workers(2)  # w2 and w1's replacement
    out = work / "killed-client"
    _seed(out, local["out"])
    command = _command(work / "submissions", out, "--scheduler-file", cluster.scheduler_file,
                       "--db", postgres_url)  # fmt: skip
    client = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=_env("client"))  # fmt: skip
    half = len(local["names"]) // 2
    try:
        _wait_until(lambda: len(_cached(out)) < half and client.poll() is None, timeout=900)
    finally:
        client.kill()
        client.wait()
    done_before = _cached(out)
    assert half <= len(done_before) < len(local["names"])
    # the scheduler cancels the dead client's tasks; each worker stops the notebook it was
    # grading (its kernel with it) instead of finishing it for nobody
    workers = list(cluster.workers().values())
    assert _wait_until(lambda: _kernels(workers), timeout=30) == []

    done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env=_env("client"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rest = json.loads((out / ".convbook" / "last_run.json").read_text())
    assert sorted(rest) == sorted(set(local["names"]) - done_before)
    _assert_same_as_local(out, local, done.stdout)
    assert _graded_once(postgres_url) == {"/".join(key): 1 for key in local["rows"]}


def test_a_worker_without_bubblewrap_refuses_and_the_run_fails_closed(local, work):
    """Its own scheduler, so the unjailed worker surely gets a task."""
    folder = work / "no-bwrap"
    folder.mkdir()
    tools = folder / "bin"  # PATH: unshare and ip, no bwrap
    tools.mkdir()
    for tool in ("unshare", "ip"):
        if shutil.which(tool):
            (tools / tool).symlink_to(shutil.which(tool))
    unjailed = Cluster(folder)
    try:
        unjailed.start_scheduler()
        unjailed.start_worker("nobwrap", env={"PATH": str(tools)})
        unjailed.wait_for_workers(1)
        out = work / "refused"
        _seed(out, local["out"])
        done = subprocess.run(
            _command(work / "submissions", out, "--scheduler", unjailed.address),
            capture_output=True, text=True, timeout=600, env=_env("client"),
        )  # fmt: skip
    finally:
        unjailed.stop()
    assert done.returncode == 3, done.stderr[-3000:]
    assert "cannot isolate student code" in done.stderr and "bubblewrap" in done.stderr
    assert "(host " in done.stderr and "Dask worker tcp://127.0.0.1:" in done.stderr
    assert not (out / "grades.csv").exists() and _cached(out) == set()
    assert not (out / "autograded").exists()
    assert _graded_once(f"sqlite:///{out / 'gradebook.db'}") == {}


def test_stopping_the_cluster_leaves_no_process(cluster):
    everything = _descendants(list(cluster.workers().values()))
    cluster.stop()
    assert _wait_until(lambda: _alive(everything), timeout=30) == []
    assert _wait_until(lambda: _marked(), timeout=10) == []

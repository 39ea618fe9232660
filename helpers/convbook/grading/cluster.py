"""Grading on a Dask cluster: the executor of ``convbook grade --scheduler ADDRESS`` or
``--scheduler-file F`` (issue 23). Imported only then: ``distributed`` is the optional
``cluster`` extra.

Each notebook is one task (``remote.grade``), keyed by what its grade depends on:
``convbook-<assignment>-<student>-<notebook>-<content sha[:12]>-<version[:12]>``, the
version hashing the course, the grader, the limits and OUT's secret. Keys are given,
not Dask's random ones (``pure=False``): a task is a pure function of its key's inputs, so
a client that submits a key already in the cluster (its own retry, or its rerun while
the scheduler still holds the key of a client it has not yet seen die) shares that task
instead of grading the notebook twice.

The course travels once per run as one task's input (:func:`course_bundle`), not as
scattered data: the scheduler recomputes a lost task from its input when the worker
holding the result dies, while scattered data is lost with its worker.

Faults. A worker lost while grading is Dask's own: the scheduler reruns the task on
another worker, up to its ``distributed.scheduler.allowed-failures`` (then
``KilledWorker``: the notebook gets status ``error``, is not cached, and the next run
grades it again). A task that raises (an infrastructure fault on the worker: a full disk,
a slot that cannot start) is retried by this client up to :data:`RETRIES` times; Dask's
own ``retries=`` is not used because it would also retry a refusal. A worker that cannot
jail student code raises ``SandboxRefused``: never retried, the run stops (fail closed).
A notebook that crashes its own kernel is a result (``kernel died``), not a fault.

Only the client writes: results come back as data and ``app`` records them.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..extras import require
from .executors import Graded, Job, SandboxRefused, job_fields
from .records import CellGrade, Result, Settings

__all__ = ["RETRIES", "DaskExecutor", "course_bundle", "task_key"]

RETRIES = 2  # further tries of a task that raised (not of one whose worker died: Dask's)
CONNECT_TIMEOUT_S = 30


def task_key(job: Job) -> str:
    """The Dask key of one notebook's task (see the module's docstring)."""
    submission = job.submission
    content = hashlib.sha256(Path(submission.path).read_bytes()).hexdigest()[:12]
    version = hashlib.sha256(f"{job.key}:{job.salt}".encode()).hexdigest()[:12]
    raw = f"{submission.assignment}-{submission.student}-{submission.notebook}"
    safe = re.sub(r"[^A-Za-z0-9_.]", "_", raw)
    if safe != raw:  # two ids that differ only where they were sanitised stay apart
        safe += "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"convbook-{safe}-{content}-{version}"


def course_bundle(course, jobs: Sequence[Job]) -> dict:
    """The files a worker needs for ``jobs``, as bytes: the course's nbgrader settings and
    template gradebook, and each graded notebook's release and source (hidden tests).

    Args:
        course: the template course (``app._Course`` or ``executors.CourseFiles``).
        jobs: the notebooks of this run.

    Returns:
        ``{"digest": sha256 of every path and content, "files": {relative path: bytes}}``.
    """
    paths = {course.config, course.db}
    for job in jobs:
        assignment, notebook = job.submission.assignment, job.submission.notebook
        paths |= {course.release(assignment, notebook), course.source(assignment, notebook)}
    root = Path(course.root)
    files = {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(paths)}
    sha = hashlib.sha256()
    for name, data in files.items():
        sha.update(f"{name}\0{len(data)}\0".encode())
        sha.update(data)
    return {"digest": sha.hexdigest(), "files": files}


def result_of(data: dict | None) -> Result | None:
    """A ``Result`` from the plain data a task returned (None: the notebook hung)."""
    if data is None:
        return None
    data = dict(data)
    data["grades"] = [CellGrade(**grade) for grade in data["grades"]]
    data["events"] = [tuple(event) for event in data["events"]]
    data["autograded"] = None  # a path on the worker, gone; the bytes came back instead
    return Result(**data)


def _hold(bundle: dict) -> dict:
    """The course bundle's task: its result is its input, kept on a worker."""
    return bundle


class DaskExecutor:
    """Grade each notebook as a Dask task (see the module's docstring).

    Args:
        course: the template course.
        settings: the run's limits (``jobs`` is ignored: the cluster's threads count).
        address: the scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
        scheduler_file: or the JSON file ``dask scheduler --scheduler-file`` wrote.

    Raises:
        ValueError: if the scheduler cannot be reached.
    """

    def __init__(
        self,
        course,
        settings: Settings,
        address: str | None = None,
        scheduler_file: Path | None = None,
    ) -> None:
        distributed = require("distributed", "grading on a Dask cluster (--scheduler)")
        where = address or f"the scheduler named in {scheduler_file}"
        if address is None and scheduler_file is None:
            raise ValueError("DaskExecutor needs a scheduler address or a scheduler file")
        try:
            self.client = distributed.Client(
                address,
                scheduler_file=None if scheduler_file is None else str(scheduler_file),
                timeout=CONNECT_TIMEOUT_S,
                set_as_default=False,
            )
        except (OSError, TimeoutError, ValueError) as error:
            raise ValueError(f"cannot reach the Dask scheduler at {where}: {error}") from None
        self.course = course
        self.settings = settings
        self._seen: tuple[float, int, dict[str, int]] | None = None

    def _threads(self) -> tuple[int, dict[str, int]]:
        """The cluster's worker threads, in all and by host (asked at most every 5 s:
        workers may come and go during a run)."""
        if self._seen is None or time.monotonic() - self._seen[0] > 5:
            by_host: dict[str, int] = defaultdict(int)
            for info in self.client.scheduler_info(n_workers=-1)["workers"].values():
                by_host[info["host"]] += info["nthreads"]
            self._seen = (time.monotonic(), sum(by_host.values()), dict(by_host))
        return self._seen[1], self._seen[2]

    def run(self, jobs: Sequence[Job]) -> Iterator[Graded]:
        from distributed import KilledWorker, as_completed

        from . import remote

        client = self.client
        if self._threads()[0] == 0:
            print("convbook grade: the Dask cluster has no worker yet; waiting for one",
                  file=sys.stderr)  # fmt: skip
        bundle = course_bundle(self.course, jobs)
        course = client.submit(_hold, bundle, key=f"convbook-course-{bundle['digest'][:16]}")
        waiting = list(reversed(jobs))
        running: dict[str, tuple[Job, int, object]] = {}  # key -> (job, tries so far, future)
        futures = as_completed(loop=client.loop)

        def submit(job: Job, tries: int) -> None:
            _, by_host = self._threads()
            payload = dict(fields=job_fields(job, self.settings), host_threads=by_host,
                           submission=Path(job.submission.path).read_bytes())  # fmt: skip
            # a retry gets a key of its own: the erred one may not be forgotten yet
            key = task_key(job) + (f"-retry{tries}" if tries else "")
            future = client.submit(remote.grade, course, payload, key=key)
            running[future.key] = (job, tries, future)
            futures.add(future)

        def fill() -> None:
            # a window, not every notebook at once: the scheduler holds each task's
            # submission, and a killed client leaves at most this much to cancel
            threads, _ = self._threads()
            while waiting and len(running) < max(8, 2 * threads):
                submit(waiting.pop(), 0)

        try:
            fill()
            for future in futures:
                job, tries, _ = running.pop(future.key)
                if future.status == "finished":
                    data = future.result()
                    future.release()
                    yield Graded(job, result_of(data["result"]), data["notebook"])
                else:
                    error = future.exception() if future.status == "error" else None
                    future.release()
                    if isinstance(error, SandboxRefused):
                        raise SandboxRefused(str(error)) from None
                    if isinstance(error, KilledWorker) or tries >= RETRIES:
                        told = f"{type(error).__name__}: {error}" if error else future.status
                        log = f"the cluster could not grade it ({tries + 1} tries): {told}"
                        yield Graded(job, Result(ok=False, log=log))
                    else:
                        submit(job, tries + 1)
                fill()
        finally:
            if running:  # the caller stopped (an error, a refusal): grade nothing more
                client.cancel([future for _, _, future in running.values()])
            course.release()

    def close(self) -> None:
        self.client.close()

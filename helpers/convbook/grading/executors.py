"""Where the notebooks of a ``convbook grade`` run are graded: one interface, two executors.

``app.grade_folder`` hands an executor the notebooks to grade as :class:`Job`s and gets
back, in the order they finish, a :class:`Graded` for each: the worker's ``Result`` and the
autograded notebook's bytes. Everything else (the cache, the gradebook, the pages, OUT)
stays with the caller, in one thread: executors never write there.

* :class:`LocalSlots` (the default): ``--jobs`` long-lived workers on this machine
  (``pool.WorkerSlot``).
* ``cluster.DaskExecutor`` (``--scheduler`` / ``--scheduler-file``): one Dask task per
  notebook; each Dask worker grades it in the same slots (``remote``).

Both build the worker's :class:`~convbook.grading.records.Request` with
:func:`make_request`, so a notebook gets the same limits whichever ran it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from . import policy
from .pool import WorkerSlot
from .records import Request, Result, Settings, Submission

__all__ = [
    "CourseFiles",
    "Executor",
    "Graded",
    "Job",
    "LocalSlots",
    "SandboxRefused",
    "make_request",
    "slot_limit",
]


class SandboxRefused(RuntimeError):
    """A worker cannot jail student code (``sandbox.missing()``): the run must stop."""


@dataclass(frozen=True)
class Job:
    """One notebook to grade.

    Attributes:
        submission: what was handed in (its ``path`` is read by the executor).
        key: the cache key: grader version, course, limits and the submission's bytes.
        salt: the seed of its hidden tests' inputs (``app._course_secret``); the worker
            needs it, no kernel ever sees it.
    """

    submission: Submission
    key: str
    salt: str


@dataclass
class Graded:
    """What came back for one job.

    Attributes:
        job: the job.
        result: the worker's result; None when it hung and was stopped.
        notebook: the autograded notebook (None when nbgrader made none).
    """

    job: Job
    result: Result | None
    notebook: bytes | None = None


class Executor(Protocol):
    """Grades jobs somewhere; see the module's docstring."""

    def run(self, jobs: Sequence[Job]) -> Iterator[Graded]:
        """Grade ``jobs``, yielding each as it finishes (in any order).

        Raises:
            SandboxRefused: a worker cannot jail student code; nothing more is graded.
        """
        ...

    def close(self) -> None:
        """Stop every worker this executor started (called once, also after errors)."""
        ...


class CourseFiles:
    """The files of a template course (``app._Course``, or a copy a Dask worker unpacked)
    that the worker reads: its settings, template gradebook, releases and sources."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.config = self.root / "nbgrader_config.py"
        self.db = self.root / "gradebook.db"

    def release(self, assignment: str, notebook: str) -> Path:
        for folder in ("exercises", "release"):
            path = self.root / folder / assignment / f"{notebook}.ipynb"
            if path.exists():
                return path
        raise ValueError(f"no release of {assignment}/{notebook} in {self.root}")

    def source(self, assignment: str, notebook: str) -> Path:
        path = self.root / "solutions" / assignment / f"{notebook}.ipynb"
        if not path.exists():
            raise ValueError(f"no source of {assignment}/{notebook} in {self.root}")
        return path


def limits(settings: Settings) -> dict:
    """The Request fields set by the command's options (the same wherever it runs)."""
    return dict(
        cell_timeout=settings.cell_timeout,
        notebook_timeout=settings.notebook_timeout,
        memory_bytes=settings.memory_mb << 20,
        sandbox=settings.sandbox,
    )


def slot_limit(notebook_timeout: float) -> float:
    """Seconds a slot may take for one notebook before it is stopped."""
    return notebook_timeout + policy.WORKER_OVERHEAD_S


def make_request(
    job: dict, course: CourseFiles, work: Path, submission: bytes, *, uid: int, threads: int
) -> Path:
    """Write one notebook's request into its (new, empty) work folder.

    Args:
        job: student, assignment, notebook, salt and :func:`limits`.
        course: where the course's files are on this machine.
        work: the request's folder (the worker writes its result there).
        submission: the submitted notebook's bytes.
        uid: the slot's kernel user.
        threads: BLAS/OpenMP threads and CPU cores of the kernel.

    Returns:
        The request's path, for ``WorkerSlot.grade``.
    """
    (work / "incoming.ipynb").write_bytes(submission)
    request = Request(
        work_dir=str(work),
        submission=str(work / "incoming.ipynb"),
        config_file=str(course.config),
        release_notebook=str(course.release(job["assignment"], job["notebook"])),
        source_notebook=str(course.source(job["assignment"], job["notebook"])),
        template_db=str(course.db),
        uid=uid,
        threads=threads,
        **job,
    )
    path = work / "request.json"
    path.write_text(json.dumps(asdict(request)))
    return path


def job_fields(job: Job, settings: Settings) -> dict:
    """The Request fields of ``job`` that are neither paths nor the slot's own."""
    submission = job.submission
    return dict(student=submission.student, assignment=submission.assignment,
                notebook=submission.notebook, salt=job.salt, **limits(settings))  # fmt: skip


def private_scratch(prefix: str) -> Path:
    """A new private folder ``<tmp>/<prefix><pid>-XXXX`` for one process's slots, after
    removing those of processes of this host that died without cleaning up (a SIGKILL)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = folder.name[len(prefix) :].split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def read_autograded(result: Result | None) -> bytes | None:
    """The autograded notebook a worker wrote, if any."""
    if result is None or not result.autograded or not Path(result.autograded).is_file():
        return None
    return Path(result.autograded).read_bytes()


class LocalSlots:
    """``settings.jobs`` worker slots on this machine (the default executor)."""

    def __init__(self, course: CourseFiles, settings: Settings) -> None:
        self.course = course
        self.settings = settings
        self.threads = max(1, (os.cpu_count() or 1) // settings.jobs)
        self.scratch = private_scratch("convbook-grade-")
        self.slots: list[WorkerSlot] = []

    def run(self, jobs: Sequence[Job]) -> Iterator[Graded]:
        self.slots = [WorkerSlot(i, self.scratch) for i in range(self.settings.jobs)]
        free = list(self.slots)
        lock = threading.Lock()
        limit = slot_limit(self.settings.notebook_timeout)

        def grade(job: Job) -> Graded:
            with lock:
                slot = free.pop()
            submission = job.submission
            work = Path(tempfile.mkdtemp(prefix=f"{submission.student[:20]}-", dir=self.scratch))
            try:
                request = make_request(
                    job_fields(job, self.settings), self.course, work,
                    Path(submission.path).read_bytes(), uid=slot.uid, threads=self.threads,
                )  # fmt: skip
                result = slot.grade(request, limit)
            finally:
                with lock:
                    free.append(slot)
            graded = Graded(job, result, read_autograded(result))
            if not os.environ.get("CONVBOOK_GRADE_KEEP"):
                shutil.rmtree(work, ignore_errors=True)
            return graded

        pool = ThreadPoolExecutor(self.settings.jobs)
        try:
            futures = [pool.submit(grade, job) for job in jobs]
            for future in as_completed(futures):
                yield future.result()
        finally:  # the caller failed: finish the notebooks being graded, start no other
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        for slot in self.slots:  # all at once: each worker takes a moment to exit
            slot.finish()
        for slot in self.slots:
            slot.release()
        if not os.environ.get("CONVBOOK_GRADE_KEEP"):
            shutil.rmtree(self.scratch, ignore_errors=True)

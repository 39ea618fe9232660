"""The Dask task of ``convbook grade --scheduler``: one notebook, graded on a Dask worker.

:func:`grade` runs in a Dask worker's thread. It receives plain data, the course bundle
(``cluster.course_bundle``: the course's files as bytes) and one job (the request's
fields and the submission's bytes), and returns plain data: the worker's ``Result`` as a
dict and the autograded notebook's bytes. No shared file system is assumed: the bundle is
unpacked into a private folder of this process, once per course version, and each
notebook gets a work folder of its own there, removed afterwards.

The grading itself is a local slot's (``pool.WorkerSlot``): the same worker program in its
own namespaces, the same jailed kernels, the same limits. Each thread of this Dask worker
keeps a slot across tasks (so its zygote pays off); the slot's uid is claimed on this host
(``pool.claim_uid``), so two Dask workers on one host never share a kernel user. The slot's
worker holds this process as its lifeline: when the Dask worker dies (even by SIGKILL),
the grading worker exits and takes its zygote and kernels with it.

A worker that cannot jail student code refuses every task with ``SandboxRefused`` unless
the run was started with ``--no-sandbox``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path, PurePosixPath

from .executors import (
    CourseFiles,
    SandboxRefused,
    make_request,
    private_scratch,
    read_autograded,
    slot_limit,
)
from .pool import WorkerSlot
from .sandbox import missing

__all__ = ["grade"]

_KEEP_COURSES = 2  # course versions kept unpacked (a run and the one before)


class _Station:
    """This process's grading slots and unpacked courses (one per Dask worker process)."""

    def __init__(self) -> None:
        self.scratch = private_scratch("convbook-dask-")
        self.lock = threading.Lock()
        self.slots: list[WorkerSlot] = []
        self.free: list[WorkerSlot] = []
        self.courses: dict[str, Path] = {}
        atexit.register(self.close)

    def take(self) -> WorkerSlot:
        with self.lock:
            if self.free:
                return self.free.pop()
            slot = WorkerSlot(len(self.slots), self.scratch)
            self.slots.append(slot)
            return slot

    def give_back(self, slot: WorkerSlot) -> None:
        with self.lock:
            self.free.append(slot)

    def course(self, bundle: dict) -> CourseFiles:
        """The bundle's files, unpacked once into this process's private folder."""
        digest = bundle["digest"]
        with self.lock:
            if digest not in self.courses:
                root = self.scratch / f"course-{digest[:16]}"
                partial = Path(tempfile.mkdtemp(prefix=".course-", dir=self.scratch))
                for name, data in bundle["files"].items():
                    relative = PurePosixPath(name)
                    if relative.is_absolute() or ".." in relative.parts:
                        raise ValueError(f"course bundle holds a path outside it: {name!r}")
                    target = partial / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                partial.rename(root)
                self.courses[digest] = root
                for old in list(self.courses)[:-_KEEP_COURSES]:
                    shutil.rmtree(self.courses.pop(old), ignore_errors=True)
            return CourseFiles(self.courses[digest])

    def close(self) -> None:
        for slot in self.slots:
            slot.finish()
        for slot in self.slots:
            slot.release()
        shutil.rmtree(self.scratch, ignore_errors=True)


_station: _Station | None = None
_station_lock = threading.Lock()


def _get_station() -> _Station:
    global _station
    with _station_lock:
        if _station is None:
            _station = _Station()
        return _station


def _threads(host_threads: dict[str, int], worker) -> int:
    """The kernel's share of this host's cores: the cores divided among every Dask worker
    thread of this host (as ``--jobs`` divides them locally)."""
    from distributed.comm import get_address_host

    sharing = host_threads.get(get_address_host(worker.address), worker.state.nthreads)
    return max(1, (os.cpu_count() or 1) // max(1, sharing))


def grade(course: dict, job: dict) -> dict:
    """Grade one notebook on this Dask worker (the task of ``cluster.DaskExecutor``).

    Args:
        course: ``{"digest": str, "files": {relative path: bytes}}``, the template course.
        job: ``{"fields": ..., "submission": bytes, "host_threads": {host: threads}}``:
            the request's fields (``executors.job_fields``), the notebook's bytes, and the
            Dask worker threads of each host (to share the cores as local slots do).

    Returns:
        ``{"result": Result as a dict, or None when the notebook hung, "notebook": the
        autograded notebook's bytes or None, "worker": this worker's address}``.

    Raises:
        SandboxRefused: this host cannot jail student code and the run wants the jail.
    """
    from distributed import get_worker
    from distributed.worker import thread_state

    worker = get_worker()
    fields = job["fields"]
    if fields["sandbox"]:
        problems = missing()
        if problems:
            raise SandboxRefused(
                f"Dask worker {worker.address} (host {socket.gethostname()}) cannot isolate "
                "student code; missing: " + "; ".join(problems)
            )
    station = _get_station()
    files = station.course(course)
    key = thread_state.key

    def cancelled() -> bool:  # the client released the task (it is gone, or stopped)
        task = worker.state.tasks.get(key)
        return task is None or task.state in ("cancelled", "released", "forgotten")

    slot = station.take()
    work = Path(tempfile.mkdtemp(prefix="job-", dir=station.scratch))
    try:
        request = make_request(fields, files, work, job["submission"], uid=slot.uid,
                               threads=_threads(job["host_threads"], worker))  # fmt: skip
        result = slot.grade(request, slot_limit(fields["notebook_timeout"]), cancelled)
        notebook = read_autograded(result)
    finally:
        station.give_back(slot)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "result": None if result is None else asdict(result),
        "notebook": notebook,
        "worker": worker.address,
    }

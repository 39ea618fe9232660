"""Long-lived grading workers, one per slot, each in its own namespaces.

A slot's kernels run as a user of their own (``uid``). Slots of several processes on one
host (two ``convbook grade`` runs, or two Dask workers) must never share one, so each slot
claims its uid with a lock file of this host (:func:`claim_uid`) and holds it until its
worker, and with it every kernel of that uid, is gone.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .records import CellGrade, Result
from .sandbox import worker_prefix

__all__ = ["FIRST_UID", "LAST_UID", "WorkerSlot", "claim_uid"]

FIRST_UID, LAST_UID = 60001, 60900  # the slots' users (the sandbox's probe uses 60999)
_POLL_S = 1.0  # how often a waiting slot asks whether its notebook is still wanted


def _lock_dir() -> Path:
    """Where this host's slot locks live: ``/run/convbook-slots`` as root, else a folder of
    this user in the temporary folder."""
    if os.geteuid() == 0 and os.access("/run", os.W_OK):
        return Path("/run/convbook-slots")
    return Path(tempfile.gettempdir()) / f"convbook-slots-{os.geteuid()}"


def claim_uid() -> tuple[int, int]:
    """Claim a kernel user no other slot of this host holds.

    Returns:
        ``(uid, fd)``: the lock is held while ``fd`` (or a copy of it in a child process)
        is open; closing it, or the death of every process holding it, frees the uid.

    Raises:
        RuntimeError: if every uid from FIRST_UID to LAST_UID is held.
    """
    folder = _lock_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    for uid in range(FIRST_UID, LAST_UID + 1):
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"all {LAST_UID - FIRST_UID + 1} grading slots of this host are in use")


class WorkerSlot:
    """One long-lived worker process (restarted after a crash or a hang).

    Attributes:
        uid: the user this slot's kernels run as, claimed for this slot alone (on this
            host) until :meth:`release`.
    """

    def __init__(self, index: int, log_dir: Path) -> None:
        self.uid, self._uid_lock = claim_uid()
        self.log_path = log_dir / f"worker{index}.log"
        self.process: subprocess.Popen | None = None
        self.reader = -1
        self.lifeline = -1

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        # The worker's lifeline: this process holds the write end until the worker has
        # exited; if this process dies first (even by SIGKILL), the worker reads EOF and
        # takes its kernels with it.
        life_read, self.lifeline = os.pipe()
        command = [*worker_prefix(), sys.executable, "-m", "convbook.grading.worker"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*command, "--serve", str(write_end), str(life_read)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                # the uid's lock too: it stays held until the worker (and so every kernel
                # of its PID namespace) is gone, even when this process dies first
                pass_fds=[write_end, life_read, self._uid_lock],
                start_new_session=True,
                text=True,
            )
        os.close(write_end)
        os.close(life_read)
        self.reader = read_end

    def finish(self) -> None:
        """Tell the worker there is no more work: its loop ends and it exits."""
        if self.process is not None and self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def stop(self, graceful: bool = False) -> None:
        if self.process is None:
            return
        if graceful:
            self.finish()
            try:
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        os.close(self.reader)
        os.close(self.lifeline)
        self.process = None

    def release(self) -> None:
        """Stop the worker (gracefully) and free the slot's uid for other slots."""
        self.stop(graceful=True)
        if self._uid_lock >= 0:
            os.close(self._uid_lock)
            self._uid_lock = -1

    def grade(
        self,
        request_path: Path,
        timeout: float,
        cancelled: Callable[[], bool] | None = None,
    ) -> Result | None:
        """Send one request; None when the worker hung (killed), died or was cancelled.

        Args:
            request_path: the request's JSON; the result is written beside it.
            timeout: seconds the worker may take before it is killed.
            cancelled: asked about once a second while waiting: True stops the worker
                (the notebook is no longer wanted, e.g. its Dask task was cancelled).
        """
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self._start()
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(f"{request_path}\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return None
        if not self._wait(timeout, cancelled) or not os.read(self.reader, 64):
            self.stop()
            return None
        result = json.loads((request_path.parent / "result.json").read_text())
        result["grades"] = [CellGrade(**g) for g in result["grades"]]
        result["events"] = [tuple(e) for e in result["events"]]
        return Result(**result)

    def _wait(self, timeout: float, cancelled: Callable[[], bool] | None) -> bool:
        """Wait until the worker reports; False after ``timeout`` or once ``cancelled``."""
        if cancelled is None:
            return bool(select.select([self.reader], [], [], timeout)[0])
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self.reader], [], [], min(left, _POLL_S))[0]:
                return True
            if cancelled():
                return False
        return False

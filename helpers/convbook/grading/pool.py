"""Long-lived grading workers, one per ``--jobs`` slot, each in its own namespaces."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from .records import CellGrade, Result
from .sandbox import worker_prefix

__all__ = ["WorkerSlot"]


class WorkerSlot:
    """One long-lived worker process (restarted after a crash or a hang)."""

    def __init__(self, index: int, log_dir: Path) -> None:
        self.uid = 60001 + index
        self.log_path = log_dir / f"worker{index}.log"
        self.process: subprocess.Popen | None = None
        self.reader = -1

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        command = [*worker_prefix(), sys.executable, "-m", "convbook.grading.worker"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*command, "--serve", str(write_end)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=[write_end],
                start_new_session=True,
                text=True,
            )
        os.close(write_end)
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
        self.process = None

    def grade(self, request_path: Path, timeout: float) -> Result | None:
        """Send one request; None when the worker hung (killed) or died."""
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
        ready, _, _ = select.select([self.reader], [], [], timeout)
        if not ready or not os.read(self.reader, 64):
            self.stop()
            return None
        result = json.loads((request_path.parent / "result.json").read_text())
        result["grades"] = [CellGrade(**g) for g in result["grades"]]
        result["events"] = [tuple(e) for e in result["events"]]
        return Result(**result)

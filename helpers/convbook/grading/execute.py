"""nbgrader's Execute preprocessor, hardened for hostile notebooks.

Differences from ``nbgrader.preprocessors.Execute``:

* the kernel starts through ``convbook.grading.sandbox`` (resource limits, hidden folders,
  an unprivileged user) - see ``JailedKernelManager``;
* a notebook-wide time budget on top of the per-cell timeout; cells that never ran get an
  error output, so nbgrader cannot mistake an unexecuted test cell for a passed one;
* a dead kernel (``sys.exit``, ``os._exit``, a kill) stops execution instead of aborting
  the whole notebook, and what ran before is kept;
* output beyond a byte budget per cell is dropped;
* every test cell runs in a scope of its own (``scope.run_test``), with the guard cells of
  ``tamper.Guard`` around it; the guards are removed again and the test cells get their
  own source back, so the feedback shows the tests as written.

What happened (timeouts, a dead kernel, tampering, ...) is kept in ``events`` and written to
``events_file``, where the worker reads it.
"""

from __future__ import annotations

import json
import sys
import time

from IPython.core.inputtransformer2 import TransformerManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution
from traitlets import Float, Integer, List, Unicode

from . import policy, sandbox
from .tamper import GUARD_TAG, Guard

__all__ = ["JailedKernelManager", "SandboxedExecute"]


_MEMORY_SIGNS = ("MemoryError", "can't allocate memory", "bad_alloc", "out of memory")


class JailedKernelManager(AsyncKernelManager):
    """Starts the kernel command behind the ``sandbox`` launcher."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        # run the file, not ``-m convbook...``: importing the package would import torch twice
        return [sys.executable, "-I", sandbox.__file__, "--", *command]


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _is_test_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


class SandboxedExecute(Execute):
    """Execute with a notebook time budget, dead-kernel recovery, output caps and guards."""

    notebook_timeout = Float(
        policy.NOTEBOOK_TIMEOUT_S, help="Seconds for the whole notebook; later cells are not run."
    ).tag(config=True)
    max_output_bytes = Integer(
        policy.MAX_OUTPUT_BYTES, help="Bytes of output kept per cell; the rest is dropped."
    ).tag(config=True)
    context = Unicode(
        "", help="The assignment's locked import and constant cells, as plain Python."
    ).tag(config=True)
    answers = List(Unicode(), help="Names a test may take from the notebook.").tag(config=True)
    events_file = Unicode("", help="Where to write what happened, as JSON.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", JailedKernelManager)
        # every output is in by then; a graceful shutdown only waits (about 3 s a notebook)
        kwargs.setdefault("shutdown_kernel", "immediate")
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        # (kind, message): "timeout" | "kernel died" | "resource limit" | "tampering" | ...
        self.events: list[tuple[str, str]] = []
        try:
            return self._preprocess(nb, resources, km)
        finally:
            if self.events_file:
                with open(self.events_file, "w", encoding="utf-8") as handle:
                    json.dump(self.events, handle)

    def _preprocess(self, nb: NotebookNode, resources, km):
        guard = Guard()
        cells = []
        written: dict[int, str] = {}
        tests: dict[str, str] = {}
        to_python = TransformerManager().transform_cell
        for cell in nb.cells:
            test = _is_test_cell(cell)
            if test:
                cells.append(guard.check_cell())
                written[id(cell)] = cell.source
                name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"test{len(tests)}"
                tests[name] = to_python(cell.source)
                cell.source = guard.test_source(name)
            cells.append(cell)
            if test:
                cells.append(guard.check_cell())
        cells.insert(0, guard.setup_cell(self.context, tests, tuple(self.answers)))
        nb.cells = cells
        self._setup_cell = cells[0]
        self._deadline = time.monotonic() + self.notebook_timeout
        self._stopped: str | None = None
        self._output_bytes: dict[int, int] = {}
        self.timeout_func = self._cell_timeout
        started = time.monotonic()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except DeadKernelError:
            self._stopped = self._stopped or "kernel died"
        self.events.append(("seconds", f"{time.monotonic() - started:.2f}"))
        self._review_outputs(nb, guard)
        nb.cells = [c for c in nb.cells if GUARD_TAG not in c.metadata.get("tags", [])]
        for cell in nb.cells:
            cell.source = written.get(id(cell), cell.source)
        return nb, resources

    def _cell_timeout(self, cell: NotebookNode) -> int:
        remaining = self._deadline - time.monotonic()
        if cell is self._setup_cell:
            return policy.SETUP_TIMEOUT_S  # imports torch before the student's time starts
        return max(1, int(min(self.timeout or remaining, remaining)))

    def _skip(self, cell: NotebookNode, ename: str, evalue: str) -> None:
        cell.outputs = [_error_output(ename, evalue)]

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stopped = "timeout"
            self.events.append(
                ("timeout", f"the notebook ran out of time ({self.notebook_timeout:g} s)")
            )
        if self._stopped == "timeout":
            self._skip(cell, "NotExecuted", "not run: the notebook's time limit was reached")
            return cell, resources
        if self._stopped == "kernel died":
            self._skip(cell, "NotExecuted", "not run: the kernel had died")
            return cell, resources
        try:
            if GUARD_TAG in cell.metadata.get("tags", []):
                # no history: the setup cell holds the hidden tests, and no cell of the
                # student's may read them back from In / _ih
                self._check_assign_resources(resources)
                cell = self.execute_cell(cell, index, store_history=False)
                resources = self.resources
            else:
                cell, resources = super().preprocess_cell(cell, resources, index)
            if cell is self._setup_cell:  # the student's time starts now
                self._deadline = time.monotonic() + self.notebook_timeout
            return cell, resources
        except DeadKernelError:
            self._stopped = "kernel died"
            self._skip(cell, "DeadKernel", "the kernel died while running this cell")
            self.events.append(
                ("kernel died", f"the kernel died in cell {self._cell_number(cell)}")
            )
        except CellTimeoutError:
            # the kernel ignored the interrupt: stop it, nothing else can run
            self._stopped = "timeout"
            self._skip(cell, "CellTimeoutError", "the cell ignored the interrupt and was stopped")
            self.events.append(
                ("timeout", f"cell {self._cell_number(cell)} could not be interrupted")
            )
            self._kill_kernel()
        return cell, resources

    def _cell_number(self, cell: NotebookNode) -> str:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        return repr(grade_id) if grade_id else "without id"

    def _kill_kernel(self) -> None:
        try:
            if self.km is not None:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as error:  # the kernel may be gone already
            self.log.warning("could not stop the kernel: %s", error)

    def output(self, outs, msg, display_id, cell_index):
        size = len(str(msg.get("content", "")))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size > self.max_output_bytes and msg["msg_type"] != "error":
            if used <= self.max_output_bytes:
                outs.append(
                    NotebookNode(
                        output_type="stream",
                        name="stdout",
                        text=f"\n[output truncated by the grader after {used} bytes]\n",
                    )
                )
                self.events.append(("truncated", "huge output was truncated"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _review_outputs(self, nb: NotebookNode, guard: Guard) -> None:
        guards = [c for c in nb.cells if GUARD_TAG in c.metadata.get("tags", [])]
        setup_text = (
            "".join(o.get("text", "") for o in guards[0].get("outputs", [])) if guards else ""
        )
        setup_problem = bool(guards) and "CONVBOOK-GUARD setup ok" not in setup_text
        if setup_problem:  # runs before any student code, so this is the grader's fault
            text = " ".join(
                o.get("evalue", o.get("text", "")) for o in guards[0].get("outputs", [])
            )
            self.events.append(("error", f"the grader's setup cell failed: {text[:200]}"))
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if GUARD_TAG in cell.metadata.get("tags", []):
                problem = guard.verdict(cell)
                if problem and not setup_problem:
                    self.events.append(("tampering", problem))
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error":
                    continue
                text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
                if any(sign in text for sign in _MEMORY_SIGNS):
                    self.events.append(("resource limit", f"ran out of memory: {text[:200]}"))
                elif "File too large" in text:
                    self.events.append(("resource limit", f"wrote too large a file: {text[:200]}"))
                elif output.get("ename") == "SystemExit":
                    self.events.append(
                        ("kernel died", f"cell {self._cell_number(cell)} called sys.exit()")
                    )
                elif output.get("ename") == "CellTimeoutError":
                    self.events.append(("timeout", f"cell {self._cell_number(cell)} timed out"))

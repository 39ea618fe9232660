"""nbgrader's Execute preprocessor, for hostile notebooks: the kernel runs the student's
cells and answers calls; the tests run here (``harness``).

Differences from ``nbgrader.preprocessors.Execute``:

* the kernel starts through ``convbook.grading.sandbox`` (jail, limits, its own user) -
  see ``JailedKernelManager`` - and its client refuses messages over a size limit;
* test cells are never sent to the kernel. Before the student's first cell runs, the
  kernel loads the grader's channel (``server``) and the tests whose answers have a rule
  run against exactly the rule-checked code of those answers; every other test runs when
  its turn comes, against the notebook's kernel as it is then. A test's outputs (its
  message if it fails) are written into its cell as if the kernel had run it, so
  nbgrader's scoring, the gradebook and the feedback pages stay nbgrader's;
* a notebook-wide time budget on top of the per-cell timeout; cells that never ran get an
  error output, so nbgrader cannot mistake an unexecuted test cell for a passed one;
* a dead kernel (``sys.exit``, ``os._exit``, a kill) stops execution instead of aborting
  the whole notebook, and what ran before is kept;
* output is capped per cell and per notebook, whatever its kind (streams, results,
  errors and their tracebacks, display updates); widget messages are dropped.

What happened (timeouts, a dead kernel, ...) is kept in ``events`` and written to
``events_file``, where the worker reads it.
"""

from __future__ import annotations

import json
import sys
import time

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode, from_dict
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution
from traitlets import Dict, DottedObjectName, Float, Integer, List, Type, Unicode

from . import answer_code, policy, sandbox
from .harness import Harness, KernelChannel, KernelLost

__all__ = ["CappedKernelClient", "JailedKernelManager", "SandboxedExecute"]


_MEMORY_SIGNS = ("MemoryError", "can't allocate memory", "bad_alloc", "out of memory")


class CappedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets drop the connection on a message over the size limit,
    so no single message from the kernel can fill the grader's memory."""

    def _create_connected_socket(self, channel, identity=None):
        url = self._make_url(channel)
        from jupyter_client.connect import channel_socket_types

        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 1000
        sock.maxmsgsize = policy.MAX_MESSAGE_BYTES
        if identity:
            sock.identity = identity
        sock.connect(url)
        return sock


class JailedKernelManager(AsyncKernelManager):
    """Starts the kernel command behind the ``sandbox`` launcher."""

    client_class = DottedObjectName("convbook.grading.execute.CappedKernelClient")
    client_factory = Type(CappedKernelClient, klass="jupyter_client.asynchronous.AsyncKernelClient")

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


def _grade_id(cell: NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def _ruled(python: str) -> bool:
    """Whether a test's code puts a rule on an answer (``forbid``, ``only``, ...)."""
    import ast

    try:
        tree = ast.parse(python)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("forbid", "only", "arithmetic_only"):
                return True
    return False


def _output_bytes(output: dict) -> int:
    return len(json.dumps(output, default=str))


def _cut_output(output: dict, budget: int) -> dict | None:
    """``output`` cut to ``budget`` bytes (an error keeps its name and the start of its
    message), or None when nothing of it fits."""
    if budget <= 200:
        return None
    if output.get("output_type") == "error":
        evalue = str(output.get("evalue", ""))[: budget // 2]
        return dict(_error_output(str(output.get("ename", "Error"))[:100],
                                  evalue + " [cut by the grader]"))  # fmt: skip
    if output.get("output_type") == "stream":
        text = "".join(output.get("text", ""))[: budget - 200]
        return {**output, "text": text + "\n[output truncated by the grader]\n"}
    return None


class SandboxedExecute(Execute):
    """Execute with the tests in the grader's process, a notebook time budget, dead-kernel
    recovery and output caps."""

    notebook_timeout = Float(
        policy.NOTEBOOK_TIMEOUT_S, help="Seconds for the whole notebook; later cells are not run."
    ).tag(config=True)
    max_output_bytes = Integer(
        policy.MAX_OUTPUT_BYTES, help="Bytes of output kept per cell; the rest is dropped."
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        policy.MAX_NOTEBOOK_OUTPUT_BYTES, help="Bytes of output kept for the whole notebook."
    ).tag(config=True)
    context = Unicode(
        "", help="The assignment's locked import and constant cells, as plain Python."
    ).tag(config=True)
    answers = List(Unicode(), help="Names a test may take from the notebook.").tag(config=True)
    tests = Dict(help="The test cells' code, by grade_id, from the source.").tag(config=True)
    events_file = Unicode("", help="Where to write what happened, as JSON.").tag(config=True)
    salt = Unicode("", help="Mixed into the seeds the tests draw inputs with.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", JailedKernelManager)
        # every output is in by then; a graceful shutdown only waits (about 3 s a notebook)
        kwargs.setdefault("shutdown_kernel", "immediate")
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        # (kind, message): "timeout" | "kernel died" | "resource limit" | "error" | ...
        self.events: list[tuple[str, str]] = []
        try:
            return self._preprocess(nb, resources, km)
        finally:
            if self.events_file:
                with open(self.events_file, "w", encoding="utf-8") as handle:
                    json.dump(self.events, handle)

    def _preprocess(self, nb: NotebookNode, resources, km):
        self._deadline = time.monotonic() + policy.SETUP_TIMEOUT_S + self.notebook_timeout
        self._stopped: str | None = None
        self._cell_bytes: dict[int, int] = {}
        self._notebook_bytes = 0
        self._harness: Harness | None = None
        self._results: dict[int, list[dict]] = {}
        self._test_seconds = 0.0
        self.timeout_func = self._cell_timeout
        started = time.monotonic()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except (DeadKernelError, KernelLost):
            self._stopped = self._stopped or "kernel died"
        self.events.append(("seconds", f"{time.monotonic() - started:.2f}"))
        if self._harness is not None:
            channel = self._harness.channel
            self.events.append(("calls", f"{channel.requests} in {channel.seconds:.2f} s; tests "
                                         f"{self._test_seconds:.2f} s"))  # fmt: skip
        self._review_outputs(nb)
        return nb, resources

    # -- the grader's part, before the student's first cell ---------------------------------

    def _start_harness(self, nb: NotebookNode) -> None:
        channel = KernelChannel(self.kc, self.km, timeout=self.timeout or 60,
                                max_reply_bytes=policy.MAX_REPLY_BYTES)  # fmt: skip
        channel.open()
        cells, labels, code_number = {}, {}, 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code_number += 1
            if _is_test_cell(cell):
                continue
            cells[index] = answer_code.python_of(cell.source)
            grade_id = _grade_id(cell)
            labels[index] = (f"your answer cell '{grade_id}'" if grade_id
                             else f"code cell {code_number}")  # fmt: skip
        self._harness = Harness(
            channel, self.context, tuple(self.answers), cells, labels, salt=self.salt
        )
        self._deadline = time.monotonic() + self.notebook_timeout  # the student's time
        for index, cell in enumerate(nb.cells):  # tests with rules: before any student code
            if _is_test_cell(cell) and _ruled(answer_code.python_of(self._test_source(cell))):
                self._results[index] = self._run_test(cell, index, ruled=True)
                if self._stopped:
                    break

    def _test_source(self, cell: NotebookNode) -> str:
        return self.tests.get(_grade_id(cell), cell.source)

    def _run_test(self, cell: NotebookNode, index: int, ruled: bool) -> list[dict]:
        assert self._harness is not None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._stopped = "timeout"
            self.events.append(
                ("timeout", f"the notebook ran out of time ({self.notebook_timeout:g} s)")
            )
            return [
                dict(_error_output("NotExecuted", "not run: the notebook's time limit was reached"))
            ]
        started = time.monotonic()
        # every call of this test together: as long as a cell may run
        self._harness.channel.deadline = started + max(
            1.0, min(self.timeout or remaining, remaining)
        )
        try:
            return self._harness.run_test(self._test_source(cell), _grade_id(cell), index, ruled)
        except KernelLost as lost:
            self._stopped = "kernel died"
            self.events.append(
                ("kernel died", f"the kernel died in test {_grade_id(cell)!r}: {lost}")
            )
            return [dict(_error_output("DeadKernel", str(lost)))]
        finally:
            self._test_seconds += time.monotonic() - started

    # -- cells ---------------------------------------------------------------------------------

    def _cell_timeout(self, cell: NotebookNode) -> int:
        remaining = self._deadline - time.monotonic()
        return max(1, int(min(self.timeout or remaining, remaining)))

    def _skip(self, cell: NotebookNode, ename: str, evalue: str) -> None:
        cell.outputs = [_error_output(ename, evalue)]

    def preprocess_cell(self, cell, resources, index):
        if self._harness is None and not self._stopped:
            try:
                self._start_harness(self.nb)
            except (KernelLost, DeadKernelError) as lost:
                self._stopped = "kernel died"
                self.events.append(("error", f"the grader could not start the kernel: {lost}"))
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stopped = "timeout"
            self.events.append(
                ("timeout", f"the notebook ran out of time ({self.notebook_timeout:g} s)")
            )
        if _is_test_cell(cell):
            return self._test_cell(cell, index), resources
        if not cell.source.strip():
            return cell, resources
        if self._stopped == "timeout":
            self._skip(cell, "NotExecuted", "not run: the notebook's time limit was reached")
            return cell, resources
        if self._stopped:
            self._skip(cell, "NotExecuted", "not run: the kernel had died")
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stopped = "kernel died"
            self._skip(cell, "DeadKernel", "the kernel died while running this cell")
            self.events.append(("kernel died", f"the kernel died in cell {self._cell_name(cell)}"))
        except CellTimeoutError:
            # the kernel ignored the interrupt: stop it, nothing else can run
            self._stopped = "timeout"
            self._skip(cell, "CellTimeoutError", "the cell ignored the interrupt and was stopped")
            self.events.append(
                ("timeout", f"cell {self._cell_name(cell)} could not be interrupted")
            )
            self._kill_kernel()
        self._cap_cell(cell, index)
        return cell, resources

    def _test_cell(self, cell: NotebookNode, index: int) -> NotebookNode:
        if index in self._results:
            outputs = self._results[index]
        elif self._stopped == "timeout":
            outputs = [
                dict(_error_output("NotExecuted", "not run: the notebook's time limit was reached"))
            ]
        elif self._stopped:
            outputs = [dict(_error_output("NotExecuted", "not run: the kernel had died"))]
        else:
            outputs = self._run_test(cell, index, ruled=False)
        cell.outputs = [from_dict(output) for output in outputs]
        cell.execution_count = None
        lines = self._harness.failed_at.get(_grade_id(cell)) if self._harness else None
        if lines:  # where in the test it failed (kept out of the outputs a student reads)
            cell.metadata.setdefault("convbook", {})["failed_at_lines"] = lines
        self._cap_cell(cell, index)
        return cell

    def _cell_name(self, cell: NotebookNode) -> str:
        grade_id = _grade_id(cell)
        return repr(grade_id) if grade_id else "without id"

    def _kill_kernel(self) -> None:
        try:
            if self.km is not None:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as error:  # the kernel may be gone already
            self.log.warning("could not stop the kernel: %s", error)

    # -- output caps -----------------------------------------------------------------------------

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._cell_bytes.get(cell_index, 0)
        self._cell_bytes[cell_index] = used + size
        self._notebook_bytes += size
        over_cell = used + size > self.max_output_bytes
        over_notebook = self._notebook_bytes > self.max_notebook_output_bytes
        if over_cell or over_notebook:
            if msg["msg_type"] == "error" and used < self.max_output_bytes:
                content = msg["content"]
                outs.append(_error_output(str(content.get("ename", "Error"))[:100],
                                          str(content.get("evalue", ""))[:2000]))  # fmt: skip
            elif used <= self.max_output_bytes:
                note = f"\n[output truncated by the grader after {used} bytes]\n"
                outs.append(NotebookNode(output_type="stream", name="stdout", text=note))
                self.events.append(("truncated", "huge output was truncated"))
            self._cell_bytes[cell_index] = self.max_output_bytes + 1
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._notebook_bytes += size
        if size > self.max_output_bytes or self._notebook_bytes > self.max_notebook_output_bytes:
            return  # an update may not grow a cell past its cap
        super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        return  # no widgets while grading: their state would be kept without a cap

    def on_cell_executed(self, **kwargs):
        reply = kwargs.get("execute_reply") or {}
        content = reply.get("content", {})
        if content.get("status") == "error":  # nbgrader copies the reply's error: cap it
            content["evalue"] = str(content.get("evalue", ""))[:2000]
            content["traceback"] = [str(line)[:2000] for line in content.get("traceback", [])[:30]]
        return super().on_cell_executed(**kwargs)

    def _cap_cell(self, cell: NotebookNode, index: int) -> None:
        """The final word on a cell's outputs: at most ``max_output_bytes`` (errors,
        tracebacks and display updates included)."""
        kept, used = [], 0
        for output in cell.get("outputs", []):
            size = _output_bytes(output)
            if used + size <= self.max_output_bytes:
                kept.append(output)
                used += size
                continue
            cut = _cut_output(output, self.max_output_bytes - used)
            if cut is not None:
                kept.append(from_dict(cut))
            break
        cell.outputs = kept

    # -- what happened ---------------------------------------------------------------------------

    def _review_outputs(self, nb: NotebookNode) -> None:
        for cell in nb.cells:
            if cell.cell_type != "code":
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
                        ("kernel died", f"cell {self._cell_name(cell)} called sys.exit()")
                    )
                elif output.get("ename") == "CellTimeoutError":
                    self.events.append(("timeout", f"cell {self._cell_name(cell)} timed out"))

"""Run the book's notebooks the way a reader does: top to bottom, in a fresh kernel.

One implementation for every tool that executes notebooks: ``tools/execute.py`` (the
committed outputs), the fresh-install test and ``tools/gpu_check.py``. From a shell:

    python -m convbook.notebooks chapters/*.ipynb                 # run, report, keep files
    python -m convbook.notebooks --write chapters/7_6_lenet.ipynb # save the outputs in place
    python -m convbook.notebooks --until-answer exercises/*/*.ipynb

Needs ``nbformat`` and ``nbclient`` (``pip install "convbook[grading]"``, or Jupyter).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from convbook.extras import require
from convbook.train import SUMMARY_PATTERN

__all__ = ["NotebookRun", "execute", "first_answer_cell", "training_results"]

# Kernels inherit the environment; a non-interactive backend (the Makefile exports Agg for
# the tests) would leave every figure out of the saved notebook.
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclass
class NotebookRun:
    """What one execution of one notebook gave."""

    path: str
    seconds: float
    cells_run: int
    error: str | None = None  # "code cell 7: ValueError: ..." when a cell failed
    training: list[dict] = field(default_factory=list)  # one entry per Trainer.fit summary

    @property
    def ok(self) -> bool:
        return self.error is None


def first_answer_cell(nb) -> int | None:
    """Index of the first cell a student must fill in (nbgrader ``solution: true``)."""
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            return index
    return None


def _cell_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def training_results(nb) -> list[dict]:
    """Every ``Trainer.fit`` summary in the outputs: model, epochs, budget, device, val acc,
    seconds, in the order they ran."""
    results = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for match in SUMMARY_PATTERN.finditer(_cell_text(cell)):
            entry = match.groupdict()
            entry["epochs"] = int(entry["epochs"])
            entry["val_acc"] = float(entry["val_acc"])
            entry["seconds"] = float(entry["seconds"])
            results.append(entry)
    return results


def execute(
    path: Path,
    *,
    until_answer: bool = False,
    write: bool = False,
    timeout: int = 1800,
    kernel_name: str = "python3",
    env: dict[str, str] | None = None,
) -> NotebookRun:
    """Execute ``path`` in a fresh kernel whose working folder is the notebook's own.

    Args:
        path: the notebook.
        until_answer: stop before the first answer cell (a student release as handed out).
        write: save the executed notebook over ``path`` (only when every cell ran).
        timeout: seconds allowed per cell.
        kernel_name: the Jupyter kernel to start.
        env: variables to set for the kernel (``CONVBOOK_BUDGET``, ...), on top of this
            process's environment, which is left as it is.

    Returns:
        A :class:`NotebookRun`; a failing cell is reported in ``error``, never raised.
    """
    nbformat = require("nbformat", "executing notebooks")
    nbclient = require("nbclient", "executing notebooks")
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    kernel_env = {**os.environ, **(env or {}), "MPLBACKEND": _INLINE_BACKEND}
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    run_nb = nb
    if until_answer:
        stop = first_answer_cell(nb)
        run_nb = nbformat.v4.new_notebook(metadata=nb.metadata, cells=nb.cells[:stop])
    client = nbclient.NotebookClient(
        run_nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute(env=kernel_env)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        error = _describe_failure(run_nb, exc)
    seconds = time.perf_counter() - start
    code_cells = [cell for cell in run_nb.cells if cell.cell_type == "code"]
    cells_run = sum(cell.get("execution_count") is not None for cell in code_cells)
    if write and error is None:
        nbformat.write(nb, path)
    return NotebookRun(str(path), seconds, cells_run, error, training_results(run_nb))


def _describe_failure(nb, exc: Exception) -> str:
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"code cell {number}: {output['ename']}: {output['evalue']}"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--until-answer", action="store_true", help="stop at the first answer")
    parser.add_argument("--write", action="store_true", help="save the outputs in place")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--json", type=Path, help="also write the runs to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("CONVBOOK_PROGRESS", "0")
    budget = os.environ.get("CONVBOOK_BUDGET", "(default)")
    runs = []
    for path in args.notebooks:
        run = execute(path, until_answer=args.until_answer, write=args.write, timeout=args.timeout)
        runs.append(run)
        status = "ok" if run.ok else f"FAILED at {run.error}"
        print(f"{path}: {run.cells_run} cells in {run.seconds:.0f} s (budget {budget}): {status}")
        for result in run.training:
            print(f"    {result['model']}: val acc {result['val_acc']:.3f} ({result['seconds']} s)")
        sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps([asdict(run) for run in runs], indent=1))
    failed = [run for run in runs if not run.ok]
    print(f"{len(runs) - len(failed)} notebooks ran, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

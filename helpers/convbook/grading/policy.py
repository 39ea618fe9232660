"""Every limit of ``convbook grade`` in one place: times, sizes, what the kernel may see.

The command's options override the first group; the rest are fixed for every notebook.
"""

from __future__ import annotations

# Options of ``convbook grade`` (their defaults).
CELL_TIMEOUT_S = 60  # one cell; a cell that takes longer is interrupted and scores 0
NOTEBOOK_TIMEOUT_S = 600.0  # the whole notebook; cells after it are not run
MEMORY_MB = 6144  # the kernel and every process it starts, together

# Fixed limits of one kernel.
PROCESSES = 64  # processes and threads of the kernel, together
FILE_MB = 64  # largest file the kernel may write
SCRATCH_MB = 256  # its scratch folder (HOME, TMPDIR), all files together
MAX_OUTPUT_BYTES = 200_000  # output kept per cell; the rest is dropped
SETUP_TIMEOUT_S = 120  # the grader's own first cell (imports torch) and kernel start-up
ZYGOTE_PROCESSES = 16  # a slot's kernel factory: bubblewrap, itself, a fork being moved
ZYGOTE_WAIT_S = 60  # how long a kernel waits for its zygote before starting on its own
WORKER_OVERHEAD_S = 180  # nbgrader start-up and bookkeeping, on top of the notebook's time


# Set in every kernel's environment, whatever the instructor's shell holds. Cells that
# train only to show a result (not tests: those pass their own budget) run at the smoke
# budget, so a graded notebook costs seconds and every student's is run alike.
KERNEL_ENV = {"CONVBOOK_BUDGET": "smoke", "CONVBOOK_PROGRESS": "0"}


def cpu_seconds(notebook_timeout: float) -> int:
    """CPU time each kernel process may use: twice the notebook's time, plus start-up."""
    return int(notebook_timeout * 2 + SETUP_TIMEOUT_S)


# What the kernel sees (see ``sandbox.bwrap_command``): read-only system and Python files,
# a read-only folder with a copy of the student's own submission (its working folder), a
# scratch folder of SCRATCH_MB. Nothing of the solutions, the course with its hidden
# tests, the gradebook, the output folder or the other submissions.

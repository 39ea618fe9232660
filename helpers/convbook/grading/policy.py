"""Every limit of ``convbook grade`` in one place: times, sizes, what the kernel may see,
the kernel's environment.

The command's options override the first group; the rest are fixed for every notebook.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Options of ``convbook grade`` (their defaults).
CELL_TIMEOUT_S = 60  # one cell; a cell that takes longer is interrupted and scores 0
NOTEBOOK_TIMEOUT_S = 600.0  # the whole notebook; cells after it are not run
MEMORY_MB = 6144  # the kernel and every process it starts, together

# Fixed limits of one kernel.
PROCESSES = 64  # processes and threads of the kernel, together
FILE_MB = 64  # largest file the kernel may write
SCRATCH_MB = 256  # each of its scratch folders (HOME = TMPDIR, /tmp, /dev/shm), all files
MAX_OUTPUT_BYTES = 200_000  # output kept per cell; the rest is dropped
MAX_NOTEBOOK_OUTPUT_BYTES = 2_000_000  # output kept for the whole notebook (its feedback page)
MAX_MESSAGE_BYTES = 32 << 20  # one message from the kernel; a larger one drops the connection
MAX_REPLY_BYTES = 32 << 20  # one reply to the grader's call (its tensors, base64)
SETUP_TIMEOUT_S = 120  # the grader's own first cell (imports torch) and kernel start-up
ZYGOTE_PROCESSES = 16  # a slot's kernel factory: bubblewrap, itself, a fork being moved
ZYGOTE_WAIT_S = 60  # how long a kernel waits for its zygote to import before starting alone
ZYGOTE_REPLY_S = 20  # how long a kernel waits for a ready zygote to answer before that
ZYGOTE_FORK_S = 10  # how long a zygote waits for a fork to enter its jail before killing it
ZYGOTE_PING_S = 5  # how long the worker waits for its zygote to answer "are you well?"
WORKER_OVERHEAD_S = 180  # nbgrader start-up and bookkeeping, on top of the notebook's time


# Set in every kernel's environment, whatever the instructor's shell holds. Cells that
# train only to show a result (not tests: those pass their own budget) run at the smoke
# budget, so a graded notebook costs seconds and every student's is run alike.
KERNEL_ENV = {"CONVBOOK_BUDGET": "smoke", "CONVBOOK_PROGRESS": "0"}

# The only variables a kernel takes from the grader's environment (when set there). An
# allow-list, never the instructor's shell minus a deny-list: a DATABASE_URL or GH_PAT has
# no business on a student's page. No JPY_*/JUPYTER_*: ipykernel needs none of them
# (JPY_PARENT_PID would even make it poll a parent that is not its own and exit).
KERNEL_ENV_PASSED = (
    "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ",
    "MPLBACKEND",  # the instructor's choice of plotting backend
    "CONVBOOK_DATA_DIR",  # the read-only data the notebooks load (bound into the jail)
    # what this machine tells the BLAS libraries about its CPU (set where their own
    # detection fails, as in some virtual machines)
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MKL_DEBUG_CPU_TYPE", "MKL_ENABLE_INSTRUCTIONS",
    "NVPL_BLAS_DEBUG_CPU_TYPE",
)  # fmt: skip
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def kernel_env(outer: Mapping[str, str], *, home: str, threads: int | str) -> dict[str, str]:
    """The whole environment of a kernel (or a zygote), started or forked.

    Args:
        outer: the grader's environment; only ``KERNEL_ENV_PASSED`` is taken from it.
        home: the kernel's scratch folder (HOME, TMPDIR and the tools' folders in it).
        threads: BLAS/OpenMP threads.
    """
    env = {name: outer[name] for name in KERNEL_ENV_PASSED if name in outer}
    env.setdefault("PATH", _DEFAULT_PATH)
    env.update(
        HOME=home,
        TMPDIR=home,
        MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
        IPYTHONDIR=os.path.join(home, ".ipython"),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        OPENBLAS_NUM_THREADS=str(threads),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(KERNEL_ENV)
    return env


def cpu_seconds(notebook_timeout: float) -> int:
    """CPU time each kernel process may use: twice the notebook's time, plus start-up."""
    return int(notebook_timeout * 2 + SETUP_TIMEOUT_S)


# What the kernel sees (see ``sandbox.bwrap_command``): read-only system and Python files,
# a read-only folder with a copy of the student's own submission (its working folder),
# its own new HOME, /tmp and /dev/shm of SCRATCH_MB each (empty: nothing of an earlier
# kernel). Nothing of the solutions, the course with its hidden tests, the gradebook, the
# output folder or the other submissions.

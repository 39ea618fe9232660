"""Planted submissions of the fixture assignment ``files/source/toy`` (one per robustness case).

Each builder returns the notebook a student with that behaviour would hand in; the tests
grade them all in one real ``convbook grade`` run.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

FILES = Path(__file__).parent / "files"
SOURCE = FILES / "source"
TOY = SOURCE / "toy" / "toy.ipynb"

CORRECT_DOUBLE = "def double(x):\n    return 2 * x"
CORRECT_SQUARE = "def square(x):\n    return x * x"


def solution() -> nbformat.NotebookNode:
    """The source notebook itself: every answer right."""
    return nbformat.read(TOY, as_version=4)


def _cell_index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def answer(double: str = CORRECT_DOUBLE, square: str = CORRECT_SQUARE) -> nbformat.NotebookNode:
    """A submission whose two solution cells hold the given code."""
    nb = copy.deepcopy(solution())
    nb.cells[_cell_index(nb, "double")].source = double
    nb.cells[_cell_index(nb, "square")].source = square
    return nb


def blank() -> nbformat.NotebookNode:
    """What the release looks like: no answers."""
    stub = "raise NotImplementedError()"
    return answer(f"def double(x):\n    {stub}", f"def square(x):\n    {stub}")


def deleted_tests() -> nbformat.NotebookNode:
    """Both test cells deleted, answers right."""
    nb = solution()
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")
                or c.metadata["nbgrader"].get("solution")]  # fmt: skip
    return nb


def edited_tests() -> nbformat.NotebookNode:
    """A wrong ``double`` whose test cell was replaced by ``pass``."""
    nb = answer(double="def double(x):\n    return x")
    nb.cells[_cell_index(nb, "test_double")].source = "pass  # trust me"
    return nb


def reordered() -> nbformat.NotebookNode:
    """The square test dragged above everything, answers right."""
    nb = solution()
    test = nb.cells.pop(_cell_index(nb, "test_square"))
    nb.cells.insert(0, test)
    return nb


def flagged(**answers: str) -> nbformat.NotebookNode:
    """Same as ``answer``; named for readability in the cases that patch the kernel."""
    return answer(**answers)


WRONG_DOUBLE = "def double(x):\n    return x"

CASES = {
    # student id: (notebook, expected status, expected score out of 3)
    "correct": (solution, "graded", 3),
    "blank": (blank, "graded", 0),
    "deleted_tests": (deleted_tests, "graded", 3),
    "edited_tests": (edited_tests, "graded", 1),
    "reordered": (reordered, "graded", 3),
    "hardcoded": (
        lambda: answer(double="def double(x):\n    return torch.tensor([2.0, 4.0])"),
        "graded",
        1,
    ),
    "warns": (
        lambda: answer(
            double="import warnings\n\ndef double(x):\n"
            "    warnings.warn('double is deprecated', UserWarning)\n"
            "    return 2 * torch.tensor(x)  # torch warns: copy-constructing a tensor"
        ),
        "graded",
        3,
    ),
    "huge_output": (
        lambda: answer(
            square=CORRECT_SQUARE + "\nfor _ in range(200_000):\n    print('spam ' * 20)"
        ),
        "graded",
        3,
    ),
    "infinite_loop": (lambda: answer(square="while True:\n    pass"), "timeout", 2),
    "ignores_interrupt": (
        lambda: answer(
            square="import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "while True:\n    time.sleep(1)"
        ),
        "timeout",
        2,
    ),
    "memory_bomb": (lambda: answer(square="hog = bytearray(64 * 2**30)"), "resource limit", 2),
    "tensor_bomb": (
        lambda: answer(square="hogs = [torch.ones(2**28) for _ in range(100)]"),
        "resource limit",
        2,
    ),
    "sys_exit": (lambda: answer(square="import sys\nsys.exit(0)"), "kernel died", 2),
    "os_exit": (lambda: answer(square="import os\nos._exit(3)"), "kernel died", 2),
    "kills_kernel": (
        lambda: answer(square="import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        "kernel died",
        2,
    ),
    "patches_allclose": (
        lambda: flagged(double=WRONG_DOUBLE + "\n\ntorch.allclose = lambda *a, **k: True"),
        "graded",
        1,
    ),
    "patches_setattr": (
        lambda: flagged(
            double=WRONG_DOUBLE + "\n\nsetattr(torch, 'allclose', lambda *a, **k: True)"
        ),
        "graded",
        1,
    ),
    "patches_sys_modules": (
        lambda: flagged(
            double=WRONG_DOUBLE
            + "\nimport sys\nsys.modules['torch'].allclose = lambda *a, **k: True"
        ),
        "graded",
        1,
    ),
    "patches_tensor_method": (
        lambda: flagged(double=WRONG_DOUBLE + "\ntorch.Tensor.__eq__ = lambda self, other: True"),
        "graded",
        1,
    ),
    "patches_builtins": (
        lambda: flagged(double=WRONG_DOUBLE + "\nimport builtins\nbuiltins.all = lambda *a: True"),
        "graded",
        1,
    ),
    "always_equal": (
        lambda: flagged(
            double="class Anything(torch.Tensor):\n"
            "    def __eq__(self, other):\n        return True\n\n"
            "def double(x):\n    return x.as_subclass(Anything)"
        ),
        "graded",
        1,
    ),
    "patches_numpy_testing": (
        lambda: flagged(
            double=WRONG_DOUBLE + "\nimport numpy as np\nnp.testing.assert_allclose = print"
        ),
        "graded",
        1,
    ),
    "hides_via_alias": (
        # patched through an alias in a loop
        lambda: flagged(
            double=WRONG_DOUBLE + "\nimport torch as library\nhelpers = [library]\n"
            "for h in helpers:\n    h.isclose = h.allclose\n"
            "    h.allclose = lambda *a, **k: True"
        ),
        "graded",
        1,
    ),
}


def snoop(paths: list[str], port: int) -> nbformat.NotebookNode:
    """A correct answer that breaks itself if it can read any path or reach ``port``."""
    code = (
        "import socket\n"
        f"leaks = []\nfor path in {paths!r}:\n"
        "    try:\n        with open(path, 'rb') as handle:\n            handle.read(1)\n"
        "        leaks.append(path)\n    except OSError:\n        pass\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
        "    leaks.append('network')\nexcept OSError:\n    pass\n"
        "print('leaks:', leaks)\n\n"
        "def square(x):\n    return x * x if not leaks else x"
    )
    return answer(square=code)

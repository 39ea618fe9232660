"""SandboxedExecute: notebook time budget, dead kernels and output caps, in a real kernel."""

import nbformat
import pytest

from convbook.grading.execute import SandboxedExecute

pytestmark = pytest.mark.slow


def _run(sources: list[str], **traits) -> tuple[list, list]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    preprocessor = SandboxedExecute(**traits)
    nb, _ = preprocessor.preprocess(nb, {"metadata": {"path": "."}})
    return nb.cells, preprocessor.events


def test_cells_after_the_notebook_budget_get_an_error_instead_of_running():
    cells, events = _run(
        ["import time\ntime.sleep(3)", "time.sleep(3)", "print('late')"],
        timeout=20,
        notebook_timeout=4,
    )
    assert cells[-1].outputs[0].ename == "NotExecuted"
    assert ("timeout", "the notebook ran out of time (4 s)") in events


def test_a_dead_kernel_stops_the_notebook_and_later_cells_score_nothing():
    cells, events = _run(["x = 1", "import os\nos._exit(1)", "print(x)"], timeout=20)
    assert cells[0].outputs == []
    assert cells[1].outputs[0].ename == "DeadKernel"
    assert cells[2].outputs[0].ename == "NotExecuted"
    assert any(kind == "kernel died" for kind, _ in events)


def test_output_beyond_the_cap_is_dropped():
    cells, _ = _run(
        ["for i in range(3000):\n    print('x' * 100)"], timeout=30, max_output_bytes=10_000
    )
    text = "".join(o.get("text", "") for o in cells[0].outputs)
    assert len(text) < 20_000
    assert "[output truncated by the grader" in text

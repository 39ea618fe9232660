"""A notebook that learns its hidden inputs cannot come back with a table of answers.

The kernel must see a test's inputs to call the answer, and a later cell can print them
onto the student's feedback page. Each submission's tests therefore draw their inputs
with seeds mixed with a secret of the grader and the submission's content: a resubmission
that answers the inputs it saw from a table meets other inputs.
"""

import ast
import csv

import nbformat
import pytest

from convbook.cli import main as convbook_main

from . import planted

pytestmark = pytest.mark.slow

SPY = "SEEN = []\n\ndef double(x):\n    SEEN.append(x.flatten().tolist())\n    return 2 * x"
REPORT = planted.CORRECT_SQUARE + "\n\nprint('SEEN', SEEN)"


def _grade(submissions, out) -> dict[str, dict]:
    args = ["grade", str(submissions), "--out", str(out), "--solutions", str(planted.SOURCE)]
    assert convbook_main([*args, "--jobs", "1", "--no-progress"]) == 0
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_a_table_of_the_inputs_a_run_showed_fails_the_next_run(tmp_path):
    first = tmp_path / "first" / "mallory" / "toy"
    first.mkdir(parents=True)
    nbformat.write(planted.answer(double=SPY, square=REPORT), first / "toy.ipynb")
    rows = _grade(tmp_path / "first", tmp_path / "out")
    assert rows["mallory"]["score"] == "3"
    graded = nbformat.read(tmp_path / "out" / "autograded" / "mallory" / "toy" / "toy.ipynb", 4)
    printed = "".join(o.get("text", "") for c in graded.cells for o in c.get("outputs", []))
    seen = ast.literal_eval(printed.split("SEEN ", 1)[1].splitlines()[0])
    assert len(seen) >= 2  # the visible input and the hidden one reached the kernel
    table = {tuple(values): [2 * v for v in values] for values in seen}
    lookup = (
        f"TABLE = {table!r}\n\n"
        "def double(x):\n"
        "    key = tuple(x.flatten().tolist())\n"
        "    if key in TABLE:\n"
        "        return torch.tensor(TABLE[key]).reshape(x.shape)\n"
        "    return x  # wrong for anything it has not seen"
    )
    second = tmp_path / "first" / "mallory" / "toy"
    nbformat.write(planted.answer(double=lookup), second / "toy.ipynb")
    rows = _grade(tmp_path / "first", tmp_path / "out")
    assert rows["mallory"]["score"] == "1", "the table of seen inputs still passed"  # square

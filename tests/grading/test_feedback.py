"""Feedback pages (``convbook.grading.feedback``): the parts that need no grading run.

The three modes on every real assignment, through ``convbook grade``, are tested in
``tests/test_exercises.py``; the page in a browser there too.
"""

from dataclasses import replace

import nbformat
import pytest

from convbook.grading.feedback import hide_hidden_tests, items_of, write_pages
from convbook.grading.gradebook import CellState
from convbook.grading.records import Row

TEST = """assert f(1) == 2
### BEGIN HIDDEN TESTS
assert f(2) == 4, "secret"
assert f(3) == 6
### END HIDDEN TESTS
print("done")"""


def test_hidden_blocks_become_one_line_saying_how_many_lines_are_hidden():
    shown = hide_hidden_tests(TEST)
    assert shown.splitlines() == [
        "assert f(1) == 2",
        "# (2 lines of hidden tests, not shown)",
        'print("done")',
    ]


def test_an_unclosed_hidden_block_hides_the_rest_of_the_cell():
    assert "secret" not in hide_hidden_tests("x = 1\n### BEGIN HIDDEN TESTS\nassert 'secret'")


def _cell(source, grade_id, points, solution=False, outputs=(), cell_type="code"):
    maker = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = maker(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": points,
                                 "solution": solution, "locked": not solution}  # fmt: skip
    if cell_type == "code":
        cell.outputs = list(outputs)
        cell.execution_count = 3
    return cell


def test_summary_items_give_points_status_and_first_failure_line():
    error = nbformat.v4.new_output(
        "error", ename="CheckFailed", evalue="f(2): expected 4\nexpected: tensor", traceback=[]
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n## 1. Doubling"),
        _cell("def f(x): ...", "f", 0, solution=True),
        _cell(TEST, "test_f", 2, outputs=[error]),
        _cell("assert True", "test_g", 1),
        nbformat.v4.new_markdown_cell("## 2. In words"),
        _cell("Because.", "why", 1, solution=True, cell_type="markdown"),
    ]
    grades = {
        "test_f": CellState("test_f", 2.0, auto=0.0, manual=None, extra=None, awaiting=False),
        "test_g": CellState("test_g", 1.0, auto=1.0, manual=None, extra=None, awaiting=False),
        "why": CellState("why", 1.0, auto=None, manual=None, extra=None, awaiting=True),
    }
    items = {item.grade_id: item for item in items_of(nb, grades)}
    assert list(items) == ["test_f", "test_g", "why"]
    assert items["test_f"].status == "failed" and items["test_f"].section == "1. Doubling"
    assert items["test_f"].message == "CheckFailed: f(2): expected 4"
    assert (items["test_g"].status, items["test_g"].message) == ("passed", "")
    assert items["why"].status == "awaiting a grader" and items["why"].score is None
    assert items["why"].kind == "written answer" and items["why"].section == "2. In words"
    grades["why"] = replace(grades["why"], manual=1.0, awaiting=False)
    assert items_of(nb, grades)[-1].status == "graded by a person"
    grades["why"] = replace(grades["why"], awaiting=True)  # the answer changed since
    assert items_of(nb, grades)[-1].status == "graded by a person, to be looked at again"
    grades["why"] = replace(grades["why"], manual=None, auto=0.0, awaiting=False)
    assert items_of(nb, grades)[-1].status == "not answered"  # left as released


def test_a_notebook_that_never_ran_gets_a_page_with_its_status(tmp_path):
    (tmp_path / ".convbook").mkdir()
    row = Row("al", "toy", "toy", 0, 3, "unreadable", "not JSON <x>")
    problems = write_pages(
        [(row, None)], tmp_path, "messages", f"sqlite:///{tmp_path / 'gradebook.db'}"
    )
    assert problems == {}
    page = (tmp_path / "feedback" / "al" / "toy" / "toy.html").read_text()
    assert "not JSON &lt;x&gt;" in page and "unreadable" in page
    assert (tmp_path / "feedback" / "mathjax" / "tex-chtml.js").is_file()


def test_a_page_that_cannot_be_written_is_reported_and_the_others_are_written(tmp_path):
    (tmp_path / ".convbook").mkdir()
    (tmp_path / "feedback").mkdir()
    (tmp_path / "feedback" / "bob").write_text("a file where bob's folder should be")
    rows = [Row(s, "toy", "toy", 0, 3, "missing", "no toy.ipynb") for s in ("al", "bob", "cy")]
    problems = write_pages(
        [(row, None) for row in rows], tmp_path, "score", f"sqlite:///{tmp_path / 'gradebook.db'}"
    )
    assert list(problems) == [("bob", "toy", "toy")]
    assert "feedback page not written" in problems[("bob", "toy", "toy")]
    for student in ("al", "cy"):
        assert (tmp_path / "feedback" / student / "toy" / "toy.html").is_file()


def test_a_page_that_fails_to_render_leaves_no_older_page_behind(tmp_path):
    """An unreadable executed notebook: reported, and the page of an earlier run (perhaps
    in ``full`` mode, showing the hidden tests) is removed rather than left standing."""
    (tmp_path / ".convbook").mkdir()
    old = tmp_path / "feedback" / "al" / "toy" / "toy.html"
    old.parent.mkdir(parents=True)
    old.write_text("an older page, with the hidden tests")
    broken = tmp_path / "toy.ipynb"
    broken.write_text("{ not a notebook")
    row = Row("al", "toy", "toy", 1, 3, "graded")
    problems = write_pages(
        [(row, broken)], tmp_path, "messages", f"sqlite:///{tmp_path / 'gradebook.db'}"
    )
    assert "feedback page not written" in problems[("al", "toy", "toy")]
    assert not old.exists()


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="feedback mode"):
        write_pages([], tmp_path, "everything", f"sqlite:///{tmp_path / 'gradebook.db'}")

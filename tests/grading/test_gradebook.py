"""A course's gradebook through ``convbook grade`` (issue 22), on SQLite and on PostgreSQL.

A person's grades (entered as formgrader enters them) count at once in ``grades.csv`` and
on both summaries, survive re-runs, changed hidden tests, changed rubrics (kept and
flagged for review), and a SIGKILL of the command at any of its write points. A graded
cell the solutions lost is deleted only when asked, after a backup.

The course is the toy assignment with a written answer added (1 point, graded by a
person); every run goes through the console script.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

from convbook.grading.gradebook import notebook_grades, open_gradebook

from . import planted

CONVBOOK = Path(sys.executable).with_name("convbook")
LIMITS = ["--jobs", "2", "--no-progress", "--cell-timeout", "20", "--notebook-timeout", "60"]
WHY = "why"  # the written answer's grade id
WHY_SOLUTION = "Doubling is linear: $f(a + b) = f(a) + f(b)$.\n\nRubric: 1 point for linearity."


def _with_written_answer(nb: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("(ex-toy)=\n# Toy exercises"))  # MyST label
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "task": False,
                                 "grade_id": WHY, "points": 1, "schema_version": 3}  # fmt: skip
    nb.cells.append(cell)
    return nb


@pytest.fixture
def course(tmp_path: Path) -> dict[str, Path]:
    """Solutions (toy + a written answer) and three students' submissions."""
    solutions = tmp_path / "solutions"
    (solutions / "toy").mkdir(parents=True)
    nbformat.write(
        _with_written_answer(planted.solution(), WHY_SOLUTION), solutions / "toy" / "toy.ipynb"
    )
    submissions = tmp_path / "submissions"
    students = {
        "alice": _with_written_answer(planted.solution(), "Because it is linear."),
        "bob": _with_written_answer(
            planted.answer(double="def double(x):\n    return x"), "No idea, but I tried."
        ),  # fmt: skip
        "carol": _with_written_answer(planted.blank(), "YOUR ANSWER HERE"),
    }
    for student, nb in students.items():
        (submissions / student / "toy").mkdir(parents=True)
        nbformat.write(nb, submissions / student / "toy" / "toy.ipynb")
    return {"solutions": solutions, "submissions": submissions, "out": tmp_path / "out"}


def grade(course: dict, *extra: str, db: str | None = None, env: dict | None = None):
    command = [CONVBOOK, "grade", course["submissions"], "--out", course["out"],
               "--solutions", course["solutions"], *LIMITS, *extra]  # fmt: skip
    if db:
        command += ["--db", db]
    name, _, value = RUN_MARK.partition("=")
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {}), name: value})  # fmt: skip


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def regraded(out: Path) -> list[str]:
    """The notebooks the last run graded (the others came from its cache)."""
    return json.loads((out / ".convbook" / "last_run.json").read_text())


def give_manual_grade(db: str, student: str, score: float, comment: str) -> None:
    """What formgrader's handlers do when a person saves a score and a comment."""
    with open_gradebook(db) as gradebook:
        submitted = gradebook.find_submission_notebook("toy", "toy", student)
        [grade] = [g for g in submitted.grades if g.name == WHY]
        grade.manual_score = score
        grade.needs_manual_grade = False
        [note] = [c for c in submitted.comments if c.name == WHY]
        note.manual_comment = comment
        gradebook.db.commit()


def manual_state(db: str) -> dict[str, tuple]:
    """Every submission's id and its written answer's grade and comment."""
    state = {}
    with open_gradebook(db) as gradebook:
        for submission in gradebook.assignment_submissions("toy"):
            [notebook] = submission.notebooks
            [grade] = [g for g in notebook.grades if g.name == WHY]
            [note] = [c for c in notebook.comments if c.name == WHY]
            state[submission.student_id] = (
                submission.id, notebook.id, grade.manual_score, note.manual_comment,
                grade.needs_manual_grade,
            )  # fmt: skip
    return state


def edit_solution(course: dict, grade_id: str, change) -> None:
    path = course["solutions"] / "toy" / "toy.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = change(cell.source)
    nb.cells = [cell for cell in nb.cells if cell.source is not None]
    nbformat.write(nb, path)


def test_manual_grades_count_everywhere_and_are_never_lost(course, gradebook_db):
    done = grade(course, db=gradebook_db)
    assert done.returncode == 0, done.stderr
    first = rows(course["out"])
    assert first["alice"]["score"] == "3" and first["alice"]["max_score"] == "4"
    assert first["alice"]["awaiting_points"] == "1" and first["alice"]["awaiting"] == WHY
    assert "1 point awaits a grader: why" in first["alice"]["message"]
    assert first["carol"]["awaiting_points"] == "0"  # left as released: 0, nobody need look

    give_manual_grade(gradebook_db, "alice", 0.5, "Half: say why linearity matters.")
    ids = manual_state(gradebook_db)
    done = grade(course)  # --db is remembered in OUT
    assert done.returncode == 0, done.stderr
    assert regraded(course["out"]) == []  # nothing regraded, the grade counts at once
    alice = rows(course["out"])["alice"]
    assert (alice["score"], alice["manual_points"], alice["awaiting_points"]) == ("3.5", "0.5", "0")
    assert re.search(r"^alice\s+toy\s+toy\s+3\.5/4\s+graded", done.stdout, re.M)  # summary
    page = (course["out"] / "feedback" / "alice" / "toy" / "toy.html").read_text()
    assert "Score: 3.5 / 4 points" in page and "graded by a person" in page
    assert manual_state(gradebook_db) == ids  # still graded, same ids
    carol = (course["out"] / "feedback" / "carol" / "toy" / "toy.html").read_text()
    assert "(ex-toy)=" not in carol and "Toy exercises" in carol  # the label is the website's
    assert "<td>not answered</td>" in carol and "<code></code>" not in carol

    # the instructor fixes a hidden test: every notebook is regraded, no grade is lost
    edit_solution(course, "test_double", lambda s: s.replace(
        "### BEGIN HIDDEN TESTS", "### BEGIN HIDDEN TESTS\n# one more comment", 1))  # fmt: skip
    done = grade(course)
    assert done.returncode == 0, done.stderr
    assert sorted(regraded(course["out"])) == ["alice/toy/toy", "bob/toy/toy", "carol/toy/toy"]
    assert manual_state(gradebook_db) == ids
    assert rows(course["out"])["alice"]["score"] == "3.5"

    # the rubric of the written answer changes: the person's grade is kept, flagged
    edit_solution(course, WHY, lambda s: s + " Half a point for an example.")
    done = grade(course)
    assert done.returncode == 0, done.stderr
    alice = rows(course["out"])["alice"]
    assert alice["score"] == "3.5" and alice["awaiting"] == "why (review)"
    assert "to look at again" in alice["message"]
    submission, notebook, score, comment, awaiting = manual_state(gradebook_db)["alice"]
    assert (submission, notebook, score, comment) == ids["alice"][:4] and awaiting
    page = (course["out"] / "feedback" / "alice" / "toy" / "toy.html").read_text()
    assert "to be looked at again" in page

    # the written answer is taken out of the solutions: refused until asked, then backed up
    edit_solution(course, WHY, lambda s: None)
    before = (course["out"] / "grades.csv").read_text()
    done = grade(course)
    assert done.returncode == 2
    assert (
        "toy/toy/why: the grades of 3 submissions, 1 given by a person (0.5 points)"
        in (done.stderr)
        and "--remove-cells" in done.stderr
    )
    assert (
        manual_state(gradebook_db)["alice"][2] == 0.5
        and (course["out"] / "grades.csv").read_text() == before
    )
    done = grade(course, "--remove-cells")
    assert done.returncode == 0, done.stderr
    [backup] = (course["out"] / ".convbook" / "backups").glob("*.json")
    assert '"manual_score": 0.5' in backup.read_text()
    assert "deleted cell toy/toy/why" in done.stderr
    assert rows(course["out"])["alice"]["max_score"] == "3"
    after = {s: v[:2] for s, v in _ids_only(gradebook_db).items()}
    assert after == {s: v[:2] for s, v in ids.items()}  # submissions kept their ids


def _ids_only(db: str) -> dict[str, tuple]:
    with open_gradebook(db) as gradebook:
        return {
            s.student_id: (s.id, s.notebooks[0].id) for s in gradebook.assignment_submissions("toy")
        }


RUN_MARK = f"CONVBOOK_TEST_RUN={uuid.uuid4().hex}"  # in the environment of each grading run


def _leftovers() -> list[str]:
    """Processes of this module's grading runs still alive: its workers carry RUN_MARK in
    their environment (kernels do not: theirs is an allow-list, but they live in their
    worker's PID namespace and die with it)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if RUN_MARK.encode() not in environ.read_bytes().split(b"\0"):
                continue
            command = environ.with_name("cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        found.append(command.decode(errors="replace")[:120])
    return found


# Where the command is killed, in this order (each run gets a little further): inside the
# update of the assignments in the gradebook; a notebook graded and nothing of it written;
# halfway through the feedback pages; a result cached but not yet in the gradebook; inside
# the gradebook's transaction; before grades.csv.
KILL_POINTS = ["sync:1", "graded:2", "feedback:1", "cached:1", "gradebook:1", "csv:1"]


def test_a_run_killed_anywhere_completes_on_the_next_run(course, gradebook_db):
    assert grade(course, db=gradebook_db).returncode == 0
    give_manual_grade(gradebook_db, "bob", 1.0, "Right idea.")
    ids = manual_state(gradebook_db)
    # a changed hidden test: every notebook is graded again
    edit_solution(course, "test_double", lambda s: s + "\nassert True  # stricter, one day")
    for point in KILL_POINTS:
        killed = grade(course, env={"CONVBOOK_FAILPOINT": point})
        assert killed.returncode == -9, (point, killed.returncode, killed.stderr[-2000:])
        deadline = time.monotonic() + 30
        while _leftovers() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _leftovers() == [], point  # the workers saw the command die, took their kernels
        assert manual_state(gradebook_db) == ids, point  # no manual grade changed, same ids

    done = grade(course)
    assert done.returncode == 0, done.stderr
    assert manual_state(gradebook_db) == ids
    got = rows(course["out"])
    assert {s: (r["score"], r["max_score"], r["status"]) for s, r in got.items()} == {
        "alice": ("3", "4", "graded"),
        "bob": ("2", "4", "graded"),  # wrong double (0 of 2) + square 1 + the person's 1
        "carol": ("0", "4", "graded"),
    }
    with open_gradebook(gradebook_db) as gradebook:
        students = [s.student_id for s in gradebook.assignment_submissions("toy")]
    assert sorted(students) == ["alice", "bob", "carol"]  # each notebook once
    for student, row in got.items():  # every page whole, with the gradebook's score
        page = (course["out"] / "feedback" / student / "toy" / "toy.html").read_text()
        assert page.rstrip().endswith("</html>") and f"Score: {row['score']} /" in page
    assert [c.manual for c in notebook_grades(gradebook_db, "bob", "toy", "toy") if c.name == WHY
            ] == [1.0]  # fmt: skip
    assert not [p for p in course["out"].rglob(".*") if p.is_file() and p.name.count(".") > 2]


def test_formgrader_and_export_work_on_a_postgresql_gradebook(course, postgres_url, tmp_path):
    """The instructor's path on PostgreSQL: grade with --db, a person saves a score through
    ``convbook formgrade``'s own API (what its page sends), re-run, export."""
    from .test_formgrade import Formgrader

    assert grade(course, db=postgres_url).returncode == 0
    server = Formgrader(course["out"], tmp_path / "formgrade.log")  # --db is remembered
    try:
        base, token = server.url.split("/formgrader?token=")

        def call(path: str, body: dict | None = None):
            request = urllib.request.Request(
                f"{base}/formgrader/api/{path}",
                data=None if body is None else json.dumps(body).encode(),
                method="GET" if body is None else "PUT",
                headers={"Authorization": f"token {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        listed = call("submitted_notebooks/toy/toy")
        assert sorted(s["student"] for s in listed) == ["alice", "bob", "carol"]
        [alice] = [s for s in listed if s["student"] == "alice"]
        [why] = [g for g in call(f"grades?submission_id={alice['id']}") if g["name"] == WHY]
        saved = call(f"grade/{why['id']}", {"manual_score": 1, "extra_credit": 0.5})
        assert (saved["manual_score"], saved["needs_manual_grade"]) == (1, False)
    finally:
        assert server.stop() == 0
    assert grade(course).returncode == 0
    alice = rows(course["out"])["alice"]
    assert (alice["score"], alice["manual_points"], alice["awaiting_points"]) == ("4.5", "1.5", "0")
    done = subprocess.run([CONVBOOK, "export", course["out"], "--format", "csv"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open(course["out"] / "export" / "csv.csv", newline="") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert (exported["alice"]["score"], exported["alice"]["max_score"]) == ("4.5", "4")

"""End-to-end: ``convbook grade`` on a folder of planted submissions, with real nbgrader.

One grading run (module fixture) covers every robustness case of issue 6; each test then
checks one student's row, the gradebook, the feedback or a rerun.
"""

from __future__ import annotations

import csv
import shutil
import socket
import sqlite3
import zipfile
from pathlib import Path

import nbformat
import pytest

from convbook.cli import main as convbook_main

from . import planted

pytestmark = pytest.mark.slow

UNREADABLE = {
    "empty_file": b"",
    "not_json": b"print('this is a script, not a notebook')",
    "not_notebook": b'{"cells": "none", "nbformat": 4}',
    "binary": bytes(range(256)) * 4,
}
# generous for a loaded 2-core machine: the locked first cell imports torch
LIMITS = ["--jobs", "2", "--cell-timeout", "20", "--notebook-timeout", "150", "--no-progress"]


def _plant(root: Path, out: Path, port: int) -> list[str]:
    for student, (make, _, _) in planted.CASES.items():
        folder = root / student / "toy"
        folder.mkdir(parents=True)
        nbformat.write(make(), folder / "toy.ipynb")
    for student, content in UNREADABLE.items():
        (root / student / "toy").mkdir(parents=True)
        (root / student / "toy" / "toy.ipynb").write_bytes(content)
    (root / "misnamed" / "toy").mkdir(parents=True)
    nbformat.write(planted.solution(), root / "misnamed" / "toy" / "toy (1).ipynb")
    nbformat.write(planted.solution(), root / "flat_student_toy.ipynb")
    with zipfile.ZipFile(root / "zipped.zip", "w") as archive:
        archive.writestr("zipped/toy/toy.ipynb", nbformat.writes(planted.solution()))
    with zipfile.ZipFile(root / "zipflat.zip", "w") as archive:
        archive.writestr(
            "zipflat_toy.ipynb", nbformat.writes(planted.answer(double=planted.WRONG_DOUBLE))
        )
    secrets = [
        str(planted.TOY),  # the solutions folder
        str(root / "correct" / "toy" / "toy.ipynb"),  # another student's submission
        str(out / "gradebook.db"),  # the instructor's gradebook
        str(out / ".convbook" / "course" / "gradebook.db"),  # the template course
        "../../../../db/gradebook.db",  # the worker's own gradebook, next to the kernel
        "/root/.bashrc",
        "/etc/shadow",
    ]
    (root / "snoop" / "toy").mkdir(parents=True)
    nbformat.write(planted.snoop(secrets, port), root / "snoop" / "toy" / "toy.ipynb")
    return secrets


def _read_csv(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("graded")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    secrets = _plant(root, out, port)
    exit_code = convbook_main(
        ["grade", str(root), "--out", str(out), "--solutions", str(planted.SOURCE), *LIMITS]
    )
    listener.close()
    return root, out, exit_code, secrets


@pytest.fixture(scope="module")
def rows(graded):
    return _read_csv(graded[1] / "grades.csv")


def test_grade_command_completes_the_batch(graded, rows):
    _, _, exit_code, _ = graded
    assert exit_code == 0
    expected = (
        set(planted.CASES)
        | set(UNREADABLE)
        | {"misnamed", "flat_student", "zipped", "zipflat", "snoop"}
    )
    assert set(rows) == expected


def test_csv_has_the_documented_columns(graded):
    header = (graded[1] / "grades.csv").read_text().splitlines()[0]
    assert header == (
        "student_id,assignment,notebook,score,max_score,status,message,"
        "manual_points,awaiting_points,awaiting"
    )


@pytest.mark.parametrize("student", sorted(planted.CASES))
def test_planted_submission_gets_expected_status_and_score(rows, student):
    _, status, score = planted.CASES[student]
    row = rows[student]
    assert (row["status"], float(row["score"]), float(row["max_score"])) == (status, score, 3), row


@pytest.mark.parametrize("student", sorted(UNREADABLE))
def test_unreadable_file_scores_zero_with_a_reason(rows, student):
    row = rows[student]
    assert row["status"] == "unreadable" and row["score"] == "0"
    assert row["message"]


def test_misnamed_notebook_is_missing_and_says_what_was_found(rows):
    row = rows["misnamed"]
    assert row["status"] == "missing" and row["score"] == "0"
    assert "toy (1).ipynb" in row["message"]


def test_flat_and_zipped_layouts_are_graded(rows):
    assert rows["flat_student"]["score"] == "3"
    assert rows["zipped"]["score"] == "3"
    assert rows["zipflat"]["score"] == "1"


def test_patching_the_kernel_changes_no_verdict(rows):
    """The tests run in the grader's process: whatever a notebook patches in its kernel
    (torch.allclose, builtins, sys.modules, an __eq__), its wrong answer still loses its
    points and its right one keeps them, with nothing to report."""
    patched = [student for student in planted.CASES if student.startswith("patches_")]
    assert len(patched) >= 6
    for student in [*patched, "always_equal", "hides_via_alias"]:
        assert (rows[student]["status"], rows[student]["score"]) == ("graded", "1"), student


def test_timeout_and_kernel_death_messages_name_the_cell(rows):
    assert "'square'" in rows["infinite_loop"]["message"]
    assert "'square'" in rows["kills_kernel"]["message"]
    assert "sys.exit" in rows["sys_exit"]["message"]


def test_kernel_cannot_read_other_files_or_reach_the_network(graded, rows):
    root, out, _, secrets = graded
    readable_here = [p for p in secrets if Path(p).is_file() and not p.startswith("..")]
    assert len(readable_here) >= 4  # the grader itself could read them
    assert (rows["snoop"]["status"], rows["snoop"]["score"]) == ("graded", "3")
    autograded = nbformat.read(out / "autograded" / "snoop" / "toy" / "toy.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in autograded.cells for o in c.get("outputs", []))
    assert "leaks: []" in printed


def test_huge_output_is_truncated_in_the_autograded_notebook(graded):
    out = graded[1]
    size = (out / "autograded" / "huge_output" / "toy" / "toy.ipynb").stat().st_size
    assert size < 1_000_000


def test_gradebook_matches_the_csv(graded, rows):
    out = graded[1]
    with sqlite3.connect(out / "gradebook.db") as db:
        scores = dict(
            db.execute(
                "SELECT student.id, SUM(COALESCE(grade.manual_score, grade.auto_score, 0)) "
                "FROM grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
                "JOIN submitted_assignment "
                "ON submitted_notebook.assignment_id = submitted_assignment.id "
                "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"
            ).fetchall()
        )
    assert scores == {student: float(row["score"]) for student, row in rows.items()}


def test_every_row_has_a_feedback_page(graded, rows):
    out = graded[1]
    for student in rows:
        page = out / "feedback" / student / "toy" / "toy.html"
        assert page.is_file(), student
    assert "unreadable" in (out / "feedback" / "not_json" / "toy" / "toy.html").read_text()
    assert "test_double" in (out / "feedback" / "correct" / "toy" / "toy.html").read_text()


def test_rerun_gives_the_same_csv_and_regrades_only_a_new_student(graded, tmp_path):
    root, out, _, _ = graded
    before = (out / "grades.csv").read_text()
    assert (
        convbook_main(
            ["grade", str(root), "--out", str(out), "--solutions", str(planted.SOURCE), *LIMITS]
        )
        == 0
    )
    assert (out / "grades.csv").read_text() == before
    assert (out / ".convbook" / "last_run.json").read_text().strip() == "[]"

    (root / "newcomer" / "toy").mkdir(parents=True)
    nbformat.write(
        planted.answer(square="def square(x):\n    return x"),
        root / "newcomer" / "toy" / "toy.ipynb",
    )
    try:
        assert (
            convbook_main(
                ["grade", str(root), "--out", str(out), "--solutions", str(planted.SOURCE), *LIMITS]
            )
            == 0
        )
        assert (out / ".convbook" / "last_run.json").read_text().strip() == '["newcomer/toy/toy"]'
        after = _read_csv(out / "grades.csv")
        assert after["newcomer"]["score"] == "2"
        assert {s: r for s, r in after.items() if s != "newcomer"} == _read_csv_text(before)
    finally:
        shutil.rmtree(root / "newcomer")


def _read_csv_text(text: str) -> dict[str, dict[str, str]]:
    return {row["student_id"]: row for row in csv.DictReader(text.splitlines())}

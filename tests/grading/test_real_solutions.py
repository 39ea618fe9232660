"""``convbook grade`` on a real assignment of the course (solutions/ and exercises/)."""

import csv
import shutil
from pathlib import Path

import pytest

from convbook.cli import main as convbook_main

REPO = Path(__file__).resolve().parents[2]
# 7.5 is the hardest case for the grader: most of its answers come with
# rules on how answers are computed, checked on their source before the notebook runs.
SLUG = "7_5_pooling"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (REPO / "solutions" / SLUG).is_dir() or not (REPO / "exercises" / SLUG).is_dir(),
        reason=f"solutions/{SLUG} and exercises/{SLUG} are not written yet",
    ),
]


def test_solution_scores_every_autograded_point_and_the_release_none(tmp_path):
    submissions = tmp_path / "submissions"
    for student, folder in (("teacher", "solutions"), ("nobody", "exercises")):
        target = submissions / student / SLUG
        target.mkdir(parents=True)
        shutil.copy(REPO / folder / SLUG / f"{SLUG}.ipynb", target)
    out = tmp_path / "out"
    args = ["grade", str(submissions), "--out", str(out), "--solutions", str(REPO / "solutions")]
    assert convbook_main([*args, "--jobs", "2", "--no-progress"]) == 0
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    teacher, nobody = rows["teacher"], rows["nobody"]
    assert (teacher["status"], nobody["status"]) == ("graded", "graded"), (teacher, nobody)
    autograded = float(teacher["max_score"]) - float(teacher["awaiting_points"])
    assert float(teacher["score"]) == autograded > 0
    assert float(nobody["score"]) == 0
    assert (out / "feedback" / "teacher" / SLUG / f"{SLUG}.html").is_file()

"""Write grades into the instructor's nbgrader gradebook, from the parent process only.

Workers grade in their own throw-away gradebooks; this module copies their cell scores
into ``OUT/gradebook.db`` one submission at a time, so sqlite never sees two writers and
the result is the same gradebook ``nbgrader autograde`` would have built (and that
formgrader can open for the manually graded answers).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from nbgrader.api import Gradebook

from .records import CellGrade

__all__ = ["init_gradebook", "record_grades"]


def init_gradebook(path: Path, template: Path, fresh: bool) -> str:
    """Create ``path`` from the template gradebook when needed.

    Args:
        path: the instructor's gradebook file.
        template: a gradebook holding the generated assignments (no students).
        fresh: replace an existing gradebook (the assignments changed).

    Returns:
        The sqlite URL of ``path``.
    """
    if fresh or not path.exists():
        shutil.copyfile(template, path)
    return f"sqlite:///{path.resolve()}"


def record_grades(
    db_url: str,
    student: str,
    assignment: str,
    notebook: str,
    grades: list[CellGrade] | None,
) -> None:
    """Store one notebook's autograded cell scores.

    Args:
        db_url: the instructor's gradebook.
        student: student id (created when new).
        assignment: assignment id (must exist in the gradebook).
        notebook: notebook name.
        grades: scores per graded cell; None gives every cell 0 (missing, unreadable, ...).
    """
    by_name = {grade.name: grade for grade in grades or []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy session warnings
        with Gradebook(db_url, "convbook") as gradebook:
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(assignment, student)
            submitted = gradebook.find_submission_notebook(notebook, assignment, student)
            for grade in submitted.grades:
                found = by_name.get(grade.name)
                if found is None:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                else:
                    grade.auto_score = found.auto_score
                    grade.needs_manual_grade = found.needs_manual_grade
            gradebook.db.commit()

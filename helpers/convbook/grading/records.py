"""The records the grading pipeline passes along: what to grade, how, and what came out.

collect (``Submission``) -> grade in a worker (``Request`` -> ``Result`` of ``CellGrade``s)
-> outputs (``Outcome``: a ``Row`` of ``grades.csv`` and the gradebook's cells).
``Settings`` are the command's options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import policy

__all__ = ["CellGrade", "Outcome", "Request", "Result", "Row", "Settings", "Submission"]


@dataclass(frozen=True)
class Settings:
    """Limits and parallelism of one grading run."""

    jobs: int = 2
    cell_timeout: int = policy.CELL_TIMEOUT_S
    notebook_timeout: float = policy.NOTEBOOK_TIMEOUT_S
    memory_mb: int = policy.MEMORY_MB
    progress: bool = True
    sandbox: bool = True
    feedback: str = "messages"  # see convbook.grading.feedback.MODES


@dataclass(frozen=True)
class Submission:
    """One expected notebook of one student.

    Attributes:
        student: student id.
        assignment: assignment id.
        notebook: notebook name without ``.ipynb``.
        path: the submitted file, or None when it is missing.
        message: why it is missing (empty otherwise).
        note: what the grader chose for this notebook, said in its row whatever its status
            (several files handed in for it, files that could not be unpacked, files whose
            name or folder names another student).
        name: the student's full name when the download or the roster gives one.
        lms_id: the student's id in the LMS the download came from (Canvas user id,
            Moodle participant id) for a student of such a download, else empty.
    """

    student: str
    assignment: str
    notebook: str
    path: Path | None
    message: str = ""
    note: str = ""
    name: str = ""
    lms_id: str = ""


@dataclass
class Request:
    """Everything one worker needs; written by the parent as JSON."""

    work_dir: str
    submission: str
    student: str
    assignment: str
    notebook: str
    config_file: str
    release_notebook: str
    source_notebook: str
    template_db: str
    uid: int = 60001
    cell_timeout: int = policy.CELL_TIMEOUT_S
    notebook_timeout: float = policy.NOTEBOOK_TIMEOUT_S
    memory_bytes: int = policy.MEMORY_MB << 20
    file_bytes: int = policy.FILE_MB << 20
    threads: int = 1
    max_output_bytes: int = policy.MAX_OUTPUT_BYTES
    sandbox: bool = True
    salt: str = ""  # mixed into the tests' seeds (see app._course_secret)


@dataclass
class CellGrade:
    """One graded cell: nbgrader's grade_id, scores and whether a person must grade it."""

    name: str
    auto_score: float | None
    max_score: float
    needs_manual_grade: bool


@dataclass
class Result:
    """What the worker found; ``app.py`` turns it into a status and merges it."""

    ok: bool
    grades: list[CellGrade] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    autograded: str | None = None
    log: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One line of ``grades.csv``: ``score`` is every point given so far, the autograder's
    and a person's; ``awaiting_points`` are those still to be given by a person."""

    student_id: str
    assignment: str
    notebook: str
    score: float
    max_score: float
    status: str
    message: str = ""
    manual_points: float = 0.0  # given by a person (extra credit included), part of score
    awaiting_points: float = 0.0  # points a person has yet to give (or to look at again)
    awaiting: str = ""  # their grade ids, "; "-separated; "(review)" after a changed one

    def values(self) -> list[str]:
        return [
            self.student_id,
            self.assignment,
            self.notebook,
            f"{self.score:g}",
            f"{self.max_score:g}",
            self.status,
            self.message,
            f"{self.manual_points:g}",
            f"{self.awaiting_points:g}",
            self.awaiting,
        ]


@dataclass
class Outcome:
    """A graded (or failed) notebook: its CSV row and what goes into the gradebook."""

    row: Row
    grades: list[CellGrade] | None

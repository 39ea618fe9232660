"""The instructor's nbgrader gradebook: kept in step with the solutions, never losing a grade.

Only the parent process of ``convbook grade`` writes it (workers grade in throw-away
gradebooks). It is nbgrader's own schema, so formgrader opens it for the manually graded
answers, in SQLite (``OUT/gradebook.db``, the default) or any database nbgrader accepts
(``--db postgresql://...``). Three writers, three rules:

* ``sync_course`` updates the assignments in place from the template course that
  ``nbgrader generate_assignment`` built (as nbgrader does): new cells get empty grades
  in every submission, changed cells keep their grades, and a graded cell that is gone
  is deleted only when asked, after a backup. Ids of submissions never change.
* ``record_grades`` writes one notebook's autograded scores. It never writes a manual
  score, a comment, extra credit, or the "graded" state of a manually graded answer;
  it only flags such an answer for review (``needs_manual_grade`` again, the person's
  score kept) when the student's answer or the solution's cell changed since.
* a person, in formgrader: manual scores, comments, extra credit.

Each call is one transaction, so a run killed at any point leaves each notebook's grades
as they were before or after it, and the next run completes the rest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .durable import failpoint, write_atomic
from .records import CellGrade, Submission

__all__ = [
    "CellState",
    "GradebookChange",
    "backup",
    "gradebook_url",
    "notebook_grades",
    "open_gradebook",
    "record_grades",
    "safe_url",
    "sync_course",
]

_URL_FILE = "db_url"  # in OUT/.convbook: the --db given to the last ``convbook grade``
_BASIS_TABLE = "convbook_basis"  # per grade: what a person's grade was given for


class GradebookChange(ValueError):
    """The solutions no longer have graded cells that hold grades (see ``sync_course``)."""


@dataclass(frozen=True)
class CellState:
    """One graded cell of one submitted notebook, as the gradebook holds it.

    Attributes:
        name: nbgrader's grade id.
        points: the cell's maximum score.
        auto: the autograder's score (None for an answer a person grades).
        manual: a person's score (None until one is given).
        extra: extra credit given by a person.
        awaiting: True while a person must (re)grade it.
    """

    name: str
    points: float
    auto: float | None
    manual: float | None
    extra: float | None
    awaiting: bool

    @property
    def score(self) -> float:
        """What the cell counts: the person's score, else the autograder's, plus extra."""
        base = self.manual if self.manual is not None else (self.auto or 0.0)
        return base + (self.extra or 0.0)

    @property
    def review(self) -> bool:
        """A person's grade that must be looked at again (the answer or the solution
        changed since it was given)."""
        return self.awaiting and self.manual is not None


def gradebook_url(out: Path, db: str | None = None) -> str:
    """The URL of OUT's gradebook.

    ``db`` when given (a SQLAlchemy URL such as ``postgresql://user:pw@host/course``; it is
    remembered, readable by the grader only, so ``convbook formgrade OUT`` and ``convbook
    export OUT`` find it again); else the one remembered; else the SQLite file
    ``OUT/gradebook.db``.
    """
    out = Path(out).resolve()
    remembered = out / ".convbook" / _URL_FILE
    if db:
        if "://" not in db:
            raise ValueError(f"--db must be a database URL (postgresql://...), not {db!r}")
        remembered.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(remembered, db, mode=0o600)
        return db
    if remembered.is_file():
        return remembered.read_text().strip()
    return f"sqlite:///{out / 'gradebook.db'}"


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@contextmanager
def open_gradebook(db_url: str) -> Iterator:
    """nbgrader's ``Gradebook`` on ``db_url``, with a clear error when it cannot be opened."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SQLAlchemyError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy session warnings
        try:
            gradebook = Gradebook(db_url, "convbook")
        except (SQLAlchemyError, ImportError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ValueError(
                f"cannot open the gradebook {safe_url(db_url)}: {type(error).__name__}: {first}"
            ) from None
        try:
            yield gradebook
        except BaseException:
            gradebook.db.rollback()
            raise
        finally:
            gradebook.close()


def _create_if_new(db_url: str) -> None:
    """Give an empty database nbgrader's tables and its alembic stamp, as ``Gradebook``
    would; nbgrader finds the stamp by running the ``alembic`` program, which need not be
    on the PATH of a console script, so the head revision is read here with alembic's
    library instead."""
    from alembic.script import ScriptDirectory
    from nbgrader import api
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url)
    try:
        if inspect(engine).get_table_names():
            return
        head = ScriptDirectory(str(Path(api.__file__).with_name("alembic"))).get_current_head()
        with engine.begin() as connection:
            api.Base.metadata.create_all(bind=connection)
            connection.execute(
                text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            )
            connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head}
            )
    finally:
        engine.dispose()


def _basis_table(gradebook):
    """The table recording, per grade, the answer and solution a person graded."""
    from sqlalchemy import Column, MetaData, String, Table

    metadata = MetaData()
    table = Table(
        _BASIS_TABLE,
        metadata,
        Column("grade_id", String(32), primary_key=True),  # nbgrader's Grade.id
        Column("answer", String(64)),
        Column("solution", String(64)),
    )
    metadata.create_all(gradebook.db.connection(), checkfirst=True)
    return table


# ---------------------------------------------------------------------------------------
# The assignments, in place


@dataclass
class _Plan:
    """What ``sync_course`` will do to one gradebook."""

    removed: list[tuple] = field(default_factory=list)  # (kind, assignment, notebook, name)
    holding: list[str] = field(default_factory=list)  # removed cells that hold grades


def _cells(notebook) -> dict[tuple[str, str], object]:
    """A notebook's cells by (kind, name): grade, solution and task cells, source cells."""
    found = {(type(cell).__name__, cell.name): cell for cell in notebook._base_cells}
    found.update({("SourceCell", cell.name): cell for cell in notebook.source_cells})
    return found


def _copy_fields(cell) -> dict:
    fields = {}
    for name in ("max_score", "cell_type", "locked", "source", "checksum"):
        if hasattr(type(cell), name) and getattr(cell, name, None) is not None:
            fields[name] = getattr(cell, name)
    return fields


def _held(cells: list) -> str:
    """What deleting ``cells`` (one notebook's, or one name's) would delete, in words;
    empty when no submission has a grade or comment for them."""
    from .report import points

    grades = [g for c in cells for g in (getattr(c, "grades", None) or [])]
    comments = [m for c in cells for m in (getattr(c, "comments", None) or [])]
    submissions = {row.notebook_id for row in [*grades, *comments]}
    if not submissions:
        return ""
    by_person = [g for g in grades if g.manual_score is not None or g.extra_credit is not None]
    words = [f"the grades of {len(submissions)} submission" + "s" * (len(submissions) != 1)]
    if by_person:
        given = sum((g.manual_score or 0) + (g.extra_credit or 0) for g in by_person)
        words.append(f"{len(by_person)} given by a person ({points(given)})")
    written = [m for m in comments if m.manual_comment]
    if written:
        words.append(f"{len(written)} comment" + "s" * (len(written) != 1))
    return ", ".join(words)


def sync_course(
    db_url: str, template_url: str, remove_cells: bool = False, backup_dir: Path | None = None
) -> list[str]:
    """Bring the instructor's gradebook in step with the template course, in place.

    Every assignment of the template is created or updated: its notebooks, grade,
    solution, task and source cells (points, types, sources). A cell new to a notebook gets
    an empty grade (and comment) in every submission of it. A cell or notebook that the
    template no longer has is deleted; if any of its grades or comments was filled in,
    only when ``remove_cells`` is set, and after a backup in ``backup_dir``. Assignments
    the template does not have are left alone. One transaction.

    Args:
        db_url: the instructor's gradebook.
        template_url: the gradebook ``nbgrader generate_assignment`` filled.
        remove_cells: delete graded cells the solutions no longer have.
        backup_dir: where the backup goes before anything graded is deleted.

    Returns:
        What changed, one line each, for the console.

    Raises:
        GradebookChange: graded cells would be deleted and ``remove_cells`` is not set.
    """
    from nbgrader import api

    kinds = {"GradeCell": api.GradeCell, "SolutionCell": api.SolutionCell,
             "TaskCell": api.TaskCell, "SourceCell": api.SourceCell}  # fmt: skip
    with open_gradebook(template_url) as template:
        wanted = {
            a.name: {
                nb.name: (nb.kernelspec, {key: _copy_fields(c) for key, c in _cells(nb).items()})
                for nb in a.notebooks
            }
            for a in template.assignments
        }
    notes: list[str] = []
    try:
        _create_if_new(db_url)
    except Exception as error:
        raise ValueError(
            f"cannot open the gradebook {safe_url(db_url)}: {type(error).__name__}: "
            + (str(error).strip().splitlines() or [""])[0]
        ) from None
    with open_gradebook(db_url) as gradebook:
        db = gradebook.db
        plan = _Plan()
        for assignment_name, notebooks in wanted.items():
            try:
                assignment = gradebook.find_assignment(assignment_name)
            except api.MissingEntry:
                continue
            for notebook in assignment.notebooks:
                if notebook.name not in notebooks:
                    plan.removed.append(("Notebook", assignment_name, notebook.name, None))
                    held = _held(notebook._base_cells)
                    if held:
                        plan.holding.append(f"{assignment_name}/{notebook.name}, the whole "
                                            f"notebook: {held}")  # fmt: skip
                    continue
                gone: dict[str, list] = {}
                for (kind, name), cell in _cells(notebook).items():
                    if (kind, name) not in notebooks[notebook.name][1]:
                        plan.removed.append((kind, assignment_name, notebook.name, name))
                        gone.setdefault(name, []).append(cell)
                for name, cells in gone.items():
                    held = _held(cells)
                    if held:
                        plan.holding.append(f"{assignment_name}/{notebook.name}/{name}: {held}")
        if plan.holding and not remove_cells:
            raise GradebookChange(
                "the solutions no longer have these graded cells, and the gradebook holds "
                "grades for them:\n"
                + "".join(f"  - {line}\n" for line in plan.holding)
                + "Nothing was changed. Re-run with --remove-cells to delete them (a backup "
                "of the gradebook is written first), or restore the cells in the solutions."
            )
        if plan.holding:
            where = backup(db_url, backup_dir or Path.cwd())
            notes.append(f"backup of the gradebook before deleting graded cells: {where}")
        for kind, assignment_name, notebook_name, name in plan.removed:
            notebook = gradebook.find_notebook(notebook_name, assignment_name)
            if kind == "Notebook":
                for submitted in list(notebook.submissions):
                    for row in [*submitted.grades, *submitted.comments]:
                        db.delete(row)
                    db.delete(submitted)
                for cell in [*notebook._base_cells, *notebook.source_cells]:
                    db.delete(cell)
                db.delete(notebook)
                notes.append(f"deleted notebook {assignment_name}/{notebook_name}")
                continue
            cell = _cells(notebook)[(kind, name)]
            for row in [*(getattr(cell, "grades", None) or []),
                        *(getattr(cell, "comments", None) or [])]:  # fmt: skip
                db.delete(row)
            db.delete(cell)
            line = f"deleted cell {assignment_name}/{notebook_name}/{name}"
            if kind != "SourceCell" and line not in notes:
                notes.append(line)
        db.flush()
        for assignment_name, notebooks in wanted.items():
            try:
                assignment = gradebook.find_assignment(assignment_name)
            except api.MissingEntry:
                assignment = api.Assignment(name=assignment_name, course_id=gradebook.course_id)
                db.add(assignment)
                db.flush()
            for notebook_name, (kernelspec, cells) in notebooks.items():
                notebook = next((n for n in assignment.notebooks if n.name == notebook_name), None)
                if notebook is None:
                    notebook = api.Notebook(name=notebook_name, assignment=assignment)
                    db.add(notebook)
                    for submission in assignment.submissions:
                        db.add(api.SubmittedNotebook(notebook=notebook, assignment=submission))
                    db.flush()
                notebook.kernelspec = kernelspec
                have = _cells(notebook)
                for (kind, name), fields in cells.items():
                    cell = have.get((kind, name))
                    if cell is None:
                        cell = kinds[kind](name=name, notebook=notebook, **fields)
                        db.add(cell)
                        db.flush()
                        for submitted in notebook.submissions:
                            if kind in ("GradeCell", "TaskCell"):
                                db.add(api.Grade(cell_id=cell.id, notebook=submitted))
                            if kind in ("SolutionCell", "TaskCell"):
                                db.add(api.Comment(cell_id=cell.id, notebook=submitted))
                        if submitted_any := notebook.submissions:
                            notes.append(f"new cell {assignment_name}/{notebook_name}/{name}: "
                                         f"added to {len(submitted_any)} submissions")  # fmt: skip
                    else:
                        for key, value in fields.items():
                            setattr(cell, key, value)
        failpoint("sync")
        db.commit()
    return notes


def backup(db_url: str, folder: Path) -> Path:
    """Write every table of the gradebook to ``folder/gradebook-<time>.json`` (and, for a
    SQLite file, a copy of the file beside it); returns the JSON's path."""
    from sqlalchemy import MetaData, create_engine
    from sqlalchemy.engine import make_url

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"gradebook-{stamp}.json"
    engine = create_engine(db_url)
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        with engine.connect() as connection:
            tables = {
                table.name: [
                    {
                        k: (v.isoformat() if isinstance(v, datetime) else v)
                        for k, v in row._mapping.items()
                    }  # fmt: skip
                    for row in connection.execute(table.select())
                ]
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()
    target.write_text(json.dumps({"db": safe_url(db_url), "tables": tables}, indent=1, default=str))
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        shutil.copyfile(url.database, target.with_suffix(".db"))
    return target


# ---------------------------------------------------------------------------------------
# One notebook's grades


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record_grades(
    db_url: str,
    submission: Submission,
    grades: list[CellGrade] | None,
    answers: dict[str, str] | None = None,
    solutions: dict[str, str] | None = None,
) -> None:
    """Store one notebook's autograded scores, in one transaction.

    Args:
        db_url: the instructor's gradebook.
        submission: the student (created when new, with the name the download gave) and
            the notebook.
        grades: scores per graded cell; None gives every autograded cell 0 (missing,
            unreadable, ...).
        answers: the student's source of each graded answer cell, by grade id.
        solutions: the solution's source (with its points) of each graded cell, by id.

    A person's score, comment and extra credit are never written. An answer a person
    graded is flagged for review (``needs_manual_grade``, the score kept) when the
    student's answer or the solution's cell differs from what was graded.
    """
    from nbgrader.api import MissingEntry, Student
    from sqlalchemy import select

    by_name = {grade.name: grade for grade in grades or []}
    answers, solutions = answers or {}, solutions or {}
    with open_gradebook(db_url) as gradebook:
        student = {}
        if submission.name:
            first, _, last = submission.name.partition(" ")
            student.update(first_name=first, last_name=last or None)
        if submission.lms_id:
            student["lms_user_id"] = submission.lms_id
        try:
            found = gradebook.find_student(submission.student)
            for key, value in student.items():
                setattr(found, key, value)
        except MissingEntry:
            gradebook.db.add(Student(id=submission.student, **student))
        gradebook.db.flush()
        submitted = _submitted_notebook(gradebook, submission)
        basis = _basis_table(gradebook)
        known = {
            row.grade_id: row
            for row in gradebook.db.execute(
                select(basis).where(basis.c.grade_id.in_([g.id for g in submitted.grades]))
            )
        }
        for grade in submitted.grades:
            found = by_name.get(grade.name)
            now = {"answer": _sha(answers.get(grade.name, "")),
                   "solution": _sha(solutions.get(grade.name, ""))}  # fmt: skip
            graded_by_person = grade.manual_score is not None
            if found is None:
                grade.auto_score = 0
                if not graded_by_person:
                    grade.needs_manual_grade = False
            else:
                grade.auto_score = found.auto_score
                if not graded_by_person:
                    grade.needs_manual_grade = found.needs_manual_grade
            old = known.get(grade.id)
            if (
                graded_by_person
                and old is not None
                and (old.answer, old.solution)
                != (
                    now["answer"],
                    now["solution"],
                )
            ):
                grade.needs_manual_grade = True  # a person looks again; the score is kept
            failpoint("gradebook")
            if old is None:
                gradebook.db.execute(basis.insert().values(grade_id=grade.id, **now))
            elif not graded_by_person or grade.needs_manual_grade:
                # what the person will grade (or re-grade) is what the notebook holds now
                gradebook.db.execute(
                    basis.update().where(basis.c.grade_id == grade.id).values(**now)
                )
        gradebook.db.commit()


def _submitted_notebook(gradebook, submission: Submission):
    """The student's submitted notebook, created (with every grade and comment) when new."""
    from nbgrader import api

    try:
        found = gradebook.find_submission(submission.assignment, submission.student)
    except api.MissingEntry:
        assignment = gradebook.find_assignment(submission.assignment)
        found = api.SubmittedAssignment(
            assignment=assignment, student=gradebook.find_student(submission.student)
        )
        gradebook.db.add(found)
        for notebook in assignment.notebooks:
            submitted = api.SubmittedNotebook(notebook=notebook, assignment=found)
            gradebook.db.add(submitted)
            for cell in notebook.grade_cells + notebook.task_cells:
                gradebook.db.add(api.Grade(cell_id=cell.id, notebook=submitted))
            for cell in notebook.solution_cells + notebook.task_cells:
                gradebook.db.add(api.Comment(cell_id=cell.id, notebook=submitted))
        gradebook.db.flush()
        gradebook.db.expire(found)
    for submitted in found.notebooks:
        if submitted.name == submission.notebook:
            return submitted
    raise ValueError(f"no notebook {submission.notebook} in {submission.assignment}")


def notebook_grades(db_url: str, student: str, assignment: str, notebook: str) -> list[CellState]:
    """Every graded cell of one submitted notebook, manual grades included ([] if none)."""
    from nbgrader.api import MissingEntry

    with open_gradebook(db_url) as gradebook:
        try:
            found = gradebook.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return []
        return [
            CellState(
                name=g.name,
                points=float(g.max_score),
                auto=g.auto_score,
                manual=g.manual_score,
                extra=g.extra_credit,
                awaiting=bool(g.needs_manual_grade),
            )
            for g in found.grades
        ]

"""nbgrader's gradebook on SQLite and on a real PostgreSQL server (issue 22, part 4).

Every test runs twice through ``gradebook_db``. A plain ``postgresql://`` URL works because
SQLAlchemy 2.1 maps it to psycopg 3 (``psycopg[binary]`` in the ``grading`` extra).

Quirks of ``nbgrader.api.Gradebook.__init__`` (nbgrader 0.9.6) the grading code must respect:

- On a database without tables it runs ``create_all`` and then stamps ``alembic_version``
  with the head revision, which it learns by running the ``alembic`` *executable* found on
  PATH. Without it (a venv's ``bin/`` not on PATH) the constructor raises
  FileNotFoundError after creating the tables, and every later open sees tables and never
  stamps: the gradebook is left without a revision, so ``nbgrader db upgrade`` cannot
  migrate it. Put ``Path(sys.executable).parent`` on PATH first (as ``run_nbgrader`` does).
- The stamp table has no primary key (alembic's own has one); alembic still reads it.
- Two first opens of one fresh PostgreSQL database at once collide: both see no tables
  and the second fails with IntegrityError (``pg_type_typname_nsp_index``) or on
  ``CREATE TABLE alembic_version``. Create the gradebook once, before parallel writers;
  opening an existing one concurrently is fine.
- PostgreSQL 15 lets only the database owner create tables in ``public``: the role in the
  URL must own the database (``postgres_url``'s does).
"""

import os
import sys
import threading
import warnings
from pathlib import Path

import nbgrader.api
import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from nbgrader.api import Base, Gradebook, InvalidEntry, MissingEntry
from nbgrader.dbutil import ALEMBIC_DIR

from convbook.grading.course import make_course

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
COURSE = "convbook"
ASSIGNMENT = NOTEBOOK = "7_5_pooling"
HEAD = ScriptDirectory(ALEMBIC_DIR).get_current_head()


@pytest.fixture(autouse=True)
def _alembic_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # nbgrader stamps a fresh gradebook with the `alembic` executable found on PATH.
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))


@pytest.fixture(autouse=True)
def _quiet_nbgrader():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy 2 session warnings
        yield


@pytest.fixture
def known_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the ``alembic heads`` subprocess (2 s) each fresh gradebook runs: the first test
    checks that the real one stamps this same head."""
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: HEAD)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The generated assignment's cells as nbgrader stored them: ``{kind: [row, ...]}``."""
    course = make_course(
        tmp_path_factory.mktemp("course") / "course", [ASSIGNMENT], solutions=SOLUTIONS
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gradebook:
            notebook = gradebook.find_notebook(NOTEBOOK, ASSIGNMENT)
            return {
                "grade": [(c.name, c.max_score, c.cell_type) for c in notebook.grade_cells],
                "solution": [c.name for c in notebook.solution_cells],
                "task": [(c.name, c.max_score, c.cell_type) for c in notebook.task_cells],
                "source": [
                    (c.name, c.cell_type, c.locked, c.source, c.checksum)
                    for c in notebook.source_cells
                ],
            }


def copy_assignment(gradebook: Gradebook, template: dict) -> None:
    """Create the template's assignment, notebook and cells with nbgrader's own calls."""
    gradebook.update_or_create_assignment(ASSIGNMENT)
    gradebook.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
    where = {"notebook": NOTEBOOK, "assignment": ASSIGNMENT}
    for name, max_score, cell_type in template["grade"]:
        gradebook.update_or_create_grade_cell(
            name, max_score=max_score, cell_type=cell_type, **where
        )
    for name in template["solution"]:
        gradebook.update_or_create_solution_cell(name, **where)
    for name, max_score, cell_type in template["task"]:
        gradebook.update_or_create_task_cell(
            name, max_score=max_score, cell_type=cell_type, **where
        )
    for name, cell_type, locked, source, checksum in template["source"]:
        gradebook.update_or_create_source_cell(
            name, cell_type=cell_type, locked=locked, source=source, checksum=checksum, **where
        )


def test_fresh_gradebook_gets_nbgraders_schema_and_the_alembic_head(gradebook_db: str) -> None:
    Gradebook(gradebook_db, COURSE).close()
    Gradebook(gradebook_db, COURSE).close()  # an existing gradebook is not stamped again
    engine = sa.create_engine(gradebook_db)
    try:
        if gradebook_db.startswith("postgresql://"):
            assert engine.dialect.driver == "psycopg"  # the plain URL found a driver
        assert set(sa.inspect(engine).get_table_names()) == {
            *Base.metadata.tables,
            "alembic_version",
        }
        with engine.connect() as connection:
            stamps = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
            courses = connection.execute(sa.text("SELECT id FROM course")).all()
            # What `nbgrader db upgrade` (alembic) reads before migrating: nothing to do.
            current = MigrationContext.configure(connection).get_current_revision()
        assert stamps == [(HEAD,)]
        assert current == HEAD
        assert courses == [(COURSE,)]
    finally:
        engine.dispose()


@pytest.mark.usefixtures("known_head")
def test_scores_written_on_one_connection_are_read_back_on_another(
    gradebook_db: str, template: dict
) -> None:
    kinds = {name: cell_type for name, _, cell_type in template["grade"]}
    autograded, overridden = [name for name, kind in kinds.items() if kind == "code"][:2]
    written = next(name for name, kind in kinds.items() if kind == "markdown")
    with Gradebook(gradebook_db, COURSE) as gradebook:
        copy_assignment(gradebook, template)
        gradebook.update_or_create_student("jane_doe", first_name="Jane", last_name="Doe")
        gradebook.update_or_create_submission(ASSIGNMENT, "jane_doe")

        def grade(name: str):
            return gradebook.find_grade(name, NOTEBOOK, ASSIGNMENT, "jane_doe")

        grade(autograded).auto_score = 1.5
        grade(written).manual_score = 0.5  # a written answer, graded by hand
        grade(overridden).auto_score = 0.0
        grade(overridden).manual_score = 2.0  # a person overrides the autograder
        gradebook.db.commit()

    max_score = sum(max_score for _, max_score, _ in template["grade"])
    with Gradebook(gradebook_db, COURSE) as gradebook:  # a new engine: nothing cached
        notebook = gradebook.find_notebook(NOTEBOOK, ASSIGNMENT)
        assert len(notebook.grade_cells) == len(template["grade"])
        assert len(notebook.solution_cells) == len(template["solution"])
        assert {c.name: c.checksum for c in notebook.source_cells} == {
            name: checksum for name, _, _, _, checksum in template["source"]
        }
        scores = {
            g.name: g.score
            for g in gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "jane_doe").grades
        }
        assert scores[autograded] == 1.5
        assert scores[written] == 0.5
        assert scores[overridden] == 2.0
        assert sum(scores.values()) == 4.0
        # The aggregates are SQL (column properties and nbgrader's report queries), which
        # PostgreSQL checks more strictly than SQLite.
        submission = gradebook.find_submission(ASSIGNMENT, "jane_doe")
        assert (submission.score, submission.max_score) == (4.0, max_score)
        [row] = gradebook.submission_dicts(ASSIGNMENT)
        assert (row["student"], row["score"], row["max_score"]) == ("jane_doe", 4.0, max_score)
        [student] = gradebook.student_dicts()
        assert (student["id"], student["score"], student["max_score"]) == (
            "jane_doe",
            4.0,
            max_score,
        )
        assert gradebook.average_assignment_score(ASSIGNMENT) == 4.0


@pytest.mark.usefixtures("known_head")
def test_racing_upserts_of_one_student_leave_one_row(gradebook_db: str) -> None:
    Gradebook(gradebook_db, COURSE).close()  # created once, before the writers (module doc)
    first, second = Gradebook(gradebook_db, COURSE), Gradebook(gradebook_db, COURSE)
    try:
        # update_or_create_student's two steps, interleaved with the other connection's.
        with pytest.raises(MissingEntry):
            first.find_student("jane_doe")
        second.update_or_create_student("jane_doe", first_name="Jane")
        with pytest.raises(InvalidEntry):
            first.add_student("jane_doe", first_name="J.")
        first.update_or_create_student("jane_doe", last_name="Doe")  # the retry updates

        # The same from two threads at once, a few times: retried once, each call lands.
        failures: list[BaseException] = []

        def upsert(gradebook: Gradebook, student: str, name: str, barrier: threading.Barrier):
            try:
                barrier.wait(timeout=30)
                try:
                    gradebook.update_or_create_student(student, first_name=name)
                except InvalidEntry:
                    gradebook.update_or_create_student(student, first_name=name)
            except BaseException as error:
                failures.append(error)
            finally:
                gradebook.db.remove()  # the thread's session and its connection

        for round_ in range(3):
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(
                    target=upsert, args=(gradebook, f"student_{round_}", name, barrier)
                )
                for gradebook, name in [(first, "A"), (second, "B")]
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not any(thread.is_alive() for thread in threads)
        assert failures == []
    finally:
        first.close()
        second.close()

    with Gradebook(gradebook_db, COURSE) as gradebook:
        students = {s.id: (s.first_name, s.last_name) for s in gradebook.students}
    assert students.pop("jane_doe") == ("Jane", "Doe")
    assert sorted(students) == [f"student_{n}" for n in range(3)]
    assert {first_name for first_name, _ in students.values()} <= {"A", "B"}


def test_fresh_gradebook_is_left_unstamped_without_alembic_on_path(
    gradebook_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Documents nbgrader's quirk (module doc); when it is fixed, drop the PATH workarounds.
    path = os.environ["PATH"].split(os.pathsep)
    with monkeypatch.context() as patch, pytest.raises(FileNotFoundError):
        patch.setenv("PATH", os.pathsep.join(p for p in path if not (Path(p) / "alembic").exists()))
        Gradebook(gradebook_db, COURSE)
    Gradebook(gradebook_db, COURSE).close()
    engine = sa.create_engine(gradebook_db)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables)  # every table, but no alembic_version

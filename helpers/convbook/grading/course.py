"""A temporary nbgrader course built from ``solutions/``, and autograding in it (issue 5).

The exercise tests and the instructor grading command both need the same three steps:
copy the source notebooks and ``nbgrader_config.py`` into a fresh course folder and
generate the assignments (which fills nbgrader's gradebook with the locked test cells),
drop student notebooks into ``submitted/``, run ``nbgrader autograde``. The course keeps
the repository's folder names (``solutions/`` is the source, ``exercises/`` the release).
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = [
    "CONFIG_FILE",
    "GradeScore",
    "autograde",
    "make_course",
    "run_nbgrader",
    "scores",
    "submit",
]

# The course's nbgrader settings, shipped inside the package (a wheel has no checkout).
CONFIG_FILE = Path(__file__).with_name("nbgrader_config.py")


@dataclass(frozen=True)
class GradeScore:
    """One graded cell of one submitted notebook.

    Attributes:
        score: points given (None while a manually graded answer waits for a grader).
        max_score: points available.
        autograded: True for a test cell nbgrader scores itself.
    """

    score: float | None
    max_score: float
    autograded: bool


def run_nbgrader(
    course: Path, *args: str, timeout: float | None = None, env: dict[str, str] | None = None
) -> None:
    """Run one ``nbgrader`` command inside ``course`` with this Python's nbgrader.

    Args:
        course: the course root (nbgrader reads its nbgrader_config.py).
        args: the command and its arguments, e.g. ``"autograde", "7_2_conv_layer"``.
        timeout: seconds before the whole command is stopped.
        env: extra environment variables for nbgrader and the kernels it starts.

    Raises:
        RuntimeError: if nbgrader exits with an error; the message ends with its log.
    """
    full_env = {**os.environ, **(env or {})}
    # nbgrader runs the ``alembic`` executable, which lives next to this Python.
    bin_dir = str(Path(sys.executable).parent)
    full_env["PATH"] = os.pathsep.join([bin_dir, full_env.get("PATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        log = (result.stdout + result.stderr)[-4000:]
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {course}:\n{log}")


def make_course(
    root: str | Path,
    assignments: Iterable[str],
    *,
    solutions: str | Path,
    config: str | Path = CONFIG_FILE,
) -> Path:
    """Create an nbgrader course in ``root`` with the given assignments generated.

    Args:
        root: an empty or missing folder; it becomes the course root.
        assignments: slugs such as ``"7_2_conv_layer"``; each is a folder of ``solutions``.
        solutions: folder holding one source folder per assignment.
        config: the nbgrader_config.py to copy into the course.

    Returns:
        The course root.

    Raises:
        ValueError: if ``root`` is a non-empty folder or an assignment has no source folder.
        RuntimeError: if ``nbgrader generate_assignment`` fails.
    """
    root, solutions = Path(root), Path(solutions)
    assignments = list(assignments)
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"course root {root} is not empty")
    missing = [name for name in assignments if not (solutions / name).is_dir()]
    if missing:
        raise ValueError(f"no source folder in {solutions} for {missing}")
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, root / "nbgrader_config.py")
    for name in assignments:
        shutil.copytree(
            solutions / name,
            root / "solutions" / name,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    # One nbgrader run for all of them: "*" globs over the copied source folders.
    run_nbgrader(root, "generate_assignment", "*", "--force")
    return root


def submit(
    course: str | Path,
    student: str,
    assignment: str,
    notebook: str | Path | nbformat.NotebookNode,
    name: str | None = None,
) -> Path:
    """Place one notebook in ``submitted/<student>/<assignment>/``.

    Args:
        course: the course root.
        student: the student id (a folder name).
        assignment: the assignment slug.
        notebook: a notebook file, or a notebook object to write.
        name: the file name; by default the file's own name, or ``<assignment>.ipynb``.

    Returns:
        The path of the submitted notebook.
    """
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, nbformat.NotebookNode):
        target = folder / (name or f"{assignment}.ipynb")
        nbformat.write(notebook, target)
    else:
        target = folder / (name or Path(notebook).name)
        shutil.copy(notebook, target)
    return target


def autograde(
    course: str | Path,
    assignment: str,
    student: str | None = None,
    *,
    options: Iterable[str] = (),
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Autograde the submissions of one assignment (all students, or one).

    ``assignment`` may be ``"*"``: one nbgrader run then grades every submission in the
    course, one notebook after another. nbgrader restores the test cells from the
    gradebook, executes each notebook in a fresh kernel with the course's time limits and
    records the scores in ``gradebook.db``.

    Args:
        course: the course root.
        assignment: the assignment slug, or ``"*"``.
        student: one student id; all students by default.
        options: more nbgrader options, e.g. ``"--Execute.timeout=10"``.
        timeout: seconds before the whole nbgrader run is stopped.
        env: extra environment variables for nbgrader and its kernels.

    Raises:
        RuntimeError: if nbgrader fails.
    """
    args = ["autograde", assignment, "--force"]
    if student is not None:
        args.append(f"--student={student}")
    args.extend(options)
    run_nbgrader(Path(course), *args, timeout=timeout, env=env)


def scores(course: str | Path, assignment: str, student: str) -> dict[str, dict[str, GradeScore]]:
    """The graded cells of a student's autograded submission.

    Returns:
        ``{notebook name: {grade_id: GradeScore}}``.
    """
    from nbgrader.api import Gradebook  # slow import; only the grading code needs it

    result: dict[str, dict[str, GradeScore]] = {}
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for notebook in submission.notebooks:
            result[notebook.name] = {
                grade.name: GradeScore(
                    score=grade.score,
                    max_score=grade.max_score,
                    autograded=grade.cell.cell_type == "code" and not grade.needs_manual_grade,
                )
                for grade in notebook.grades
            }
    return result

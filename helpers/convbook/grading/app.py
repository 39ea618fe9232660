"""``convbook grade``: grade a folder of submissions in parallel, safely, into OUT.

Flow: collect the submissions; build (or reuse) a temporary nbgrader course from the
solutions; reuse cached results for submissions that did not change; hand the others to
an executor (``executors``: ``--jobs`` long-lived worker processes, each in its own
namespaces, see ``sandbox``; or, with ``--scheduler``, the workers of a Dask cluster);
as each result arrives, record it in ``OUT/gradebook.db`` and write its feedback page
(``feedback``, in the chosen mode) from this process; then ``grades.csv`` and the
summary table.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

import nbformat

from ..extras import MissingExtraError, require
from . import policy
from .collect import check_readable, collect, find_assignments
from .course import make_course
from .durable import failpoint, write_atomic
from .executors import CourseFiles, Job, LocalSlots, SandboxRefused, slot_limit
from .feedback import DEFAULT_MODE, MODES, Pages
from .gradebook import gradebook_url, notebook_grades, record_grades, safe_url, sync_course
from .lms import read_roster, remember
from .records import CellGrade, Outcome, Row, Settings, Submission
from .report import outcome_of, summary_table, with_gradebook, write_csv
from .sandbox import missing

__all__ = ["grade_folder", "main"]

GRADER_VERSION = "3"
NO_SANDBOX_NOTE = "graded WITHOUT the sandbox (--no-sandbox)"


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and ".ipynb_checkpoints" not in file.parts:
                sha.update(file.name.encode())
                sha.update(file.read_bytes())
    return sha.hexdigest()


def find_solutions(given: Path | None) -> Path:
    """The solutions folder: the option, else ``./solutions``."""
    for candidate in (given, Path.cwd() / "solutions"):
        if candidate is not None and Path(candidate).is_dir():
            return Path(candidate).resolve()
    raise ValueError("no solutions folder found; pass --solutions DIR")


class _Course(CourseFiles):
    """The cached template course in ``OUT/.convbook/course``."""

    def __init__(self, state: Path, solutions: Path, assignments: list[str]) -> None:
        self.root = state / "course"
        stamp_file = state / "course.json"
        stamp = {a: _digest(solutions / a) for a in sorted(assignments)}
        try:
            old = json.loads(stamp_file.read_text())
        except (OSError, ValueError):
            old = None
        self.rebuilt = old != stamp
        if self.rebuilt:
            stamp_file.unlink(missing_ok=True)  # a run killed while building rebuilds it
            shutil.rmtree(self.root, ignore_errors=True)
            make_course(self.root, sorted(assignments), solutions=solutions)
            write_atomic(stamp_file, json.dumps(stamp, indent=1))
        self.digests = stamp
        self._solutions: dict[tuple[str, str], dict[str, str]] = {}
        super().__init__(self.root)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db}"

    def max_scores(self) -> dict[tuple[str, str], float]:
        from .gradebook import open_gradebook

        with open_gradebook(self.db_url) as gradebook:
            return {
                (a.name, nb.name): float(nb.max_score)
                for a in gradebook.assignments
                for nb in a.notebooks
            }

    def solutions(self, assignment: str, notebook: str) -> dict[str, str]:
        """Each graded cell of the solution as a person grades against it: its source
        (model answer, rubric, test) and points, by grade id."""
        key = (assignment, notebook)
        if key not in self._solutions:
            nb = nbformat.read(self.source(assignment, notebook), as_version=4)
            self._solutions[key] = {
                meta["grade_id"]: f"{meta.get('points', 0)}\n{cell.source}"
                for cell in nb.cells
                if (meta := cell.get("metadata", {}).get("nbgrader", {})).get("grade")
            }
        return self._solutions[key]


def grade_folder(
    submissions_dir: Path,
    out: Path,
    solutions: Path | None = None,
    settings: Settings | None = None,
    db: str | None = None,
    remove_cells: bool = False,
    roster: Path | None = None,
    cluster: dict | None = None,
) -> list[Row]:
    """Grade every submission in ``submissions_dir`` into ``out``.

    Args:
        submissions_dir: a folder of nbgrader-layout, flat or zipped submissions, or a
            ``.zip`` of such a folder (extracted by ``collect``).
        out: output folder (created); reruns reuse its cache.
        solutions: folder of nbgrader source assignments; see ``find_solutions``.
        settings: limits and parallelism.
        db: the gradebook's database URL (remembered in OUT); ``OUT/gradebook.db`` by default.
        remove_cells: delete the grades of cells the solutions no longer have.
        roster: CSV mapping the LMS ids of a Canvas or Moodle download to student ids
            (``lms.read_roster``).
        cluster: grade on a Dask cluster instead of local slots: ``{"address": ...}`` or
            ``{"scheduler_file": ...}`` (``cluster.DaskExecutor``).

    Returns:
        The rows written to ``out/grades.csv``.

    Raises:
        ValueError: if a folder is missing, no submission matches an assignment, the
            gradebook cannot be opened, it holds grades of cells that are gone
            (``GradebookChange``), or the Dask scheduler cannot be reached.
        SandboxRefused: a Dask worker cannot jail student code (nothing more is graded).
    """
    settings = settings or Settings()
    submissions_dir, out = Path(submissions_dir).resolve(), Path(out).resolve()
    solutions = find_solutions(solutions)
    available = find_assignments(solutions)
    out.mkdir(parents=True, exist_ok=True)
    state = out / ".convbook"
    state.mkdir(mode=0o700, exist_ok=True)
    os.chmod(state, 0o700)
    staging = state / "unzipped"
    shutil.rmtree(staging, ignore_errors=True)
    found, warnings = collect(
        submissions_dir, available, staging, read_roster(roster) if roster else None
    )
    remember(found, state)  # the LMS ids seen, for convbook export
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    assignments = sorted({s.assignment for s in found})
    if not assignments:
        raise ValueError(f"no submissions for any of {sorted(available)} in {submissions_dir}")

    course = _Course(state, solutions, assignments)
    db_url = gradebook_url(out, db)
    for note in sync_course(db_url, course.db_url, remove_cells, state / "backups"):
        print(f"gradebook: {note}", file=sys.stderr)
    max_scores = course.max_scores()
    cache_dir = state / "cache"
    secret = _course_secret(state)
    salts: dict[Submission, str] = {}  # each submission's tests draw their inputs with it
    outcomes: dict[Submission, Outcome] = {}
    todo: list[tuple[Submission, str]] = []
    for submission in found:
        max_score = max_scores.get((submission.assignment, submission.notebook), 0.0)
        base = dict(student_id=submission.student, assignment=submission.assignment,
                    notebook=submission.notebook, score=0, max_score=max_score)  # fmt: skip
        if submission.path is None:
            outcomes[submission] = Outcome(
                Row(**base, status="missing", message=submission.message), None
            )
            continue
        problem = check_readable(submission.path)
        if problem:
            outcomes[submission] = Outcome(Row(**base, status="unreadable", message=problem), None)
            continue
        key = hashlib.sha256(
            json.dumps(
                [
                    GRADER_VERSION,
                    course.digests[submission.assignment],
                    asdict(settings) | {"jobs": 0, "progress": 0, "feedback": ""},
                ]
            ).encode()
            + submission.path.read_bytes()
        ).hexdigest()
        salts[submission] = hmac.new(secret, key.encode(), "sha256").hexdigest()
        cached = _load_cache(cache_dir, submission, key, out)
        if cached is not None:
            outcomes[submission] = cached
        else:
            todo.append((submission, key))

    regraded = sorted(f"{s.student}/{s.assignment}/{s.notebook}" for s, _ in todo)
    write_atomic(state / "last_run.json", json.dumps(regraded))
    pages = Pages(out, settings.feedback, db_url)
    published: dict[Submission, Row] = {}

    def publish(submission: Submission, outcome: Outcome) -> None:
        """Record one notebook's grades and write its page (as soon as it is graded)."""
        ran = _autograded(out, submission) if outcome.grades is not None else None
        record_grades(db_url, submission, outcome.grades, _answers(ran),
                      course.solutions(submission.assignment, submission.notebook))  # fmt: skip
        key = (submission.student, submission.assignment, submission.notebook)
        cells = notebook_grades(db_url, *key)
        row = with_gradebook(outcome.row, cells)
        if submission.note:  # what collect chose for this notebook, whatever its status
            row = replace(row, message="; ".join(filter(None, [row.message, submission.note])))
        if not settings.sandbox:
            row = replace(row, message="; ".join(filter(None, [NO_SANDBOX_NOTE, row.message])))
        problem = pages.write(row, ran, cells)
        if problem:
            print(f"warning: {row.student_id}/{row.assignment}: {problem}", file=sys.stderr)
            row = replace(row, message="; ".join(filter(None, [row.message, problem])))
        published[submission] = row

    if todo:
        _grade_in_parallel(
            todo, course, settings, max_scores, out, cache_dir, outcomes, publish, salts, cluster
        )
    for submission in found:
        if submission not in published:
            publish(submission, outcomes[submission])
    pages.close()
    rows = [published[submission] for submission in found]
    failpoint("csv")
    write_csv(rows, out / "grades.csv")
    shutil.rmtree(staging, ignore_errors=True)
    return rows


def _course_secret(state: Path) -> bytes:
    """A random secret of this OUT, made once, readable by the grader only. Mixed with a
    submission's content it seeds the tests' inputs: no kernel ever sees it, and a notebook
    that learns its hidden inputs (printing them in a later cell) and comes back with a
    table of answers for them has changed, and so have the inputs."""
    path = state / "secret"
    if not path.exists() or not path.read_text().strip():
        write_atomic(path, secrets.token_hex(32), mode=0o600)
    return path.read_text().strip().encode()


def _answers(autograded: Path | None) -> dict[str, str]:
    """The student's source of each graded cell of an executed notebook, by grade id."""
    if autograded is None or not autograded.is_file():
        return {}
    nb = nbformat.read(autograded, as_version=4)
    return {
        meta["grade_id"]: cell.source
        for cell in nb.cells
        if (meta := cell.get("metadata", {}).get("nbgrader", {})).get("grade")
        and meta.get("grade_id")
    }


def _cache_file(cache_dir: Path, submission: Submission) -> Path:
    return cache_dir / submission.student / submission.assignment / f"{submission.notebook}.json"


def _autograded(out: Path, submission: Submission) -> Path:
    """Where the executed notebook of a submission is kept (the feedback is made from it)."""
    return (
        out
        / "autograded"
        / submission.student
        / submission.assignment
        / (f"{submission.notebook}.ipynb")
    )


def _load_cache(cache_dir: Path, submission: Submission, key: str, out: Path) -> Outcome | None:
    path = _cache_file(cache_dir, submission)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing, or written by an older version
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        grades = None if data["grades"] is None else [CellGrade(**g) for g in data["grades"]]
        row = Row(**data["row"])
    except (KeyError, TypeError):
        return None
    if grades is not None and not _autograded(out, submission).exists():
        return None
    return Outcome(row, grades)


def _save_cache(cache_dir: Path, submission: Submission, key: str, outcome: Outcome) -> None:
    path = _cache_file(cache_dir, submission)
    path.parent.mkdir(parents=True, exist_ok=True)
    grades = None if outcome.grades is None else [asdict(g) for g in outcome.grades]
    data = {
        "key": key,
        "row": asdict(outcome.row),
        "grades": grades,
    }
    write_atomic(path, json.dumps(data, indent=1))


def _grade_in_parallel(
    todo, course, settings, max_scores, out, cache_dir, outcomes, publish, salts, cluster=None
) -> None:
    """Grade ``todo`` with an executor: ``settings.jobs`` local slots, or the Dask cluster
    ``cluster`` names (``{"address": ..., "scheduler_file": ...}``). ``publish`` gets each
    outcome as it comes, in this thread: the cache, the gradebook, the pages and every file
    of OUT have this one writer, whichever executor graded."""
    limit = slot_limit(settings.notebook_timeout)
    hung = f"stopped after {limit:g} s (the notebook never finished)"
    jobs = [Job(submission, key, salts[submission]) for submission, key in todo]
    for job in jobs:
        _autograded(out, job.submission).unlink(missing_ok=True)  # never a stale one
    if cluster:
        from .cluster import DaskExecutor

        executor = DaskExecutor(course, settings, **cluster)
    else:
        executor = LocalSlots(course, settings)
    progress = None
    if settings.progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(todo), desc="grading", unit="nb", file=sys.stderr)
    try:
        for graded in executor.run(jobs):
            submission, key = graded.job.submission, graded.job.key
            max_score = max_scores.get((submission.assignment, submission.notebook), 0.0)
            outcome = outcome_of(submission, graded.result, max_score, hung)
            if graded.notebook is not None:
                write_atomic(_autograded(out, submission), graded.notebook)
            outcomes[submission] = outcome
            failpoint("graded")
            if outcome.row.status != "error":
                _save_cache(cache_dir, submission, key, outcome)
            failpoint("cached")
            publish(submission, outcome)
            if progress is not None:
                progress.update(1)
    finally:
        if progress is not None:
            progress.close()
        executor.close()


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``grade`` command's options (shared by ``convbook grade`` and ``-m convbook.grade``)."""
    parser = parser or argparse.ArgumentParser(
        prog="convbook grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "submissions",
        type=Path,
        help="folder of submissions (nbgrader, flat or zip), or a .zip of that folder",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--solutions", type=Path, default=None, help="nbgrader source folder")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers")
    parser.add_argument(
        "--cell-timeout", type=int, default=policy.CELL_TIMEOUT_S, help="seconds per cell"
    )
    parser.add_argument(
        "--notebook-timeout",
        type=float,
        default=policy.NOTEBOOK_TIMEOUT_S,
        help="seconds per notebook",
    )
    parser.add_argument(
        "--memory-mb", type=int, default=policy.MEMORY_MB, help="memory of one notebook's kernel"
    )
    parser.add_argument(
        "--feedback",
        choices=sorted(MODES),
        default=DEFAULT_MODE,
        help="what feedback pages show: "
        + "; ".join(f"{mode}: {shows}" for mode, shows in MODES.items())
        + f" (default {DEFAULT_MODE}); another mode rewrites the pages without regrading",
    )
    parser.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="the gradebook's database, e.g. postgresql://user:password@host/course "
        "(remembered in OUT; default: the SQLite file OUT/gradebook.db)",
    )
    parser.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="CSV mapping the Canvas user ids or Moodle participant ids of an LMS download "
        "to student ids (columns lms_id,student_id[,name,email,sis_id,sis_login_id,section])",
    )
    parser.add_argument(
        "--remove-cells",
        action="store_true",
        help="when the solutions lost graded cells, delete their grades (after a backup)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786, instead of "
        "--jobs local workers (needs convbook[cluster]; see 'Grading on a cluster')",
    )
    where.add_argument(
        "--scheduler-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the same, with the scheduler named in the file `dask scheduler --scheduler-file` "
        "wrote",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade without isolation (limits only); recorded in every row",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``convbook grade``; returns the exit status (0 when the batch completed)."""
    args = build_parser().parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Grade with parsed options; print the summary table."""
    settings = Settings(
        jobs=max(1, args.jobs),
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.notebook_timeout,
        memory_mb=args.memory_mb,
        progress=not args.no_progress,
        sandbox=not args.no_sandbox,
        feedback=args.feedback,
    )
    cluster = None
    if args.scheduler or args.scheduler_file:
        try:
            require("distributed", "grading on a Dask cluster (--scheduler)")
        except MissingExtraError as error:
            print(f"convbook grade: {error}", file=sys.stderr)
            return 2
        cluster = {"address": args.scheduler, "scheduler_file": args.scheduler_file}
    if settings.sandbox and cluster is None:  # on a cluster, each worker checks its own
        problems = missing()
        if problems:
            print(
                "convbook grade: cannot isolate student code on this machine; missing:\n"
                + "".join(f"  - {problem}\n" for problem in problems)
                + "Install what is missing, or pass --no-sandbox to grade without isolation"
                " (only for code you trust: it can read the solutions and use the network).",
                file=sys.stderr,
            )
            return 3
    try:
        rows = grade_folder(
            args.submissions,
            args.out,
            args.solutions,
            settings,
            args.db,
            args.remove_cells,
            args.roster,
            cluster,
        )
    except ValueError as error:
        print(f"convbook grade: {error}", file=sys.stderr)
        return 2
    except SandboxRefused as error:  # fail closed, as when this machine cannot jail
        print(
            f"convbook grade: stopped, nothing more graded: {error}.\nInstall what is missing "
            "on that worker's host (or stop that worker) and run the command again: it "
            "grades only what is not yet graded.",
            file=sys.stderr,
        )
        return 3
    print(summary_table(rows))
    print("\nsandbox: " + ("in force" if settings.sandbox else NO_SANDBOX_NOTE))
    print(f"feedback: {settings.feedback} ({MODES[settings.feedback]})")
    book = safe_url(gradebook_url(args.out))
    print(f"\nwrote {args.out / 'grades.csv'}, {args.out / 'feedback'}/ and the gradebook {book}")
    return 0

"""``convbook export OUT``: the scores of OUT's gradebook in a file Canvas or Moodle imports.

Scores are read from the gradebook (nbgrader's ``score``: a person's score where one was
given, else the autograder's, plus extra credit); points that still await a person in
formgrader count 0 and are listed on stderr. Who a student is in the LMS comes from the
roster (``--roster``), else from the ids ``convbook grade`` saw in the download
(``lms.remember``), else from the gradebook's student record.

* ``canvas``: Canvas's gradebook CSV (``GradebookImporter`` in canvas-lms): the columns
  ``Student``, ``ID`` (Canvas user id, what Canvas matches first), ``SIS User ID``,
  ``SIS Login ID``, ``Section``, then one column per assignment, then a ``Points Possible``
  row. Canvas finds an assignment by the id at the end of its column name
  (``7.5 Pooling (12345)``, as Canvas's own export names it: ``--column``), else by its
  exact title, else offers to create it (with the points of the ``Points Possible`` row).
* ``moodle``: one offline grading worksheet per assignment (``assignfeedback_offline``):
  ``Identifier`` (``Participant <id>``, Moodle's per-assignment participant id, taken only
  from that assignment's download), ``Full name``, ``Email address``, ``Status``,
  ``Grade``, ``Maximum Grade``, ``Grade can be changed``, ``Last modified (submission)``,
  ``Last modified (grade)`` (now, so Moodle does not take the sheet for a stale one),
  ``Feedback comments`` (the score and what awaits a grader).
* ``csv``: one row per student and assignment with score, maximum and the points that
  await a grader.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .collect import listed
from .gradebook import gradebook_url, open_gradebook
from .lms import MOODLE_PARTICIPANT, Roster, read_roster, remembered

__all__ = ["FORMATS", "Score", "build_parser", "export", "main", "read_scores", "run"]

FORMATS = ("canvas", "moodle", "csv")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"  # as Canvas writes it (it reads "Points Possible")
MOODLE_COLUMNS = [
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
]
CSV_COLUMNS = ["student_id", "name", "email", "lms_id", "sis_id", "section", "assignment",
               "score", "max_score", "awaiting_manual"]  # fmt: skip


@dataclass(frozen=True)
class Score:
    """One student's score in one assignment, as the gradebook holds it now.

    Attributes:
        student: student id.
        assignment: assignment id.
        score: every point given so far (a person's where given, else the autograder's).
        max_score: the assignment's points.
        awaiting: points a person has yet to grade (or to look at again) in formgrader.
        submitted: False when every notebook of it was missing from the download.
    """

    student: str
    assignment: str
    score: float
    max_score: float
    awaiting: float
    submitted: bool = True


@dataclass
class _Person:
    """A student as the LMS must see them; every field may be empty."""

    student: str
    name: str = ""
    email: str = ""
    sis_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    canvas_id: str = ""
    ids: dict[str, str] = field(default_factory=dict)  # assignment -> LMS id in its download


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def _missing_in_last_run(out: Path) -> set[tuple[str, str]]:
    """(student, assignment) whose every notebook was ``missing`` in OUT's grades.csv."""
    path = out / "grades.csv"
    if not path.is_file():
        return set()
    statuses: dict[tuple[str, str], set[str]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row.get("student_id", ""), row.get("assignment", ""))
            statuses.setdefault(key, set()).add(row.get("status", ""))
    return {key for key, seen in statuses.items() if seen == {"missing"}}


def read_scores(
    out: Path, assignment: str | None = None
) -> tuple[list[Score], dict[str, float], dict[str, _Person]]:
    """Every student's score in every assignment of OUT's gradebook.

    Args:
        out: the output folder of ``convbook grade``.
        assignment: only this assignment.

    Returns:
        The scores sorted by student and assignment, each assignment's points, and the
        students as the gradebook records them (name, email, LMS id).

    Raises:
        ValueError: if the gradebook cannot be opened or lacks ``assignment``.
    """
    out = Path(out).resolve()
    url = gradebook_url(out)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        raise ValueError(f"no gradebook in {out}: run convbook grade first")  # never make one
    missing = _missing_in_last_run(out)
    scores, maxima, people = [], {}, {}
    with open_gradebook(url) as gradebook:
        names = sorted(a.name for a in gradebook.assignments)
        if assignment is not None and assignment not in names:
            raise ValueError(
                f"no assignment {assignment!r} in the gradebook of {out} "
                f"(it has {', '.join(names) or 'none'})"
            )
        for found in sorted(gradebook.assignments, key=lambda a: a.name):
            if assignment is not None and found.name != assignment:
                continue
            maxima[found.name] = float(found.max_score or 0)
            for submitted in found.submissions:
                student = submitted.student
                grades = [g for nb in submitted.notebooks for g in nb.grades]
                scores.append(
                    Score(
                        student=student.id,
                        assignment=found.name,
                        score=round(float(submitted.score or 0), 6),
                        max_score=maxima[found.name],
                        awaiting=sum(float(g.max_score) for g in grades if g.needs_manual_grade),
                        submitted=(student.id, found.name) not in missing,
                    )
                )
                name = " ".join(filter(None, [student.first_name, student.last_name]))
                people[student.id] = _Person(
                    student.id, name, student.email or "", canvas_id=student.lms_user_id or ""
                )
    scores.sort(key=lambda s: (s.student, s.assignment))
    return scores, maxima, people


def _who(out: Path, people: dict[str, _Person], roster: Roster | None) -> None:
    """Fill in each student from what ``convbook grade`` saw, then from the roster."""
    seen = remembered(out)
    for student, person in people.items():
        entry = seen.get(student, {})
        person.ids = dict(entry.get("ids", {}))
        person.name = entry.get("name") or person.name
        distinct = set(person.ids.values())
        if len(distinct) == 1:  # a Canvas user id is the same in every assignment
            person.canvas_id = distinct.pop()
        rows = roster.for_student(student) if roster else []
        if rows:
            first = rows[0]
            person.name = first.name or person.name
            person.email = first.email or person.email
            person.sis_id, person.sis_login_id = first.sis_id, first.sis_login_id
            person.section = first.section
            if len({row.lms_id for row in rows}) == 1:
                person.canvas_id = first.lms_id


def _awaiting_warnings(scores: list[Score]) -> list[str]:
    by_assignment: dict[str, list[str]] = {}
    for s in scores:
        if s.awaiting:
            by_assignment.setdefault(s.assignment, []).append(
                f"{s.student} ({_points(s.awaiting)} of {_points(s.max_score)})"
            )
    return [
        f"{assignment}: points await a grader in formgrader for {listed(waiting)}; "
        "their exported scores count only the points given so far"
        for assignment, waiting in by_assignment.items()
    ]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _canvas(scores, maxima, people, columns, warnings) -> tuple[list[str], list[list[str]]]:
    assignments = sorted(maxima)
    header = CANVAS_COLUMNS + [columns.get(a, a) for a in assignments]
    by_key = {(s.student, s.assignment): s for s in scores}
    rows = [[CANVAS_POINTS_ROW, "", "", "", "", *(_points(maxima[a]) for a in assignments)]]
    for student in sorted({s.student for s in scores}):
        person = people[student]
        if not (person.canvas_id or person.sis_id or person.sis_login_id):
            warnings.append(
                f"{student}: no Canvas user id, SIS User ID or SIS Login ID known (give a "
                "roster): Canvas can match this row by its Student name only"
            )
        cells = [_points(by_key[(student, a)].score) if (student, a) in by_key else ""
                 for a in assignments]  # fmt: skip
        rows.append([person.name or student, person.canvas_id, person.sis_id,
                     person.sis_login_id, person.section, *cells])  # fmt: skip
    return header, rows


def _moodle(scores, assignment, people, warnings) -> list[list[str]]:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")  # PHP's strtotime reads it
    rows = []
    for s in scores:
        if s.assignment != assignment:
            continue
        person = people[s.student]
        participant = person.ids.get(assignment, "")
        if not participant.isdigit():
            warnings.append(
                f"{s.student}: no Moodle participant id from a download of {assignment} "
                "(Moodle numbers participants per assignment): left out of its worksheet"
            )
            continue
        comment = f"Autograded: {_points(s.score)} of {_points(s.max_score)} points"
        if s.awaiting:
            comment += f"; {_points(s.awaiting)} points await a grader"
        rows.append(
            [
                f"{MOODLE_PARTICIPANT}{participant}",
                person.name or s.student,
                person.email,
                "Submitted for grading" if s.submitted else "No submission",
                _points(s.score),
                _points(s.max_score),
                "Yes",
                "-",
                now,
                comment,
            ]
        )
    return rows


def _csv(scores, people) -> list[list[str]]:
    rows = []
    for s in scores:
        person = people[s.student]
        lms_id = person.ids.get(s.assignment, person.canvas_id)
        rows.append([s.student, person.name, person.email, lms_id, person.sis_id, person.section,
                     s.assignment, _points(s.score), _points(s.max_score),
                     _points(s.awaiting)])  # fmt: skip
    return rows


def export(
    out: Path,
    fmt: str,
    roster: Path | None = None,
    output: Path | None = None,
    assignment: str | None = None,
    columns: dict[str, str] | None = None,
) -> tuple[list[Path], list[str]]:
    """Write OUT's scores as ``fmt`` (``canvas``, ``moodle`` or ``csv``).

    Args:
        out: the output folder of ``convbook grade``.
        fmt: one of ``FORMATS``.
        roster: a roster CSV (``lms.read_roster``): names, emails, SIS ids, sections.
        output: the file to write; by default ``OUT/export/<fmt>.csv``, and for Moodle
            ``OUT/export/moodle_<assignment>.csv`` (one worksheet per assignment).
        assignment: only this assignment.
        columns: Canvas column name of an assignment (``{"7_5_pooling": "7.5 Pooling (12345)"}``);
            the assignment id by default.

    Returns:
        The files written, and warnings (points awaiting a grader, students the LMS
        cannot be told).

    Raises:
        ValueError: on an unknown format or assignment, a bad roster, or several Moodle
            worksheets asked into one ``output``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    out = Path(out).resolve()
    if not (out / ".convbook").is_dir():
        raise ValueError(f"{out} is not an output folder of convbook grade")
    roster_rows = read_roster(roster) if roster else None
    scores, maxima, people = read_scores(out, assignment)
    _who(out, people, roster_rows)
    unknown = sorted(set(columns or {}) - set(maxima))
    if unknown:
        raise ValueError(f"--column names no assignment of the gradebook: {', '.join(unknown)}")
    warnings = _awaiting_warnings(scores)
    written = []
    if fmt == "canvas":
        header, rows = _canvas(scores, maxima, people, columns or {}, warnings)
        written.append(output or out / "export" / "canvas.csv")
        _write(written[-1], header, rows)
    elif fmt == "csv":
        written.append(output or out / "export" / "csv.csv")
        _write(written[-1], CSV_COLUMNS, _csv(scores, people))
    else:
        if output is not None and len(maxima) > 1:
            raise ValueError(
                "Moodle imports one worksheet per assignment: pass --assignment "
                f"(one of {', '.join(sorted(maxima))}) with --output, or leave --output out"
            )
        for name in sorted(maxima):
            written.append(output or out / "export" / f"moodle_{name}.csv")
            _write(written[-1], MOODLE_COLUMNS, _moodle(scores, name, people, warnings))
    return written, warnings


def _column(text: str) -> tuple[str, str]:
    assignment, sep, header = text.partition("=")
    if not sep or not assignment.strip() or not header.strip():
        raise argparse.ArgumentTypeError(f"expected ASSIGNMENT=COLUMN, got {text!r}")
    return assignment.strip(), header.strip()


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``export`` command's options."""
    parser = parser or argparse.ArgumentParser(
        prog="convbook export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out", type=Path, help="output folder of convbook grade")
    parser.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    parser.add_argument("--roster", type=Path, default=None, help="roster CSV (see README)")
    parser.add_argument("--output", type=Path, default=None, help="file to write")
    parser.add_argument("--assignment", default=None, help="only this assignment")
    parser.add_argument(
        "--column",
        type=_column,
        action="append",
        default=[],
        metavar="ASSIGNMENT=COLUMN",
        help="Canvas's column name of an assignment, with its id, as a Canvas gradebook "
        "export writes it: --column '7_5_pooling=7.5 Pooling (12345)' (repeatable)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Export with parsed options; prints the files written and the warnings."""
    try:
        written, warnings = export(args.out, args.format, args.roster, args.output,
                                   args.assignment, dict(args.column))  # fmt: skip
    except ValueError as error:
        print(f"convbook export: {error}", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``convbook export``; returns the exit status."""
    return run(build_parser().parse_args(argv))

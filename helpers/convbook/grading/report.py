"""The grading command's outputs: ``grades.csv`` and the summary table (pages: ``feedback``)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from .durable import write_atomic
from .gradebook import CellState
from .records import Outcome, Result, Row, Submission

__all__ = [
    "COLUMNS",
    "STATUSES",
    "outcome_of",
    "points",
    "summary_table",
    "with_gradebook",
    "write_csv",
]

COLUMNS = [
    "student_id",
    "assignment",
    "notebook",
    "score",
    "max_score",
    "status",
    "message",
    "manual_points",
    "awaiting_points",
    "awaiting",
]
STATUSES = [
    "graded",
    "unreadable",
    "missing",
    "timeout",
    "resource limit",
    "kernel died",
    "error",
]


def outcome_of(
    submission: Submission, result: Result | None, max_score: float, hung: str
) -> Outcome:
    """Turn a worker's result into a status, a score and a message.

    Args:
        submission: the notebook that was graded.
        result: the worker's result, or None when the worker hung and was stopped.
        max_score: the notebook's points, for when nothing could be graded.
        hung: the message for a stopped worker.

    Returns:
        The CSV row and the cell grades for the gradebook.
    """
    row = dict(
        student_id=submission.student,
        assignment=submission.assignment,
        notebook=submission.notebook,
        max_score=max_score,
    )
    if result is None:
        return Outcome(Row(**row, score=0, status="timeout", message=hung), None)
    if not result.ok:
        last = result.log.strip().splitlines()[-1:] or ["unknown error"]
        return Outcome(
            Row(**row, score=0, status="error", message=f"grader failed: {last[0]}"), None
        )
    score = sum(g.auto_score or 0 for g in result.grades)
    max_score = sum(g.max_score for g in result.grades) or max_score
    row["max_score"] = max_score
    kinds: dict[str, list[str]] = {}
    for kind, message in result.events:
        if kind in ("seconds", "calls"):
            continue
        kinds.setdefault(kind, [])
        if message not in kinds[kind]:
            kinds[kind].append(message)
    if "error" in kinds:
        return Outcome(Row(**row, score=0, status="error", message="; ".join(kinds["error"])), None)
    status = "graded"
    for kind in ("resource limit", "kernel died", "timeout"):
        if kind in kinds:
            status = kind
            break
    notes = kinds.get(status, []) if status != "graded" else []
    notes += result.notes + kinds.get("truncated", [])
    return Outcome(
        Row(**row, score=score, status=status, message="; ".join(notes)[:500]), result.grades
    )


def points(value: float) -> str:
    """``1 point``, ``2 points``, ``0.5 points``."""
    return f"{value:g} point" + ("" if value == 1 else "s")


def with_gradebook(row: Row, cells: list[CellState]) -> Row:
    """``row`` with the scores the gradebook holds now: a person's grades count, and
    what a person has yet to grade (or to look at again) is said.

    Args:
        row: the row of the grading run (status, messages, autograded score).
        cells: the notebook's graded cells, from ``gradebook.notebook_grades``.
    """
    if not cells:
        return row
    manual = sum(c.score for c in cells if c.manual is not None or c.extra)
    awaiting = [c for c in cells if c.awaiting]
    waiting = [c.name for c in awaiting if not c.review]
    review = [c.name for c in awaiting if c.review]
    notes = [row.message] if row.message else []
    if waiting:
        total = sum(c.points for c in awaiting if not c.review)
        verb = "awaits" if total == 1 else "await"
        notes.append(f"{points(total)} {verb} a grader: {', '.join(waiting)}")
    if review:
        notes.append(
            "to look at again (the answer or the solution changed since a person graded it;"
            f" their score still counts): {', '.join(review)}"
        )
    return Row(
        student_id=row.student_id,
        assignment=row.assignment,
        notebook=row.notebook,
        score=round(sum(c.score for c in cells), 6),
        max_score=sum(c.points for c in cells) or row.max_score,
        status=row.status,
        message="; ".join(notes)[:1000],
        manual_points=round(manual, 6),
        awaiting_points=sum(c.points for c in awaiting),
        awaiting="; ".join([*waiting, *(f"{name} (review)" for name in review)]),
    )


def write_csv(rows: list[Row], path: Path) -> None:
    """Write the rows sorted by student, assignment and notebook (stable across runs)."""
    ordered = sorted(rows, key=lambda r: (r.student_id, r.assignment, r.notebook))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row.values() for row in ordered)
    write_atomic(path, buffer.getvalue())


def summary_table(rows: list[Row], max_rows: int = 200) -> str:
    """A plain-text table of the grades, then one count per status.

    Args:
        rows: the graded rows.
        max_rows: rows shown before the table is cut (the CSV always has all of them).

    Returns:
        The table as text.
    """
    ordered = sorted(rows, key=lambda r: (r.student_id, r.assignment, r.notebook))
    table = [["student", "assignment", "notebook", "score", "status", "message"]]
    for row in ordered[:max_rows]:
        message = row.message if len(row.message) <= 60 else row.message[:57] + "..."
        score = f"{row.score:g}/{row.max_score:g}"
        table.append([row.student_id, row.assignment, row.notebook, score, row.status, message])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if len(ordered) > max_rows:
        lines.append(f"... {len(ordered) - max_rows} more rows in grades.csv")
    counts = Counter(row.status for row in rows)
    lines.append("")
    lines.append(", ".join(f"{status}: {counts[status]}" for status in STATUSES if counts[status]))
    return "\n".join(lines)

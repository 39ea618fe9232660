"""The grading command's outputs: ``grades.csv`` and the summary table (pages: ``feedback``)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from .records import Outcome, Result, Row, Submission

__all__ = [
    "COLUMNS",
    "STATUSES",
    "outcome_of",
    "summary_table",
    "write_csv",
]

COLUMNS = ["student_id", "assignment", "notebook", "score", "max_score", "status", "message"]
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
    manual = sum(g.max_score for g in result.grades if g.needs_manual_grade)
    if manual:
        notes.append(f"{manual:g} points await manual grading")
    return Outcome(
        Row(**row, score=score, status=status, message="; ".join(notes)[:500]), result.grades
    )


def write_csv(rows: list[Row], path: Path) -> None:
    """Write the rows sorted by student, assignment and notebook (stable across runs)."""
    ordered = sorted(rows, key=lambda r: (r.student_id, r.assignment, r.notebook))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(row.values() for row in ordered)


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

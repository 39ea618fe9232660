"""Canvas and Moodle downloads: what their file names say, the roster, the ids seen.

Canvas "Download Submissions" (``lib/content_zipper.rb`` in canvas-lms) writes one flat zip;
each uploaded file is ``<name>_<user id>_<attachment id>_<file>``, where ``<name>`` is the
student's sortable name in lower case with everything but letters, digits and ``_`` removed
(``doejane``), a late submission has ``LATE`` before the user id, and an anonymously graded
assignment has ``anon_<anonymous id>`` instead of name and user id. Canvas itself reads the
user and attachment ids back as the first two all-digit ``_`` parts, and so do we. A file
uploaded again under a name the student's folder already holds is renamed ``<file>-1``,
``-2`` ... (``Attachment.make_unique_filename``; a random uuid after seven).

Moodle "Download all submissions" (``mod/assign/locallib.php``) writes one folder per student
and submission plugin, ``<Full Name>_<participant id>_assignsubmission_file_/<file>`` (since
Moodle 3.1; before, or with "Download submissions in folders" off, flat files
``<Full Name>_<participant id>_assignsubmission_file_<file>``). Moodle replaces ``_`` in the
name by a space, writes ``Participant`` for anonymous submissions, and numbers participants
per assignment. Its file picker renames a second upload of a name to ``<file> (1)``.

A roster CSV maps these LMS ids to the course's student ids (``read_roster``), and
``remember`` keeps, in ``OUT/.convbook/lms.json``, which LMS id each student had in each
assignment, for ``convbook export``.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .durable import write_atomic
from .records import Submission

__all__ = [
    "CANVAS",
    "MOODLE",
    "ROSTER_COLUMNS",
    "LmsFile",
    "Roster",
    "RosterRow",
    "parse_top",
    "read_roster",
    "remember",
    "remembered",
    "resubmission",
]

CANVAS = "canvas"
MOODLE = "moodle"
KIND = {CANVAS: "Canvas user", MOODLE: "Moodle participant"}  # what an lms_id is
ROSTER_COLUMNS = ("lms_id", "student_id", "name", "email", "sis_id", "sis_login_id", "section")
ROSTER_REQUIRED = ("lms_id", "student_id")
MOODLE_PARTICIPANT = "Participant "  # Moodle's worksheet writes "Participant 1234567"
_REMEMBERED = "lms.json"  # in OUT/.convbook

_DIGITS = re.compile(r"[0-9]+")
_MOODLE = re.compile(r"(?P<name>.+?)_(?P<id>[0-9]+)_assignsubmission_(?P<plugin>[a-z0-9]+)_")
_CANVAS_AGAIN = re.compile(
    r"(?P<base>.+)-(?:(?P<n>[1-9][0-9]*)|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})"
)
_MOODLE_AGAIN = re.compile(r"(?P<base>.+) \((?P<n>[1-9][0-9]*)\)")
_CANVAS_UUID_RANK = 8  # Canvas names the 8th copy of a file with a uuid: newer than -7


@dataclass(frozen=True)
class LmsFile:
    """What a name in an LMS download says about the file (or folder) it names.

    Attributes:
        lms: ``CANVAS`` or ``MOODLE``.
        lms_id: Canvas user id (``anon_<id>`` when graded anonymously) or Moodle participant id.
        name: the display name the LMS wrote (``doejane``, ``Jane Doe``); empty if anonymous.
        rest: the student's own file name after the LMS's prefix ("" for a Moodle folder).
        late: Canvas marked the submission LATE.
        upload: Canvas attachment id (larger is a later upload); 0 for Moodle.
    """

    lms: str
    lms_id: str
    name: str
    rest: str
    late: bool = False
    upload: int = 0


def _parse_canvas(name: str) -> LmsFile | None:
    parts = name.split("_")
    late = parts[0] == "LATE"
    if parts[late : late + 1] == ["anon"] and len(parts) > late + 3:  # LATE_anon_<id>_<att>_<file>
        anon, upload, rest = parts[late + 1], parts[late + 2], "_".join(parts[late + 3 :])
        if anon and _DIGITS.fullmatch(upload) and rest:
            return LmsFile(CANVAS, f"anon_{anon}", "", rest, late, int(upload))
        return None
    for i in range(1, len(parts) - 2):
        if _DIGITS.fullmatch(parts[i]) and _DIGITS.fullmatch(parts[i + 1]):
            named = parts[:i]
            late = named[-1] == "LATE"  # names are lower case: LATE is Canvas's
            display = "_".join(named[:-1] if late else named)
            rest = "_".join(parts[i + 2 :])
            if not display or not rest:
                return None
            return LmsFile(CANVAS, parts[i], display, rest, late, int(parts[i + 1]))
    return None


def _parse_moodle(name: str, folder: bool) -> LmsFile | None:
    match = _MOODLE.match(name)
    if match is None:
        return None
    rest = name[match.end() :]
    if folder == bool(rest):  # a folder ends with the prefix; a flat file goes on after it
        return None
    display = "" if match["name"] == MOODLE_PARTICIPANT.strip() else match["name"]
    return LmsFile(MOODLE, match["id"], display, rest)


def parse_top(name: str, folder: bool) -> LmsFile | None:
    """Read a top-level entry of SUBMISSIONS as a Canvas or Moodle download names it.

    Args:
        name: the entry's name.
        folder: whether the entry is a folder (Moodle's per-student folders) or a file.

    Returns:
        What the name says, or None when it is not an LMS name.
    """
    if folder:
        return _parse_moodle(name, folder=True)
    return _parse_moodle(name, folder=False) or _parse_canvas(name)


def resubmission(stem: str, lms: str) -> tuple[str, int] | None:
    """Split the suffix an LMS adds to a file uploaded again under the same name.

    Args:
        stem: a file name without ``.ipynb`` (``7_5_pooling-1``, ``7_5_pooling (2)``).
        lms: ``CANVAS`` (``-N``, or a uuid after seven) or ``MOODLE`` (`` (N)``).

    Returns:
        (the name it was renamed from, N), or None when ``stem`` has no such suffix.
    """
    match = (_CANVAS_AGAIN if lms == CANVAS else _MOODLE_AGAIN).fullmatch(stem)
    if match is None:
        return None
    return match["base"], int(match["n"]) if match["n"] else _CANVAS_UUID_RANK


# --- Roster ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    """One student of the roster; every field but the two ids may be empty."""

    lms_id: str
    student_id: str
    name: str = ""
    email: str = ""
    sis_id: str = ""
    sis_login_id: str = ""
    section: str = ""


@dataclass
class Roster:
    """The course's students by LMS id (a Moodle student has one id per assignment)."""

    path: Path
    rows: list[RosterRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_lms = {row.lms_id: row for row in self.rows}

    def by_lms_id(self, lms_id: str) -> RosterRow | None:
        """The row of an LMS id, or None."""
        return self._by_lms.get(lms_id)

    def for_student(self, student: str) -> list[RosterRow]:
        """The rows of one course student id (several for a Moodle student)."""
        return [row for row in self.rows if row.student_id == student]


def _lms_id(text: str) -> str:
    """An LMS id as the roster may write it: ``1234567`` or Moodle's ``Participant 1234567``."""
    text = text.strip()
    if text.startswith(MOODLE_PARTICIPANT) and _DIGITS.fullmatch(text[len(MOODLE_PARTICIPANT) :]):
        return text[len(MOODLE_PARTICIPANT) :]
    return text


def read_roster(path: Path) -> Roster:
    """Read a roster CSV: a header line, then one student a line.

    Columns (any order; ``lms_id`` and ``student_id`` required, the others optional):
    ``lms_id`` (Canvas user id, or Moodle participant id, also as ``Participant 1234567``),
    ``student_id`` (the id the course grades under), ``name``, ``email``, ``sis_id``,
    ``sis_login_id``, ``section``. A student may have several rows (Moodle numbers
    participants per assignment); an LMS id only one.

    Args:
        path: the CSV file (UTF-8, a byte-order mark allowed).

    Returns:
        The roster.

    Raises:
        ValueError: naming the file, its line and what is wrong with it.
    """
    from .collect import id_problem  # collect imports this module

    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ValueError(f"roster {path}: {error.strerror or error}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = [(column or "").strip() for column in reader.fieldnames or []]
        except (UnicodeDecodeError, csv.Error) as error:
            raise ValueError(f"roster {path}: not a UTF-8 CSV file ({error})") from None
        unknown = [column for column in header if column not in ROSTER_COLUMNS]
        absent = [column for column in ROSTER_REQUIRED if column not in header]
        if unknown or absent:
            raise ValueError(
                f"roster {path} line 1: "
                + "; ".join(
                    ([f"unknown column(s) {', '.join(map(repr, unknown))}"] if unknown else [])
                    + ([f"no column {', '.join(absent)}"] if absent else [])
                )
                + f" (columns: {', '.join(ROSTER_COLUMNS)}; the first two required)"
            )
        reader.fieldnames = header
        rows: list[RosterRow] = []
        seen: dict[str, int] = {}
        try:
            for record in reader:
                line = reader.line_num
                if None in record:
                    raise ValueError(f"roster {path} line {line}: more fields than columns")
                values = {k: (v or "").strip() for k, v in record.items() if k in ROSTER_COLUMNS}
                if not any(values.values()):
                    continue  # a blank line
                values["lms_id"] = _lms_id(values["lms_id"])
                row = RosterRow(**values)
                if not row.lms_id:
                    raise ValueError(f"roster {path} line {line}: no lms_id")
                if row.lms_id in seen:
                    raise ValueError(
                        f"roster {path} line {line}: lms_id {row.lms_id} is already on line "
                        f"{seen[row.lms_id]}"
                    )
                if not row.student_id:
                    raise ValueError(f"roster {path} line {line}: no student_id for {row.lms_id}")
                problem = id_problem(row.student_id)
                if problem:
                    raise ValueError(
                        f"roster {path} line {line}: {problem.removesuffix(', skipped')}"
                    )
                seen[row.lms_id] = line
                rows.append(row)
        except (UnicodeDecodeError, csv.Error) as error:
            raise ValueError(f"roster {path} line {reader.line_num}: {error}") from None
    return Roster(path, rows)


# --- The LMS ids each student had, kept for ``convbook export`` ------------------------


def remember(submissions: list[Submission], state: Path) -> None:
    """Add the LMS ids and names of this run's students to ``state/lms.json``.

    Args:
        submissions: what ``collect`` found; those without ``lms_id`` are left out.
        state: ``OUT/.convbook``.
    """
    known = remembered(state.parent)
    for submission in submissions:
        if not submission.lms_id:
            continue
        entry = known.setdefault(submission.student, {"name": "", "ids": {}})
        entry["name"] = submission.name or entry.get("name", "")
        entry.setdefault("ids", {})[submission.assignment] = submission.lms_id
    if known:
        write_atomic(state / _REMEMBERED, json.dumps(known, indent=1, sort_keys=True))


def remembered(out: Path) -> dict[str, dict]:
    """What ``remember`` kept in OUT: student -> {"name": ..., "ids": {assignment: lms id}}."""
    path = Path(out) / ".convbook" / _REMEMBERED
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}

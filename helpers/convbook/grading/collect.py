"""Find the submitted notebooks in SUBMISSIONS, whatever layout the instructor was handed.

What is inside a student's folder or zip belongs to that student alone. The top-level
entries of SUBMISSIONS (below a ``submitted/`` wrapper or a single wrapper folder) are:

* ``<student>/``: a folder, nbgrader's ``<student>/<assignment>/<notebook>.ipynb`` or any
  other depth;
* ``<student>_<notebook>.ipynb``: a flat file;
* ``<student>.zip``: a zip of that student's notebooks, at any depth.

Every notebook inside ``<student>/`` or ``<student>.zip`` is that student's, matched to an
expected notebook by its file name (``<notebook>.ipynb`` or ``<anything>_<notebook>.ipynb``);
a folder or prefix in it that names someone else is only mentioned in the note. When a
student handed in several files for one notebook, the newest is graded and the note names
them all.

Canvas's and Moodle's bulk downloads are read as they come (names in ``lms``):

* Canvas: flat files ``<name>_[LATE_]<user id>_<upload id>_<file>``; the entry belongs to
  that user id (a ``.zip`` so named is that user's zip);
* Moodle: folders ``<Full Name>_<participant id>_assignsubmission_<plugin>_/`` (or flat files
  with that prefix); everything in one belongs to that participant id.

Those ids are the students' ids unless a roster maps them to others. In such an entry a
notebook may also carry the suffix the LMS gives a file uploaded again (``<notebook>-2``,
``<notebook> (2)``), and the highest suffix (then the latest Canvas upload) is graded. The
prefix is the LMS's, never the student's: a student's own file name cannot change whose it is.

SUBMISSIONS may itself be a ``.zip`` (the instructor's bulk download): it is read as the
folder would be, with the same checks; it is the only archive whose content may name
several students.

From zips only ``.ipynb`` members are unpacked (in fact only the one graded for each
notebook), never nested archives, symbolic links or unsafe paths. Unpacked bytes are capped
per notebook, per student and per run: the declared size is checked first, then at most the
limit (plus one byte) is read.

Every expected notebook of every assignment a student took part in yields one
``Submission``; a missing or misnamed one has ``path=None`` and a message.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat

from .lms import CANVAS, KIND, LmsFile, Roster, parse_top, resubmission
from .records import Submission

__all__ = ["Submission", "check_readable", "collect", "find_assignments", "id_problem"]

MAX_NOTEBOOK_BYTES = 50 << 20  # one notebook: larger is unreadable, and not unpacked from a zip
MAX_ZIP_BYTES = 500 << 20  # a student's zip file (the bulk zip: up to MAX_RUN_UNZIPPED_BYTES)
MAX_ZIP_MEMBERS = 100_000  # entries a zip may list; one with more is not opened
MAX_STUDENT_UNZIPPED_BYTES = 200 << 20  # unpacked from zips for one student
MAX_RUN_UNZIPPED_BYTES = 4 << 30  # unpacked from zips in one run
MAX_STUDENT_ID = 100  # characters of a student id
ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")  # never unpacked nested
_LISTED = 5  # file names a message lists before "and N more"


def find_assignments(solutions_dir: Path) -> dict[str, list[str]]:
    """List the assignments of a solutions folder (one sub-folder of notebooks each).

    Args:
        solutions_dir: folder holding ``<assignment>/<notebook>.ipynb`` source notebooks.

    Returns:
        assignment id -> sorted notebook names; folders without notebooks are left out.
    """
    found = {}
    for folder in sorted(p for p in Path(solutions_dir).iterdir() if p.is_dir()):
        names = sorted(p.stem for p in folder.glob("*.ipynb") if not p.name.startswith("."))
        if names:
            found[folder.name] = names
    return found


def check_readable(path: Path) -> str | None:
    """Say why a file is not a usable notebook.

    Args:
        path: the submitted file.

    Returns:
        None for a readable notebook, else a short reason ("empty file", "not JSON: ...").
    """
    size = path.stat().st_size
    if size == 0:
        return "empty file"
    if size > MAX_NOTEBOOK_BYTES:
        return f"file is {size >> 20} MiB, more than {MAX_NOTEBOOK_BYTES >> 20} MiB"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return "not a text file (binary content)"
    if not text.strip():
        return "empty file"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not JSON ({error.msg} at line {error.lineno})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return "JSON but not a notebook (no list of cells)"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many types for malformed notebooks
        return f"not a valid notebook ({type(error).__name__}: {str(error)[:120]})"
    for cell in nb.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in {"code", "markdown", "raw"}:
            return "not a valid notebook (a cell has no valid cell_type)"
        if not isinstance(cell.get("source", ""), str):
            return "not a valid notebook (a cell's source is not text)"
    return None


@dataclass(eq=False)
class _Item:
    """A file found in SUBMISSIONS: on disk, or a member of an open zip."""

    parts: tuple[str, ...]  # its path below the top being read (wrappers are stripped)
    label: str  # how messages name it: "alice/toy/toy.ipynb", "alice.zip:toy/toy.ipynb"
    mtime: float
    size: int
    file: Path | None = None
    archive: zipfile.ZipFile | None = None
    member: zipfile.ZipInfo | None = None


@dataclass(eq=False)
class _Candidate:
    """A file that may be one student's notebook, and the other ids its path names."""

    item: _Item
    names: list[str]
    origin: LmsFile | None = None  # what its LMS download name says
    again: int = 0  # the resubmission number the LMS put in its name (``-1``, `` (1)``)

    @property
    def rank(self) -> tuple[int, int, float]:
        """Larger is later: resubmission number, Canvas upload id, file time."""
        return (self.again, self.origin.upload if self.origin else 0, self.item.mtime)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.0f} MiB" if size >= 1 << 20 else f"{size} bytes"


def listed(names: list[str]) -> str:
    """``a, b, c, d, e and 2 more``: a message's list of names."""
    more = len(names) - _LISTED
    return ", ".join(names[:_LISTED]) + (f" and {more} more" if more > 0 else "")


def id_problem(student: str) -> str | None:
    """Why ``student`` cannot be a student id (one safe path component), or None."""
    if (
        not student
        or student in {".", ".."}
        or student.startswith(".")
        or "/" in student
        or "\\" in student
        or not student.isprintable()
        or len(student) > MAX_STUDENT_ID
    ):
        return (
            f"{_printable(student)!r} is not a usable student id (one printable path "
            f"component of at most {MAX_STUDENT_ID} characters, no leading dot), skipped"
        )
    return None


def _is_notebook(name: str) -> bool:
    return name.lower().endswith(".ipynb") and len(name) > len(".ipynb")


def _is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVES)


def _walk(root: Path, warnings: list[str]) -> list[_Item]:
    """Every visible file below ``root`` (symbolic links and output folders skipped)."""
    items = []
    for here, dirs, files in os.walk(root):
        here_path = Path(here)
        rel = here_path.relative_to(root).parts
        kept = []
        for name in sorted(dirs):
            path = here_path / name
            label = "/".join((*rel, name))
            if name.startswith((".", "__")):
                continue
            if path.is_symlink():
                warnings.append(f"{_printable(label)}: a symbolic link, skipped")
            elif (path / ".convbook").is_dir():
                warnings.append(f"{_printable(label)}: an output folder of convbook grade, skipped")
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            path = here_path / name
            label = "/".join((*rel, name))
            if name.startswith("."):
                continue
            if path.is_symlink():
                warnings.append(f"{_printable(label)}: a symbolic link, skipped")
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            items.append(_Item((*rel, name), _printable(label), stat.st_mtime, stat.st_size, path))
    return items


def _open_zip(path: Path, max_bytes: int, warnings: list[str]) -> zipfile.ZipFile | None:
    """Open a zip after checking its size and its number of entries, or say why not."""
    name = _printable(path.name)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            warnings.append(f"{name}: {_mib(size)}, more than {_mib(max_bytes)}, skipped")
            return None
        entries = _declared_entries(path)
        if entries is not None and entries > MAX_ZIP_MEMBERS:
            warnings.append(f"{name}: {entries} entries, more than {MAX_ZIP_MEMBERS}, skipped")
            return None
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        warnings.append(f"{name}: not a readable zip ({error})")
        return None


def _declared_entries(path: Path) -> int | None:
    """The entry count a zip's end record declares, read before its directory is parsed."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:
        return None
    try:
        with open(path, "rb") as handle:
            end = end_record(handle)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    return None if end is None else int(end[getattr(zipfile, "_ECD_ENTRIES_TOTAL", 4)])


def _zip_time(member: zipfile.ZipInfo) -> float:
    try:
        return datetime(*member.date_time).timestamp()
    except (ValueError, OverflowError, OSError):
        return 0.0


def _members(archive: zipfile.ZipFile, name: str, prefix: str, warnings: list[str]) -> list[_Item]:
    """The notebooks a zip lists; nested archives, links and unsafe paths are skipped."""
    items = []
    others = 0
    for member in archive.infolist():
        raw = member.filename.replace("\\", "/")
        if member.is_dir() or raw.endswith("/"):
            continue
        parts = tuple(p for p in raw.split("/") if p not in ("", "."))
        shown = _printable(member.filename)
        if not parts or raw.startswith("/") or ".." in parts or ":" in parts[0]:
            warnings.append(f"{name}: unsafe path {shown}, skipped")
            continue
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            warnings.append(f"{name}: {shown} is a symbolic link, skipped")
        elif _is_archive(parts[-1]):
            warnings.append(f"{name}: nested archive {shown} not extracted")
        elif _is_notebook(parts[-1]):
            label = _printable(prefix + "/".join(parts))
            items.append(
                _Item(parts, label, _zip_time(member), member.file_size, None, archive, member)
            )
        else:
            others += 1
    if others:
        files = (
            "1 file that is not a notebook"
            if others == 1
            else f"{others} files that are not notebooks"
        )
        warnings.append(f"{name}: {files} skipped")
    return items


def _unwrap(items: list[_Item], assignments: dict[str, list[str]]) -> list[_Item]:
    """Strip a ``submitted/`` wrapper or a lone top folder that is not a student's."""
    notebooks = {nb for names in assignments.values() for nb in names}
    while True:
        inside = [i for i in items if len(i.parts) > 1 and i.parts[0] == "submitted"]
        tops = {i.parts[0] for i in items}
        if not inside and len(tops) == 1 and all(len(i.parts) > 1 for i in items):
            top = tops.pop()
            below = [i.parts[1:] for i in items]
            student_like = any(
                (len(p) > 1 and p[0] in assignments)
                or (len(p) == 1 and _is_notebook(p[0]) and p[0][:-6] in notebooks)
                for p in below
            )
            lms_folder = parse_top(top, folder=True) is not None
            if top not in assignments and not student_like and not lms_folder:
                inside = items
        if not inside:
            return items
        items = [_Item(i.parts[1:], i.label, i.mtime, i.size, i.file, i.archive, i.member)
                 for i in inside]  # fmt: skip


def _match(stem: str, notebooks: list[str]) -> str | None:
    """The expected notebook a file stem names: itself, or the longest ``_<notebook>`` end."""
    if stem in notebooks:
        return stem
    ends = [nb for nb in notebooks if stem.endswith(f"_{nb}")]
    return max(ends, key=len) if ends else None


def _notebook_of(
    stem: str, notebooks: list[str], origin: LmsFile | None
) -> tuple[str | None, str, int]:
    """The expected notebook a file stem names, the stem without the LMS's resubmission
    suffix, and that suffix's number (0 when none)."""
    notebook = _match(stem, notebooks)
    if notebook is None and origin is not None:
        split = resubmission(stem, origin.lms)
        if split is not None and _match(split[0], notebooks) is not None:
            return _match(split[0], notebooks), *split
    return notebook, stem, 0


class _Unpacker:
    """Unpacks zip members into ``staging`` within the per-student and per-run caps."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self.run_left = MAX_RUN_UNZIPPED_BYTES
        self.student_used: dict[str, int] = {}

    def get(self, item: _Item, student: str, target: Path) -> tuple[Path | None, str]:
        """The file to grade, or None and why it could not be unpacked."""
        if item.file is not None:
            return item.file, ""
        student_left = MAX_STUDENT_UNZIPPED_BYTES - self.student_used.get(student, 0)
        caps = [
            (MAX_NOTEBOOK_BYTES, f"the {_mib(MAX_NOTEBOOK_BYTES)} a notebook may have"),
            (student_left, f"the {_mib(MAX_STUDENT_UNZIPPED_BYTES)} unpacked per student"),
            (self.run_left, f"the {_mib(MAX_RUN_UNZIPPED_BYTES)} unpacked per run"),
        ]
        limit, cap = min(caps, key=lambda c: c[0])
        if item.size > limit:
            return None, f"declares {_mib(item.size)}, more than {cap} allows"
        target.parent.mkdir(parents=True, exist_ok=True)
        read = 0
        try:
            with item.archive.open(item.member) as source, open(target, "wb") as sink:
                while read <= limit:
                    chunk = source.read(min(1 << 20, limit + 1 - read))
                    if not chunk:
                        break
                    read += len(chunk)
                    sink.write(chunk)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError,
                OSError, ValueError) as error:  # fmt: skip
            target.unlink(missing_ok=True)
            problem = f"could not be unpacked ({type(error).__name__}: {_printable(str(error))})"
            return None, problem[:200]
        finally:
            self.student_used[student] = self.student_used.get(student, 0) + read
            self.run_left -= read
        if read > limit:
            target.unlink(missing_ok=True)
            return None, f"unpacks to more than it declares and more than {cap} allows"
        return target, ""


def collect(
    root: Path,
    assignments: dict[str, list[str]],
    staging: Path,
    roster: Roster | None = None,
) -> tuple[list[Submission], list[str]]:
    """Find every expected notebook of every student in ``root``.

    Args:
        root: the SUBMISSIONS folder, or a ``.zip`` of it (the instructor's bulk download).
        assignments: assignment id -> notebook names (from the solutions).
        staging: folder where notebooks taken out of zips are written (created).
        roster: maps the LMS ids of a Canvas or Moodle download to student ids; an LMS id
            it lacks is graded under itself, with a warning.

    Returns:
        The submissions sorted by (student, assignment, notebook), and warnings about files
        that match nothing or were skipped.

    Raises:
        ValueError: if ``root`` is neither a folder nor a zip file.
    """
    root = Path(root)
    warnings: list[str] = []
    archives: list[zipfile.ZipFile] = []
    try:
        if root.is_dir():
            items = _walk(root, warnings)
        elif root.is_file() and root.suffix.lower() == ".zip":
            bulk = _open_zip(root, MAX_RUN_UNZIPPED_BYTES, warnings)
            if bulk is None:
                raise ValueError(f"submissions zip {root}: {warnings.pop()}")
            archives.append(bulk)
            items = _members(bulk, _printable(root.name), "", warnings)
        elif root.exists():
            raise ValueError(f"submissions {root} is neither a folder nor a .zip file")
        else:
            raise ValueError(f"submissions folder {root} does not exist")
        people = _People(roster, warnings)
        found = _collect(_unwrap(items, assignments), assignments, staging, warnings, archives,
                         people)  # fmt: skip
        if roster is not None and not people.ids:
            warnings.append(
                f"roster {_printable(roster.path.name)} not used: SUBMISSIONS holds no Canvas "
                "or Moodle download"
            )
        return found, warnings
    finally:
        for archive in archives:
            archive.close()


class _People:
    """Who an LMS name is: its roster row's student id, else the LMS id itself."""

    def __init__(self, roster: Roster | None, warnings: list[str]) -> None:
        self.roster = roster
        self.warnings = warnings
        self.names: dict[str, str] = {}  # student -> display name
        self.ids: dict[str, set[str]] = {}  # student -> the LMS ids seen for them

    def student(self, origin: LmsFile, label: str) -> str:
        """The student id of an LMS file; the first time an id is not in the roster, say so."""
        row = self.roster.by_lms_id(origin.lms_id) if self.roster else None
        student = row.student_id if row else origin.lms_id
        if (
            self.roster is not None
            and row is None
            and origin.lms_id not in self.ids.get(student, ())
        ):
            who = f" ({_printable(origin.name)})" if origin.name else ""
            self.warnings.append(
                f"{label}: {KIND[origin.lms]} {_printable(origin.lms_id)}{who} is not in roster "
                f"{_printable(self.roster.path.name)}: graded as {_printable(origin.lms_id)}"
            )
        self.names.setdefault(student, (row.name if row else "") or origin.name)
        self.ids.setdefault(student, set()).add(origin.lms_id)
        return student


def _collect(
    items: list[_Item],
    assignments: dict[str, list[str]],
    staging: Path,
    warnings: list[str],
    archives: list[zipfile.ZipFile],
    people: _People,
) -> list[Submission]:
    notebooks = sorted(nb for names in assignments.values() for nb in names)
    owner = {nb: a for a, names in assignments.items() for nb in names}

    # Who owns what: the top-level entry an item is under (or is) says it; for an LMS
    # download, the id the LMS wrote in that entry's name.
    owned: list[tuple[str, tuple[str, ...], _Item, LmsFile | None]] = []
    refused: set[str] = set()

    def claim(student: str, label: str) -> bool:
        problem = id_problem(student)
        if problem and student not in refused:
            refused.add(student)
            warnings.append(f"{label}: {problem}")
        return problem is None

    def student_zip(student: str, item: _Item, origin: LmsFile | None) -> None:
        archive = _open_zip(item.file, MAX_ZIP_BYTES, warnings)
        if archive is None:
            return
        archives.append(archive)
        inside = _members(archive, item.label, f"{item.label}:", warnings)
        if not inside:
            warnings.append(f"{item.label}: no notebooks inside")
        owned.extend((student, i.parts, i, origin) for i in inside)

    for item in sorted(items, key=lambda i: i.parts):
        top = item.parts[0]
        origin = parse_top(top, folder=len(item.parts) > 1)
        if origin is not None and origin.lms == CANVAS and _is_notebook(top):
            # ``jane_7_2_conv_layer.ipynb`` has two digit parts too: Canvas's only if its
            # file part is a notebook, or the whole name is not <student>_<notebook>
            if (
                _notebook_of(origin.rest[:-6], notebooks, origin)[0] is None
                and _match(top[:-6], notebooks) is not None
            ):
                origin = None
        if origin is not None:
            label = _printable(top) + ("/" if len(item.parts) > 1 else "")
            student = people.student(origin, label)
            if not claim(student, label):
                continue
            if len(item.parts) > 1:
                owned.append((student, item.parts[1:], item, origin))
            elif _is_notebook(origin.rest):
                owned.append((student, (origin.rest,), item, origin))
            elif origin.rest.lower().endswith(".zip") and item.file is not None:
                student_zip(student, item, origin)
            elif _is_archive(origin.rest):
                warnings.append(f"{item.label}: only .zip archives are read, skipped")
        elif len(item.parts) > 1:
            if claim(top, _printable(top) + "/"):
                owned.append((top, item.parts[1:], item, None))
        elif _is_notebook(top):
            notebook = _match(top[:-6], [nb for nb in notebooks if nb != top[:-6]])
            if notebook is None:
                warnings.append(f"{item.label}: not named <student>_<notebook>.ipynb, skipped")
            elif claim(top[: -6 - len(notebook) - 1], item.label):
                owned.append((top[: -6 - len(notebook) - 1], item.parts, item, None))
        elif top.lower().endswith(".zip") and item.file is not None:
            if claim(top[:-4], item.label):
                student_zip(top[:-4], item, None)
        elif _is_archive(top):
            warnings.append(f"{item.label}: only .zip archives are read, skipped")

    # Which expected notebook each owned file is, by its name alone (and, in an LMS
    # download, the suffix the LMS gives a file uploaded again under the same name).
    students_named = {student for student, _, _, _ in owned}
    found: dict[str, dict[str, list[_Candidate]]] = {}
    strays: dict[tuple[str, str | None], list[str]] = {}
    for student, inner, item, origin in owned:
        name = inner[-1]
        if not _is_notebook(name):
            if _is_archive(name):
                warnings.append(f"{item.label}: an archive in a student's folder, not extracted")
            continue
        notebook, stem, again = _notebook_of(name[:-6], notebooks, origin)
        if notebook is None:
            assignment = next((p for p in inner[:-1] if p in assignments), None)
            strays.setdefault((student, assignment), []).append(_printable(name))
            continue
        names = [stem[: -len(notebook) - 1]] if stem != notebook else []
        folders = inner[:-1]
        for index, folder in enumerate(folders):
            above_assignment = index + 1 < len(folders) and folders[index + 1] in assignments
            if above_assignment or folder in students_named:
                names.append(folder)
        own = {student.casefold(), (origin.name if origin else student).casefold()}
        others = sorted(
            {
                _printable(n)
                for n in names
                if n and n != "submitted" and n not in assignments and n.casefold() not in own
            }
        )
        candidate = _Candidate(item, others, origin, again)
        found.setdefault(student, {}).setdefault(notebook, []).append(candidate)

    students = sorted(set(found) | {s for (s, a) in strays if a is not None})
    for student in sorted({s for (s, a) in strays if a is None} - set(students)):
        warnings.append(
            f"{student}: no notebook named after an expected one "
            f"(found {listed(strays[(student, None)])}), skipped"
        )
    seen = {owner[nb] for per in found.values() for nb in per}
    seen |= {a for (_, a) in strays if a is not None}
    unpacker = _Unpacker(staging)
    submissions = []
    for student in students:
        for assignment in sorted(seen):
            lms_ids = [c.origin.lms_id for nb in assignments[assignment]
                       for c in found.get(student, {}).get(nb, []) if c.origin]  # fmt: skip
            for notebook in assignments[assignment]:
                candidates = found.get(student, {}).get(notebook, [])
                target = staging / student / assignment / f"{notebook}.ipynb"
                path, note, graded = _choose(
                    candidates, student, notebook, target, unpacker, warnings
                )
                message = ""
                if path is None and candidates:
                    message = f"{notebook}.ipynb could not be unpacked"
                elif path is None:
                    message = f"no {notebook}.ipynb submitted"
                    others = strays.get((student, assignment), []) + strays.get((student, None), [])
                    if others:
                        message += f" (found {listed(others)}: misnamed?)"
                ids = sorted(people.ids.get(student, ()))
                lms_id = (
                    graded.origin.lms_id
                    if graded is not None and graded.origin is not None
                    else (lms_ids[0] if lms_ids else (ids[0] if len(ids) == 1 else ""))
                )
                submissions.append(
                    Submission(student, assignment, notebook, path, message, note=note,
                               name=people.names.get(student, ""), lms_id=lms_id)
                )  # fmt: skip
    return submissions


def _when(mtime: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mtime)) if mtime else "no date"


def _describe(candidate: _Candidate) -> str:
    """When a file was handed in, and what its LMS name says (resubmission, LATE)."""
    bits = [f"resubmission {candidate.again}"] if candidate.again else []
    if candidate.origin is not None and candidate.origin.late:
        bits.append("LATE")
    return ", ".join([*bits, _when(candidate.item.mtime)])


def _choose(
    candidates: list[_Candidate],
    student: str,
    notebook: str,
    target: Path,
    unpacker: _Unpacker,
    warnings: list[str],
) -> tuple[Path | None, str, _Candidate | None]:
    """Grade the latest usable candidate; the note says what was graded and passed over.

    Latest: the highest resubmission number an LMS gave the file name, then the latest
    Canvas upload, then the newest file (or zip entry) time.
    """
    ordered = sorted(candidates, key=lambda c: (*(-r for r in c.rank), c.item.label))
    notes = []
    graded, path = None, None
    for candidate in ordered:
        path, problem = unpacker.get(candidate.item, student, target)
        if path is not None:
            graded = candidate
            break
        notes.append(f"{candidate.item.label} not unpacked: {problem}")
        warnings.append(f"{student}: {candidate.item.label} not unpacked: {problem}")
    if len(ordered) > 1:
        passed = ordered[ordered.index(graded) + 1 :] if graded else []
        if graded is not None:
            latest = "latest" if any(c.origin for c in ordered) else "newest"
            head = f"{len(ordered)} files for {notebook}.ipynb: graded the {latest}, "
            head += f"{graded.item.label} ({_describe(graded)}"
            tied = [c for c in passed if c.rank == graded.rank]
            head += ", as new as another: first by name)" if tied else ")"
            if passed:
                shown = [f"{c.item.label} ({_describe(c)})" for c in passed]
                head += f"; passed over {listed(shown)}"
        else:
            head = f"{len(ordered)} files for {notebook}.ipynb, none usable"
        notes.insert(0, head)
    elif graded is not None and graded.origin is not None:  # name the LMS file graded
        notes.insert(0, f"graded {graded.item.label} ({_describe(graded)})")
    naming = [f"{c.item.label} names {', '.join(c.names)}" for c in ordered if c.names]
    if naming:
        notes.append(f"{listed(naming)}: counted as {student}'s only")
    return path, "; ".join(notes), graded

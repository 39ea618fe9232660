"""Find the submitted notebooks in a folder, whatever layout the instructor was handed.

Accepted layouts (they may be mixed, and zip files may hold either):

* nbgrader's: ``<student_id>/<assignment_id>/<notebook>.ipynb``;
* flat: ``<student_id>_<notebook>.ipynb`` (the notebook name says the assignment);
* ``*.zip`` files of either, extracted with size and path checks.

Every expected notebook of every assignment a student took part in yields one
``Submission``; a missing or misnamed one has ``path=None`` and a message.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat

from .records import Submission

__all__ = ["Submission", "check_readable", "collect", "extract_zip", "find_assignments"]

MAX_NOTEBOOK_BYTES = 50 << 20
MAX_ZIP_BYTES = 500 << 20


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


def extract_zip(archive: Path, target: Path) -> list[str]:
    """Extract a zip of submissions safely.

    Args:
        archive: the zip file.
        target: folder to extract into (created).

    Returns:
        Problems found (skipped members, a broken archive); empty when all went well.
    """
    problems = []
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                return [f"{archive.name}: unpacks to more than {MAX_ZIP_BYTES >> 20} MiB, skipped"]
            for member in members:
                name = Path(member.filename)
                if member.is_dir() or "__MACOSX" in name.parts or name.name.startswith("."):
                    continue
                if name.is_absolute() or ".." in name.parts:
                    problems.append(f"{archive.name}: unsafe path {member.filename}, skipped")
                    continue
                destination = target / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(zipped.read(member))
    except (zipfile.BadZipFile, OSError) as error:
        problems.append(f"{archive.name}: not a readable zip ({error})")
    return problems


def _unwrap(folder: Path, assignments: dict[str, list[str]]) -> Path:
    """Skip wrapper folders such as ``submitted/`` or a lone top folder inside a zip."""
    while True:
        children = [p for p in folder.iterdir() if not p.name.startswith(".")]
        if (folder / "submitted").is_dir():
            folder = folder / "submitted"
        elif (
            len(children) == 1
            and children[0].is_dir()
            and children[0].name not in assignments
            and not _is_student_folder(children[0])
        ):
            folder = children[0]
        else:
            return folder


def _is_student_folder(folder: Path) -> bool:
    return any(child.is_dir() and any(child.glob("*.ipynb")) for child in folder.iterdir())


def collect(
    root: Path, assignments: dict[str, list[str]], staging: Path
) -> tuple[list[Submission], list[str]]:
    """Find every expected notebook of every student in ``root``.

    Args:
        root: the SUBMISSIONS folder.
        assignments: assignment id -> notebook names (from the solutions).
        staging: empty folder where zip files are extracted.

    Returns:
        The submissions sorted by (student, assignment, notebook), and warnings about files
        that match nothing.

    Raises:
        ValueError: if ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"submissions folder {root} does not exist")
    owner = {nb: a for a, notebooks in assignments.items() for nb in notebooks}
    found: dict[tuple[str, str], dict[str, Path]] = {}  # (student, assignment) -> notebooks
    strays: dict[tuple[str, str], list[str]] = {}
    warnings: list[str] = []

    def scan(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir() and not entry.name.startswith("__"):
                for assignment_dir in sorted(p for p in entry.iterdir() if p.is_dir()):
                    if assignment_dir.name not in assignments:
                        continue
                    key = (entry.name, assignment_dir.name)
                    notebooks = found.setdefault(key, {})
                    for file in sorted(assignment_dir.glob("*.ipynb")):
                        if file.stem in assignments[assignment_dir.name]:
                            notebooks[file.stem] = file
                        else:
                            strays.setdefault(key, []).append(file.name)
            elif entry.suffix == ".ipynb":
                match = [nb for nb in owner if entry.stem.endswith(f"_{nb}")]
                if not match:
                    warnings.append(f"{entry.name}: not named <student>_<notebook>.ipynb, skipped")
                    continue
                notebook = max(match, key=len)
                student = entry.stem[: -len(notebook) - 1]
                found.setdefault((student, owner[notebook]), {})[notebook] = entry
            elif entry.suffix == ".zip":
                target = staging / entry.stem
                target.mkdir(parents=True, exist_ok=True)
                warnings.extend(extract_zip(entry, target / "content"))
                content = (
                    _unwrap(target / "content", assignments)
                    if (target / "content").is_dir()
                    else None
                )
                if content is None:
                    continue
                if any(p.is_dir() and p.name in assignments for p in content.iterdir()):
                    # <student>.zip holding <assignment>/<notebook>.ipynb
                    content.rename(target / entry.stem)
                    content = target
                scan(content)

    scan(_unwrap(root, assignments))
    assignments_seen = {assignment for _, assignment in found}
    students = sorted({student for student, _ in found})
    submissions = []
    for student in students:
        for assignment in sorted(assignments_seen):
            notebooks = found.get((student, assignment), {})
            for notebook in assignments[assignment]:
                path = notebooks.get(notebook)
                message = ""
                if path is None:
                    others = strays.get((student, assignment), [])
                    message = f"no {notebook}.ipynb submitted"
                    if others:
                        message += f" (found {', '.join(others)}: misnamed?)"
                submissions.append(Submission(student, assignment, notebook, path, message))
    return submissions, warnings

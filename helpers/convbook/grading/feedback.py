"""The feedback pages of ``convbook grade``: what a student reads about one notebook.

Three modes (``--feedback``):

- ``full``: nbgrader's feedback page, every test shown, hidden ones included;
- ``messages`` (the default): the same page without the code of hidden tests. Each
  failed check keeps its message, and an error in the student's code says where in their
  code it happened; no line of a test is ever in an output (the grader runs the tests);
- ``score``: the points of each item and nothing else.

Every page opens with a summary: each graded item with its points, its status and, for a
failed test, the first line of its failure message, linked to its cell. Pages are
rendered in the parent process from ``OUT/autograded`` and ``OUT/gradebook.db``, so
another mode, or a manual grade entered in formgrader, is one re-run away and regrades
nothing. Math is typeset offline by the MathJax bundle of the website
(``sphinx-mathjax-offline``), copied once into ``OUT/feedback/mathjax``.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
import shutil
import sys
import warnings
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import nbformat

from .durable import failpoint, write_atomic
from .gradebook import CellState, notebook_grades
from .records import Row
from .report import points

__all__ = [
    "DEFAULT_MODE",
    "MODES",
    "Item",
    "Pages",
    "hide_hidden_tests",
    "install_mathjax",
    "sections",
    "write_pages",
]

MODES = {
    "full": "every test, hidden tests included: nbgrader's page",
    "messages": "failure messages; the code of hidden tests is not shown",
    "score": "points per item only",
}
DEFAULT_MODE = "messages"
PAGE_VERSION = "2"  # part of each page's stamp: a new layout rewrites every page
TEMPLATES = Path(__file__).parent / "templates"
BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"  # nbgrader's delimiters
# MathJax parts the pages use: the TeX-to-HTML bundle, its fonts and what it loads on
# demand (TeX extensions, the menu). Not the speech rules (sre/, 4 MB).
MATHJAX_PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Item:
    """One graded cell as the summary shows it."""

    grade_id: str
    section: str  # the heading above the cell
    kind: str  # "test", "code answer" or "written answer"
    score: float | None  # None while it awaits a grader
    points: float
    status: str  # passed, failed, partly passed, awaiting a grader, graded by a person
    message: str  # for a failed test: the first line of what it reported


def hide_hidden_tests(source: str) -> str:
    """``source`` with each hidden-test block replaced by one comment line.

    A block runs from a line holding ``BEGIN HIDDEN TESTS`` to one holding
    ``END HIDDEN TESTS`` (an unclosed block runs to the end of the cell).
    """
    kept, hidden = [], None
    for line in source.splitlines():
        if hidden is None and BEGIN in line:
            hidden = 0
        elif hidden is not None and END in line:
            kept.append(f"# ({hidden} lines of hidden tests, not shown)")
            hidden = None
        elif hidden is not None:
            hidden += 1
        else:
            kept.append(line)
    if hidden is not None:
        kept.append(f"# ({hidden} lines of hidden tests, not shown)")
    return "\n".join(kept)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _failure(cell) -> str:
    """The first line of what a failed test cell reported."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            value = str(output.get("evalue", "")).strip().splitlines()
            first = f"{output.get('ename', 'Error')}: {value[0]}" if value else output.get("ename")
            return _ANSI.sub("", str(first))[:300]
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            lines = str(output.get("text", "")).strip().splitlines() or [""]
            return f"wrote to stderr, which counts as failing: {lines[0][:240]}"
    return "did not run to the end" if cell.get("execution_count") is None else ""


def sections(nb: nbformat.NotebookNode) -> list[str]:
    """The section each cell belongs to: the last ``## `` heading above it (or in it).

    Headings in answer cells are ignored, so a student cannot relabel a section."""
    found, section = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not _nbgrader(cell).get("solution"):
            headings = re.findall(r"^##\s+(.+)$", cell.source, re.MULTILINE)
            section = headings[-1].strip() if headings else section
        found.append(section)
    return found


def items_of(nb: nbformat.NotebookNode, grades: dict[str, CellState]) -> list[Item]:
    """The summary's rows: every graded cell of ``nb``, in notebook order."""
    items = []
    for cell, section in zip(nb.cells, sections(nb), strict=True):
        meta = _nbgrader(cell)
        grade = grades.get(meta.get("grade_id", ""))
        if not meta.get("grade") or grade is None:
            continue
        test = cell.cell_type == "code" and not meta.get("solution")
        kind = "test" if test else ("code answer" if cell.cell_type == "code" else "written answer")
        message = ""
        if grade.review:
            score, status = grade.score, "graded by a person, to be looked at again"
        elif grade.manual is not None:
            score, status = grade.score, "graded by a person"
        elif grade.awaiting:
            score, status = None, "awaiting a grader"
        elif not test and not grade.auto and grade.points > 0:
            # nbgrader gives 0 without a person only to an answer left as released
            score, status = 0.0, "not answered"
        else:
            score = grade.score
            status = "passed" if score >= grade.points else "partly passed"
            status = "failed" if score == 0 and grade.points > 0 else status
            if test and status != "passed":
                message = _failure(cell)
        items.append(Item(meta["grade_id"], section, kind, score, grade.points, status, message))
    return items


def _for_students(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The ``messages`` view: hidden tests' code removed. (A test's failure is already only
    its message: the grader ran it, and its outputs name no line of it.)"""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.source = hide_hidden_tests(cell.source)
    return nb


_MYST_TARGET = re.compile(r"^\(\S+\)=[ \t]*\n?", re.MULTILINE)  # a MyST label: (ex-7-5)=


def _without_labels(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The book's MyST labels (``(ex-7-5)=``) taken out of the text cells: only the
    website reads them, and a page would show them as text."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _MYST_TARGET.sub("", cell.source)
    return nb


def _summary(row: Row, items: list[Item], mode: str, links: bool) -> str:
    def given(item: Item) -> str:
        return "–" if item.score is None else f"{item.score:g}"

    lines = [
        '<div id="convbook-summary" style="border: 2px solid #444; border-radius: 6px;'
        ' padding: 0.8em 1.2em; margin: 1em 0; font-family: sans-serif">',
        "<h2>Summary</h2>",
        f"<p><b>Score: {row.score:g} / {points(row.max_score)}</b> &middot; status: "
        f"<b>{html.escape(row.status)}</b> &middot; this page shows "
        f"{html.escape(MODES[mode])}.</p>",
    ]
    if row.message:
        lines.append(f"<p>{html.escape(row.message)}</p>")
    if items:
        header = "<th>item</th><th>cell</th><th>points</th><th>status</th>"
        if mode != "score":
            header += "<th>first failure message</th>"
        lines += ['<table class="table table-condensed">', f"<tr>{header}</tr>"]
        for item in items:
            name = html.escape(item.grade_id)
            cell = f'<a href="#{name}">{name}</a>' if links else name
            row_html = (
                f"<td>{html.escape(item.section)} ({item.kind})</td><td>{cell}</td>"
                f"<td>{given(item)} / {item.points:g}</td><td>{html.escape(item.status)}</td>"
            )
            if mode != "score":
                message = f"<code>{html.escape(item.message)}</code>" if item.message else ""
                row_html += f"<td>{message}</td>"
            lines.append(f"<tr>{row_html}</tr>")
        lines.append("</table>")
    lines.append("</div>")
    return "\n".join(lines)


_PLAIN = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 60em; margin: 2em auto">
<h1>{title}</h1>
{summary}
</body></html>
"""


class _Renderer:
    """nbgrader's feedback exporter with the course's template (summary, offline math)."""

    def __init__(self) -> None:
        from nbconvert import HTMLExporter
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbgrader.converters.generate_feedback import GenerateFeedback
        from traitlets.config import Config

        formgrader = Path(sys.modules[GenerateFeedback.__module__].__file__).parents[1]
        formgrader = formgrader / "server_extensions" / "formgrader"
        config = Config()
        config.HTMLExporter.template_name = "convbook_feedback"
        config.HTMLExporter.extra_template_basedirs = [
            str(TEMPLATES),
            str(formgrader / "templates"),
        ]
        config.HTMLExporter.extra_template_paths = [
            str(formgrader / "templates"),  # so that 'feedback/index.html.j2' resolves
            str(formgrader / "static" / "node_modules" / "bootstrap" / "dist" / "css"),
        ]
        self.exporter = HTMLExporter(config=config)
        self.exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(), enabled=True)

    def page(
        self, row: Row, autograded: Path | None, mode: str, db_url: str, grades: list[CellState]
    ) -> str:
        """The page's HTML; ``grades`` are the notebook's cells from ``db_url``."""
        from nbgrader.preprocessors import GetGrades

        title = html.escape(f"{row.assignment} / {row.notebook}: feedback for {row.student_id}")
        if autograded is None or not autograded.exists():
            return _PLAIN.format(title=title, summary=_summary(row, [], mode, links=False))
        nb = _without_labels(nbformat.read(autograded, as_version=4))
        items = items_of(nb, {cell.name: cell for cell in grades})
        if mode == "score":
            return _PLAIN.format(title=title, summary=_summary(row, items, mode, links=False))
        if mode == "messages":
            nb = _for_students(nb)
        resources = {
            "nbgrader": {
                "notebook": row.notebook,
                "assignment": row.assignment,
                "student": row.student_id,
                "db_url": db_url,
            },  # fmt: skip
            "convbook": {"summary": _summary(row, items, mode, links=True)},
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb, resources = GetGrades().preprocess(nb, resources)
        body, _ = self.exporter.from_notebook_node(nb, resources)
        return body


def mathjax_bundle() -> Path | None:
    """The website's MathJax folder (from ``sphinx-mathjax-offline``), if installed."""
    try:
        dist = metadata.distribution("sphinx-mathjax-offline")
    except metadata.PackageNotFoundError:
        return None
    folder = Path(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    return folder if (folder / "tex-chtml.js").is_file() else None


def install_mathjax(feedback_dir: Path) -> str | None:
    """Copy MathJax into ``feedback_dir/mathjax``; returns a problem, or None."""
    bundle = mathjax_bundle()
    if bundle is None:
        return (
            "sphinx-mathjax-offline is not installed, so math shows as LaTeX"
            ' (pip install "convbook[grading]")'
        )
    target = feedback_dir / "mathjax"
    for part in MATHJAX_PARTS:
        source, copy_to = bundle / part, target / part
        if source.is_dir():
            shutil.copytree(source, copy_to, dirs_exist_ok=True)
        elif not copy_to.exists() or copy_to.stat().st_size != source.stat().st_size:
            copy_to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy_to)
    return None


def _stamp(mode: str, row: Row, autograded: Path | None, grades: list[CellState]) -> str:
    cells = [asdict(cell) for cell in grades]
    sha = hashlib.sha256(json.dumps([PAGE_VERSION, mode, asdict(row), cells]).encode())
    if autograded is not None and autograded.exists():
        sha.update(autograded.read_bytes())
    return sha.hexdigest()


class Pages:
    """Writes the feedback pages of one run, one at a time as grades arrive.

    A page that is up to date (same mode, row, grades and executed notebook) is kept;
    :meth:`close` saves what was written. A page that cannot be written is reported, and
    any older page for that notebook is deleted, so a page from an earlier mode that
    showed more cannot stay behind.
    """

    def __init__(self, out: Path, mode: str, db_url: str) -> None:
        if mode not in MODES:
            raise ValueError(f"feedback mode must be one of {sorted(MODES)}, not {mode!r}")
        self.out, self.mode, self.db_url = out, mode, db_url
        self.folder = out / "feedback"
        self.folder.mkdir(parents=True, exist_ok=True)
        problem = install_mathjax(self.folder)
        if problem:
            print(f"warning: {problem}", file=sys.stderr)
        self.stamps_file = out / ".convbook" / "feedback.json"
        try:
            self.stamps = json.loads(self.stamps_file.read_text())
        except (OSError, ValueError):
            self.stamps = {}
        self.renderer: _Renderer | None = None
        self.written = 0

    def write(
        self, row: Row, autograded: Path | None, grades: list[CellState] | None = None
    ) -> str | None:
        """Write (or keep) the page of ``row``; returns the problem when it could not be.

        ``grades`` are the notebook's cells from the gradebook when the caller has just read
        them (read here otherwise)."""
        key = (row.student_id, row.assignment, row.notebook)
        target = self.folder / row.student_id / row.assignment / f"{row.notebook}.html"
        name = "/".join(key)
        try:
            if autograded is None:
                grades = []
            elif grades is None:
                grades = notebook_grades(self.db_url, *key)
            stamp = _stamp(self.mode, row, autograded, grades)
            if self.stamps.get(name) != stamp or not target.is_file():
                self.stamps.pop(name, None)
                if self.renderer is None:
                    self.renderer = _Renderer()
                page = self.renderer.page(row, autograded, self.mode, self.db_url, grades)
                failpoint("feedback")
                write_atomic(target, page)
                self.stamps[name] = stamp
        except Exception as error:  # one page must not cost the others theirs
            try:  # never leave an older page, perhaps of a mode that shows more
                target.unlink(missing_ok=True)
            except OSError:
                pass
            return f"feedback page not written: {type(error).__name__}: {error}"[:300]
        self.written += 1
        return None

    def close(self) -> None:
        """Save the stamps and ``feedback.json`` (the mode and how many pages there are)."""
        write_atomic(self.stamps_file, json.dumps(self.stamps, indent=1))
        summary = {"mode": self.mode, "shows": MODES[self.mode], "pages": self.written}
        write_atomic(self.out / "feedback.json", json.dumps(summary))


def write_pages(
    entries: list[tuple[Row, Path | None]], out: Path, mode: str, db_url: str
) -> dict[tuple[str, str, str], str]:
    """Write (or keep, when up to date) the feedback page of every row.

    Args:
        entries: each row with its autograded notebook (None when nothing ran).
        out: the output folder; pages go to ``out/feedback/<student>/<assignment>/``.
        mode: one of ``MODES``.
        db_url: the instructor's gradebook, after this run's grades were recorded.

    Returns:
        ``{(student, assignment, notebook): problem}`` for pages that could not be
        written; every other page was written.
    """
    pages = Pages(out, mode, db_url)
    problems = {}
    for row, autograded in entries:
        problem = pages.write(row, autograded)
        if problem:
            problems[(row.student_id, row.assignment, row.notebook)] = problem
    pages.close()
    return problems

"""Write the cells that tie each exercise notebook to its chapter and explain it.

    python tools/exercise_intro.py           # rewrite the cells (then: python tools/release.py)
    python tools/exercise_intro.py --check   # only say which notebooks differ (exit 1 if any)

- In ``solutions/<slug>/<slug>.ipynb``, the cell after the title links back to the
  chapter's section, then says how the notebook works (``HOW``, the same text in every
  notebook) and lists each answer with its section, points and grader, read from the
  nbgrader metadata: an answer cell is worth the points of the test cells that grade it
  (a test grades the nearest answer before it whose name its code uses), or its own
  points when a person grades it.
  ``python tools/release.py`` carries the cell into ``exercises/``.
- ``chapters/<slug>.ipynb`` ends with a cell that links to its exercise notebook.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

from convbook.grading.answer_code import python_of
from convbook.grading.feedback import sections
from convbook.grading.restore import answer_names as grading_names

REPO = Path(__file__).resolve().parents[1]
CELL_ID = "how-this-notebook-works"
LINK_ID = "exercises-link"
HOW = """\
**How this notebook works.** Write each code answer in its cell marked `# YOUR CODE HERE`
and delete the `raise NotImplementedError()` line there; write each answer in words in the
cell marked *YOUR ANSWER HERE*. The cell under a code answer runs visible checks. When the
notebook is graded, the same cell also runs hidden checks on other, random inputs, so an
answer that only fits the visible example loses its points. The grader may also run your
functions on a GPU, with their inputs there, so create new tensors on the device of the
inputs (`torch.zeros(..., device=X.device)`, `torch.zeros_like(X)` or `X.new_zeros(...)`):
a tensor left on the CPU fails there and loses the points. Don't edit or delete the test
cells: they are put back from the original before grading. Before you hand the notebook
in, restart the kernel and run all cells: the grader runs it from the top in a fresh
kernel."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _names(source: str) -> tuple[set[str], set[str]]:
    """The names a code cell binds at its top level, and every name it uses."""
    tree = ast.parse(python_of(source))
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return set(grading_names(tree)), used


def answers(nb: nbformat.NotebookNode) -> list[dict]:
    """Each answer cell: its section, grade id, points, and the tests that grade it (a test
    grades the nearest answer before it whose names its code uses; else the one just
    before it)."""
    found = []
    for cell, section in zip(nb.cells, sections(nb), strict=True):
        meta = _nbgrader(cell)
        if meta.get("solution"):
            manual = bool(meta.get("grade"))
            bound = _names(cell.source)[0] if cell.cell_type == "code" else set()
            found.append(dict(section=section, grade_id=meta["grade_id"], tests=[], bound=bound,
                              points=float(meta.get("points", 0)) if manual else 0.0))  # fmt: skip
        elif meta.get("grade") and cell.cell_type == "code" and found:
            used = _names(cell.source)[1]
            graded = next((row for row in reversed(found) if row["bound"] & used), found[-1])
            graded["tests"].append(meta["grade_id"])
            graded["points"] += float(meta.get("points", 0))
    return found


def title(path: Path) -> str:
    """The text of a notebook's ``# `` heading."""
    for cell in nbformat.read(path, as_version=4).cells:
        found = re.search(r"^# (.+)$", cell.source, re.MULTILINE)
        if cell.cell_type == "markdown" and found:
            return found.group(1).strip()
    raise SystemExit(f"{path}: no '# Title' heading")


def chapter_link(slug: str) -> str:
    """The last cell of ``chapters/<slug>.ipynb``."""
    exercise = REPO / "solutions" / slug / f"{slug}.ipynb"
    return (
        f"**Exercises.** Practise this section in [{title(exercise)}]"
        f"(../exercises/{slug}/{slug}.ipynb): code answers with checks you can run, and "
        "questions to answer in words."
    )


def intro(nb: nbformat.NotebookNode, slug: str) -> str:
    """The cell's source for one notebook."""
    rows = answers(nb)
    total = sum(row["points"] for row in rows)
    by_tests = sum(row["points"] for row in rows if row["tests"])
    chapter = REPO / "chapters" / f"{slug}.ipynb"
    lines = [
        f"These exercises go with section [{title(chapter)}](../../chapters/{slug}.ipynb).",
        "",
        HOW,
        "",
        f"**Points.** {total:g} in all: {by_tests:g} given by the tests, "
        f"{total - by_tests:g} by an instructor who reads your answers in words.",
        "",
        "| section | answer | points | graded by |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        graded_by = (
            "tests " + ", ".join(f"`{name}`" for name in row["tests"])
            if row["tests"]
            else "an instructor"
        )
        answer = f"`{row['grade_id']}`"
        lines.append(f"| {row['section']} | {answer} | {row['points']:g} | {graded_by} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in sorted(REPO.glob("solutions/*/*.ipynb")):
        if path.stem != path.parent.name:
            continue
        nb = nbformat.read(path, as_version=4)
        source = intro(nb, path.stem)
        cell = nb.cells[2] if len(nb.cells) > 2 else None
        if not (cell is not None and cell.get("id") == CELL_ID and cell.source == source):
            stale.append(path.relative_to(REPO))
            if not args.check:
                if cell is not None and cell.get("id") == CELL_ID:
                    cell.source = source
                else:
                    nb.cells.insert(2, nbformat.v4.new_markdown_cell(source, id=CELL_ID))
                nbformat.write(nb, path)
        chapter = REPO / "chapters" / f"{path.stem}.ipynb"
        nb = nbformat.read(chapter, as_version=4)
        source, last = chapter_link(path.stem), nb.cells[-1]
        if last.get("id") == LINK_ID and last.source == source:
            continue
        stale.append(chapter.relative_to(REPO))
        if not args.check:
            if last.get("id") == LINK_ID:
                last.source = source
            else:
                nb.cells.append(nbformat.v4.new_markdown_cell(source, id=LINK_ID))
            nbformat.write(nb, chapter)
    verb = "differ" if args.check else "rewritten"
    print(f"{len(stale)} notebooks {verb}" + "".join(f"\n  {path}" for path in stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

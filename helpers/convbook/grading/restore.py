"""Put a submission's graded cells back into the source's order before nbgrader sees it.

nbgrader's ``OverwriteCells`` restores the text of locked and test cells (and, with
``add_missing_cells``, deleted ones), but keeps the student's cell order, so a test cell
dragged above its solution would fail with a NameError. Here the notebook is cut into
segments, each starting at a cell the source knows (by nbgrader ``grade_id``), and the
segments are put back in the source's order; the student's own cells travel with the
graded cell they follow. Cells claiming a ``grade_id`` the source does not have, or a second
copy of one, lose their nbgrader metadata so they are graded as plain cells.
"""

from __future__ import annotations

import ast

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

__all__ = ["answer_names", "grade_ids", "restore_order", "test_scope"]


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def grade_ids(nb: nbformat.NotebookNode) -> list[str]:
    """The nbgrader grade_ids of a notebook's cells, in order."""
    return [gid for gid in map(_grade_id, nb.cells) if gid]


def restore_order(
    nb: nbformat.NotebookNode, source: nbformat.NotebookNode
) -> tuple[nbformat.NotebookNode, list[str]]:
    """Reorder ``nb``'s graded cells to match ``source``.

    Args:
        nb: the submitted notebook (changed in place).
        source: the release (or source) notebook of the assignment.

    Returns:
        The notebook and a list of notes on what was changed (empty when nothing was).
    """
    order = {gid: index for index, gid in enumerate(grade_ids(source))}
    notes = []
    leading: list[nbformat.NotebookNode] = []
    segments: list[tuple[int, list[nbformat.NotebookNode]]] = []
    seen = set()
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid is not None and (gid not in order or gid in seen):
            notes.append(f"cell {gid!r} is unknown or repeated; graded as a plain cell")
            cell.metadata.pop("nbgrader", None)
            gid = None
        if gid is None:
            (segments[-1][1] if segments else leading).append(cell)
            continue
        seen.add(gid)
        segments.append((order[gid], [cell]))
    if [position for position, _ in segments] != sorted(position for position, _ in segments):
        notes.append("graded cells were moved; they were put back in the assignment's order")
        segments.sort(key=lambda segment: segment[0])
    nb.cells = leading + [cell for _, cells in segments for cell in cells]
    return nb, notes


def answer_names(tree: ast.Module) -> list[str]:
    """The names a cell's top-level definitions and assignments bind."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def test_scope(source: nbformat.NotebookNode) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """What the assignment's tests run with, read from its source notebook.

    Args:
        source: the instructor's source notebook.

    Returns:
        ``(context, answers, tests)``: the plain-Python code of the locked, non-test cells
        (the imports and constants every test starts from; cells with IPython magics, such
        as the Colab install cell, are left out), the names the solution cells define, and
        each test cell's code (hidden tests included) by grade_id.
    """
    context, answers, tests = [], [], {}
    transform = TransformerManager().transform_cell
    for cell in source.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code":
            continue
        if meta.get("solution"):
            try:
                answers.extend(answer_names(ast.parse(transform(cell.source))))
            except SyntaxError:
                continue
        elif meta.get("grade"):
            tests[meta.get("grade_id", "")] = cell.source
        elif meta.get("locked"):
            python = transform(cell.source)
            if "get_ipython()" not in python:
                context.append(python)
    return "\n".join(context), tuple(dict.fromkeys(answers)), tests

"""Putting graded cells back into the assignment's order."""

import copy

from convbook.grading.restore import grade_ids, restore_order

from . import planted


def test_moved_test_cell_goes_back_after_its_solution():
    source = planted.solution()
    nb, notes = restore_order(planted.reordered(), source)
    assert grade_ids(nb) == grade_ids(source)
    assert notes == ["graded cells were moved; they were put back in the assignment's order"]


def test_students_own_cells_travel_with_the_graded_cell_before_them():
    source = planted.solution()
    nb = planted.solution()
    scratch = copy.deepcopy(nb.cells[2])
    scratch.metadata = {}
    scratch.source = "print('my scratch work')"
    nb.cells.insert(3, scratch)  # after the 'double' solution
    moved = nb.cells.pop(2), nb.cells.pop(2)  # 'double' and the scratch cell
    nb.cells.extend(moved)
    nb, _ = restore_order(nb, source)
    sources = [c.source for c in nb.cells]
    assert sources.index("print('my scratch work')") == sources.index(source.cells[2].source) + 1


def test_copied_grade_id_is_demoted_to_a_plain_cell():
    nb = planted.solution()
    nb.cells.append(copy.deepcopy(nb.cells[3]))
    nb, notes = restore_order(nb, planted.solution())
    assert grade_ids(nb).count("test_double") == 1
    assert any("repeated" in note for note in notes)

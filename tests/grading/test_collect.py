"""Finding submissions: nbgrader layout, flat files, zips, missing and misnamed notebooks."""

import zipfile

import nbformat
import pytest

from convbook.grading.collect import check_readable, collect, find_assignments

from . import planted

ASSIGNMENTS = {"7_2_conv_layer": ["7_2_conv_layer"], "toy": ["toy"]}


def _write(path, nb=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb or planted.solution(), path)


def test_find_assignments_lists_source_notebooks():
    assert find_assignments(planted.SOURCE) == {"toy": ["toy"]}


def test_flat_names_with_underscores_split_at_the_longest_notebook_name(tmp_path):
    _write(tmp_path / "subs" / "jane_doe_7_2_conv_layer.ipynb")
    found, warnings = collect(tmp_path / "subs", ASSIGNMENTS, tmp_path / "staging")
    assert [(s.student, s.assignment, s.notebook) for s in found] == [
        ("jane_doe", "7_2_conv_layer", "7_2_conv_layer")
    ]
    assert warnings == []


def test_zip_of_a_student_folder_without_the_student_level_uses_the_zip_name(tmp_path):
    (tmp_path / "subs").mkdir()
    with zipfile.ZipFile(tmp_path / "subs" / "amy.zip", "w") as archive:
        archive.writestr("toy/toy.ipynb", nbformat.writes(planted.solution()))
    found, _ = collect(tmp_path / "subs", ASSIGNMENTS, tmp_path / "staging")
    assert [(s.student, s.notebook, s.path is not None) for s in found] == [("amy", "toy", True)]


def test_zip_with_unsafe_paths_skips_them(tmp_path):
    (tmp_path / "subs").mkdir()
    with zipfile.ZipFile(tmp_path / "subs" / "evil.zip", "w") as archive:
        archive.writestr("../../escaped_toy.ipynb", "{}")
        archive.writestr("bob/toy/toy.ipynb", nbformat.writes(planted.solution()))
    found, warnings = collect(tmp_path / "subs", ASSIGNMENTS, tmp_path / "staging")
    assert [s.student for s in found] == ["bob"]
    assert any("unsafe path" in w for w in warnings)
    assert not (tmp_path / "escaped_toy.ipynb").exists()


def test_student_missing_an_assignment_others_submitted_is_missing(tmp_path):
    _write(tmp_path / "subs" / "ann" / "toy" / "toy.ipynb")
    _write(tmp_path / "subs" / "ben" / "7_2_conv_layer" / "7_2_conv_layer.ipynb")
    found, _ = collect(tmp_path / "subs", ASSIGNMENTS, tmp_path / "staging")
    missing = {(s.student, s.assignment) for s in found if s.path is None}
    assert missing == {("ann", "7_2_conv_layer"), ("ben", "toy")}


def test_unmatched_flat_file_is_a_warning(tmp_path):
    _write(tmp_path / "subs" / "ann" / "toy" / "toy.ipynb")
    _write(tmp_path / "subs" / "homework.ipynb")
    _, warnings = collect(tmp_path / "subs", ASSIGNMENTS, tmp_path / "staging")
    assert warnings == ["homework.ipynb: not named <student>_<notebook>.ipynb, skipped"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\xff\xfe\x00binary", "not a text file"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a notebook"),
        (
            b'{"cells": [{"cell_type": "video"}], "nbformat": 4, "nbformat_minor": 5, '
            b'"metadata": {}}',
            "not a valid notebook",
        ),
    ],
)
def test_check_readable_names_the_problem(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    assert reason in check_readable(path)


def test_check_readable_accepts_a_notebook():
    assert check_readable(planted.TOY) is None

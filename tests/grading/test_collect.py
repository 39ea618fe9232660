"""Finding submissions: nbgrader layout, flat files, zips, missing and misnamed notebooks."""

import io
import os
import stat
import time
import zipfile

import nbformat
import pytest

from convbook.grading import collect as collect_module
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


# --- Ownership: what is inside X's zip or X's folder belongs to X alone -------------------

POOLING = {"7_5_pooling": ["7_5_pooling"], "toy": ["toy"]}
OLD, NEW = (2024, 1, 2, 10, 0, 0), (2024, 3, 4, 12, 30, 0)


def _text(tag):
    """A valid notebook whose content says who wrote it."""
    return nbformat.writes(planted.answer(double=f"def double(x):\n    return 2 * x  # {tag}"))


def _zip(path, members):
    """Write a zip; members maps a name to its text, or to (text, date_time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            text, when = value if isinstance(value, tuple) else (value, NEW)
            archive.writestr(zipfile.ZipInfo(name, date_time=when), text)


def _file(path, text, mtime=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _by(found):
    return {(s.student, s.notebook): s for s in found}


def test_impersonation_zip_grades_only_its_sender(tmp_path):
    subs = tmp_path / "subs"
    _file(subs / "alice" / "7_5_pooling" / "7_5_pooling.ipynb", _text("alice"))
    _zip(
        subs / "mallory.zip",
        {
            "alice/7_5_pooling/7_5_pooling.ipynb": (_text("forged alice"), OLD),
            "bob_7_5_pooling.ipynb": (_text("forged bob"), NEW),
        },
    )
    found, _ = collect(subs, POOLING, tmp_path / "staging")
    rows = _by(found)
    assert {s.student for s in found} == {"alice", "mallory"}  # no row for bob
    alice = rows[("alice", "7_5_pooling")]
    assert alice.path == subs / "alice" / "7_5_pooling" / "7_5_pooling.ipynb"
    assert "# alice" in alice.path.read_text() and alice.note == ""
    mallory = rows[("mallory", "7_5_pooling")]
    assert "forged bob" in mallory.path.read_text()  # the newest of the two
    assert "graded the newest, mallory.zip:bob_7_5_pooling.ipynb" in mallory.note
    assert "passed over mallory.zip:alice/7_5_pooling/7_5_pooling.ipynb" in mallory.note
    assert "names alice" in mallory.note and "names bob" in mallory.note
    assert "counted as mallory's only" in mallory.note
    assert not (tmp_path / "staging" / "alice").exists()
    assert not (tmp_path / "staging" / "bob").exists()


def test_zip_with_unsafe_paths_skips_them_and_keeps_the_rest_its_senders(tmp_path):
    subs = tmp_path / "subs"
    _zip(
        subs / "evil.zip",
        {
            "../../escaped_toy.ipynb": "{}",
            "/tmp/absolute_toy.ipynb": "{}",
            "bob/toy/toy.ipynb": _text("bob?"),
        },
    )
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    assert [(s.student, s.path is not None) for s in found] == [("evil", True)]
    assert "evil.zip:bob/toy/toy.ipynb names bob: counted as evil's only" in found[0].note
    assert sum("unsafe path" in w for w in warnings) == 2
    assert not (tmp_path / "escaped_toy.ipynb").exists()
    assert [p.name for p in (tmp_path / "staging").rglob("*") if p.is_file()] == ["toy.ipynb"]


def test_folder_belongs_to_its_student_at_any_depth(tmp_path):
    subs = tmp_path / "subs"
    _file(subs / "ann" / "work" / "week 7" / "toy.ipynb", _text("ann"))
    _file(subs / "carl" / "bob" / "toy" / "toy.ipynb", _text("carl"))
    _file(subs / "dana" / "dana_toy.ipynb", _text("dana"))
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    rows = _by(found)
    assert {s.student for s in found} == {"ann", "carl", "dana"}
    assert all(rows[(s, "toy")].path is not None for s in ("ann", "carl", "dana"))
    assert rows[("ann", "toy")].note == "" and rows[("dana", "toy")].note == ""
    assert "carl/bob/toy/toy.ipynb names bob: counted as carl's only" in rows[("carl", "toy")].note
    assert warnings == []


def test_two_candidates_grade_the_newest_and_the_note_names_both(tmp_path):
    subs = tmp_path / "subs"
    _file(subs / "alice" / "toy" / "toy.ipynb", _text("older"), mtime=1_700_000_000)
    _file(subs / "alice_toy.ipynb", _text("newer"), mtime=1_700_100_000)
    _file(subs / "bob" / "toy" / "toy.ipynb", _text("bob newer"), mtime=1_700_100_000)
    _file(subs / "bob_toy.ipynb", _text("bob older"), mtime=1_700_000_000)
    found, _ = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    rows = _by(found)
    alice, bob = rows[("alice", "toy")], rows[("bob", "toy")]
    assert alice.path == subs / "alice_toy.ipynb"
    assert alice.note.startswith("2 files for toy.ipynb: graded the newest, alice_toy.ipynb (")
    assert "passed over alice/toy/toy.ipynb (" in alice.note
    assert bob.path == subs / "bob" / "toy" / "toy.ipynb"
    assert "passed over bob_toy.ipynb" in bob.note


def test_two_candidates_in_one_zip_grade_the_newest_member(tmp_path):
    subs = tmp_path / "subs"
    _zip(
        subs / "alice.zip",
        {"toy/toy.ipynb": (_text("new"), NEW), "old/alice_toy.ipynb": (_text("old"), OLD)},
    )
    found, _ = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    (alice,) = found
    assert "# new" in alice.path.read_text()
    assert "graded the newest, alice.zip:toy/toy.ipynb (2024-03-04 12:30:00)" in alice.note
    assert "passed over alice.zip:old/alice_toy.ipynb (2024-01-02 10:00:00)" in alice.note


def test_nested_archives_are_never_extracted(tmp_path):
    subs = tmp_path / "subs"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as inner:
        inner.writestr("zeros.bin", b"\0" * (64 << 20))  # 64 MiB that compress to ~64 KiB
    layer = bomb.getvalue()
    for depth in range(3):  # a zip of zips of zips
        wrapped = io.BytesIO()
        with zipfile.ZipFile(wrapped, "w", zipfile.ZIP_DEFLATED) as outer:
            for copy in range(4):
                outer.writestr(f"layer{depth}_{copy}.zip", layer)
        layer = wrapped.getvalue()
    _zip(subs / "amy.zip", {"toy/toy.ipynb": _text("amy"), "more/inner.zip": layer})
    _zip(subs / "ben.zip", {"ben.tar.gz": "x", "toy.7z": "x", "toy.rar": "x"})
    started = time.monotonic()
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    assert time.monotonic() - started < 5
    assert [(s.student, s.path is not None) for s in found] == [("amy", True)]
    assert "amy.zip: nested archive more/inner.zip not extracted" in warnings
    assert {w for w in warnings if w.startswith("ben.zip")} == {
        "ben.zip: nested archive ben.tar.gz not extracted",
        "ben.zip: nested archive toy.7z not extracted",
        "ben.zip: nested archive toy.rar not extracted",
        "ben.zip: no notebooks inside",
    }
    unpacked = [p for p in (tmp_path / "staging").rglob("*") if p.is_file()]
    assert [p.suffix for p in unpacked] == [".ipynb"]
    assert sum(p.stat().st_size for p in unpacked) < 100_000


def test_only_notebooks_are_unpacked_with_one_warning_per_archive(tmp_path):
    subs = tmp_path / "subs"
    _zip(
        subs / "amy.zip",
        {"toy/toy.ipynb": _text("amy"), "toy/data.csv": "1,2", "notes.txt": "hi", ".hidden": "x"},
    )
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    assert found[0].path is not None
    assert warnings == ["amy.zip: 2 files that are not notebooks skipped"]
    assert [p.name for p in (tmp_path / "staging").rglob("*") if p.is_file()] == ["toy.ipynb"]


def test_symbolic_links_are_not_followed(tmp_path):
    subs = tmp_path / "subs"
    secret = tmp_path / "secret.ipynb"
    secret.write_text(_text("secret"))
    (subs / "ann" / "toy").mkdir(parents=True)
    (subs / "ann" / "toy" / "toy.ipynb").symlink_to(secret)
    _file(subs / "ben" / "toy" / "toy.ipynb", _text("ben"))
    link = zipfile.ZipInfo("toy/toy.ipynb", date_time=NEW)
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(subs / "cid.zip", "w") as archive:
        archive.writestr(link, str(secret))
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    assert [(s.student, s.path is not None) for s in found] == [("ben", True)]
    assert "ann/toy/toy.ipynb: a symbolic link, skipped" in warnings
    assert "cid.zip: toy/toy.ipynb is a symbolic link, skipped" in warnings


def test_per_student_cap_skips_what_does_not_fit_and_says_so(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    text = _text("x")
    monkeypatch.setattr(collect_module, "MAX_STUDENT_UNZIPPED_BYTES", len(text) * 3 // 2)
    _zip(subs / "amy.zip", {"toy/toy.ipynb": text, "7_2_conv_layer.ipynb": text})
    _zip(subs / "ben.zip", {"toy.ipynb": text})
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    rows = _by(found)
    assert rows[("amy", "7_2_conv_layer")].path is not None  # first in order
    skipped = rows[("amy", "toy")]
    assert skipped.path is None
    assert skipped.message == "toy.ipynb could not be unpacked"
    assert "amy.zip:toy/toy.ipynb not unpacked: declares" in skipped.note
    assert "unpacked per student" in skipped.note
    assert any(w.startswith("amy: amy.zip:toy/toy.ipynb not unpacked") for w in warnings)
    assert rows[("ben", "toy")].path is not None  # another student has a budget of their own


def test_per_run_cap_skips_what_does_not_fit_and_says_so(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    text = _text("x")
    monkeypatch.setattr(collect_module, "MAX_RUN_UNZIPPED_BYTES", len(text) * 3 // 2)
    _zip(subs / "amy.zip", {"toy.ipynb": text})
    _zip(subs / "ben.zip", {"toy.ipynb": text})
    _file(subs / "cid" / "toy" / "toy.ipynb", text)  # on disk already: not unpacked
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    rows = _by(found)
    assert rows[("amy", "toy")].path is not None and rows[("cid", "toy")].path is not None
    assert rows[("ben", "toy")].path is None
    assert "unpacked per run" in rows[("ben", "toy")].note
    assert any("ben.zip:toy.ipynb not unpacked" in w and "per run" in w for w in warnings)


def test_a_member_is_never_read_past_the_limit_whatever_it_declares(tmp_path, monkeypatch):
    monkeypatch.setattr(collect_module, "MAX_STUDENT_UNZIPPED_BYTES", 1000)
    served = []

    class Liar:  # an archive whose member declares 10 bytes and holds a gigabyte
        def open(self, member):
            source = io.BytesIO(b"x" * (10 << 20))
            real_read = source.read

            def read(size=-1):
                chunk = real_read(size)
                served.append(len(chunk))
                return chunk

            source.read = read
            return source

    item = collect_module._Item(("toy.ipynb",), "amy.zip:toy.ipynb", 0.0, 10, None, Liar(), None)
    unpacker = collect_module._Unpacker(tmp_path / "staging")
    target = tmp_path / "staging" / "amy" / "toy" / "toy.ipynb"
    path, problem = unpacker.get(item, "amy", target)
    assert path is None and "more than it declares" in problem
    assert sum(served) == 1001 and not target.exists()
    path, problem = unpacker.get(item, "amy", target)  # the student's budget is spent
    assert path is None and "unpacked per student" in problem


def test_member_whose_size_lies_is_not_graded(tmp_path):
    subs = tmp_path / "subs"
    _zip(subs / "amy.zip", {"toy.ipynb": _text("amy")})
    data = bytearray((subs / "amy.zip").read_bytes())
    real = len(_text("amy")).to_bytes(4, "little")
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed sizes
        at = data.index(header) + offset
        assert data[at : at + 4] == real
        data[at : at + 4] = (100).to_bytes(4, "little")
    (subs / "amy.zip").write_bytes(bytes(data))
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    assert found[0].path is None and "could not be unpacked" in found[0].note
    assert list((tmp_path / "staging").rglob("*.ipynb")) == []


def test_bulk_zip_given_as_submissions_is_read_as_the_folder(tmp_path):
    bulk = tmp_path / "download.zip"
    _zip(
        bulk,
        {
            "submissions/alice/toy/toy.ipynb": _text("alice"),
            "submissions/bob_toy.ipynb": _text("bob"),
            "submissions/carol/7_2_conv_layer/7_2_conv_layer.ipynb": _text("carol"),
            "submissions/dave.zip": "a student's zip inside the bulk zip",
            "submissions/../../evil_toy.ipynb": "{}",
        },
    )
    found, warnings = collect(bulk, ASSIGNMENTS, tmp_path / "staging")
    graded = {(s.student, s.notebook) for s in found if s.path is not None}
    assert graded == {("alice", "toy"), ("bob", "toy"), ("carol", "7_2_conv_layer")}
    assert {s.student for s in found} == {"alice", "bob", "carol"}
    assert "# bob" in _by(found)[("bob", "toy")].path.read_text()
    assert "download.zip: nested archive submissions/dave.zip not extracted" in warnings
    assert any("unsafe path" in w for w in warnings)
    assert not (tmp_path / "evil_toy.ipynb").exists()


def test_bulk_zip_caps_each_student(tmp_path, monkeypatch):
    text = _text("x")
    monkeypatch.setattr(collect_module, "MAX_STUDENT_UNZIPPED_BYTES", len(text) * 3 // 2)
    _zip(
        tmp_path / "bulk.zip",
        {"amy/toy/toy.ipynb": text, "amy/7_2_conv_layer.ipynb": text, "ben/toy.ipynb": text},
    )
    found, _ = collect(tmp_path / "bulk.zip", ASSIGNMENTS, tmp_path / "staging")
    rows = _by(found)
    assert rows[("amy", "7_2_conv_layer")].path is not None
    assert rows[("amy", "toy")].path is None and "per student" in rows[("amy", "toy")].note
    assert rows[("ben", "toy")].path is not None


def test_submissions_that_is_neither_folder_nor_zip_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        collect(tmp_path / "nowhere", ASSIGNMENTS, tmp_path / "staging")
    (tmp_path / "grades.csv").write_text("x")
    with pytest.raises(ValueError, match="neither a folder nor a .zip"):
        collect(tmp_path / "grades.csv", ASSIGNMENTS, tmp_path / "staging")
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    with pytest.raises(ValueError, match="not a readable zip"):
        collect(tmp_path / "broken.zip", ASSIGNMENTS, tmp_path / "staging")


@pytest.mark.parametrize("wrapper", ["submitted", "course export"])
def test_a_top_wrapper_folder_is_skipped(tmp_path, wrapper):
    subs = tmp_path / "subs"
    _file(subs / wrapper / "alice" / "toy" / "toy.ipynb", _text("alice"))
    _file(subs / wrapper / "bob_toy.ipynb", _text("bob"))
    _zip(subs / wrapper / "carl.zip", {"toy/toy.ipynb": _text("carl")})
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    assert [(s.student, s.path is not None) for s in found] == [
        ("alice", True),
        ("bob", True),
        ("carl", True),
    ]
    assert warnings == []


def test_a_lone_student_folder_is_not_taken_for_a_wrapper(tmp_path):
    _file(tmp_path / "subs" / "alice" / "toy.ipynb", _text("alice"))
    found, _ = collect(tmp_path / "subs", ASSIGNMENTS, tmp_path / "staging")
    assert [(s.student, s.path is not None) for s in found] == [("alice", True)]


def test_unsafe_student_ids_are_refused_with_a_warning(tmp_path):
    subs = tmp_path / "subs"
    _file(subs / "bad\x07id_toy.ipynb", _text("x"))
    _file(subs / "tab\tid" / "toy" / "toy.ipynb", _text("x"))
    _file(subs / "_toy.ipynb", _text("x"))
    _zip(subs / ("x" * 150 + ".zip"), {"toy.ipynb": _text("x")})
    _file(subs / ".hidden" / "toy" / "toy.ipynb", _text("x"))  # hidden: skipped silently
    _file(subs / "ok" / "toy" / "toy.ipynb", _text("ok"))
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    assert [s.student for s in found] == ["ok"]
    refused = [w for w in warnings if "not a usable student id" in w]
    assert len(refused) == 4, warnings
    assert "'bad?id'" in " ".join(refused) and "'tab?id'" in " ".join(refused)
    bulk = tmp_path / "bulk.zip"
    _zip(bulk, {"bad\x01id/toy/toy.ipynb": _text("x"), "ok/toy.ipynb": _text("ok")})
    found, warnings = collect(bulk, ASSIGNMENTS, tmp_path / "staging2")
    assert [s.student for s in found] == ["ok"]
    assert any("not a usable student id" in w for w in warnings)


def test_misnamed_notebooks_are_reported_in_folders_and_zips(tmp_path):
    subs = tmp_path / "subs"
    _file(subs / "ann" / "toy" / "toy (1).ipynb", _text("ann"))
    _zip(subs / "ben.zip", {"toy/final version.ipynb": _text("ben")})
    _zip(subs / "cid.zip", {"homework.ipynb": _text("cid")})
    found, warnings = collect(subs, ASSIGNMENTS, tmp_path / "staging")
    rows = _by(found)
    assert rows[("ann", "toy")].message == "no toy.ipynb submitted (found toy (1).ipynb: misnamed?)"
    assert rows[("ben", "toy")].message == (
        "no toy.ipynb submitted (found final version.ipynb: misnamed?)"
    )
    assert "cid" not in {s.student for s in found}
    assert "cid: no notebook named after an expected one (found homework.ipynb), skipped" in (
        warnings
    )


def test_an_output_folder_inside_submissions_is_not_a_student(tmp_path):
    subs = tmp_path / "subs"
    _file(subs / "ann" / "toy" / "toy.ipynb", _text("ann"))
    _file(subs / "graded" / "autograded" / "ann" / "toy" / "toy.ipynb", _text("graded"))
    (subs / "graded" / ".convbook").mkdir()
    found, warnings = collect(subs, ASSIGNMENTS, subs / "graded" / ".convbook" / "unzipped")
    assert [s.student for s in found] == ["ann"]
    assert warnings == ["graded: an output folder of convbook grade, skipped"]

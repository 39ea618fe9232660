"""Canvas's and Moodle's bulk downloads, the roster, and ``convbook export`` for each LMS.

The fixtures in ``files/lms`` are laid out as the LMSs name their downloads (see
``convbook.grading.lms``): ``canvas/`` a "Download Submissions" of the toy assignment,
``moodle/`` a "Download all submissions" of it, unzipped; the tests zip them as they come.
File times are set against the order of the uploads, so only the LMS's names can tell
which file is the latest.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from convbook.cli import main as convbook_main
from convbook.grading import collect as collect_module
from convbook.grading.collect import collect
from convbook.grading.export import CANVAS_COLUMNS, CSV_COLUMNS, MOODLE_COLUMNS
from convbook.grading.lms import CANVAS, MOODLE, parse_top, read_roster, resubmission
from convbook.grading.sandbox import missing

from . import planted

LMS = Path(__file__).parent / "files" / "lms"
ROSTER = LMS / "roster.csv"
TOY = {"toy": ["toy"]}
EARLY, LATE = 1_700_000_000, 1_700_500_000  # file times: the first upload gets the LATE one


def _download(tmp_path: Path, lms: str, zipped: bool) -> Path:
    """The fixture download as the instructor has it: a folder, or the LMS's zip."""
    folder = tmp_path / lms
    shutil.copytree(LMS / lms, folder)
    for path in folder.rglob("*.ipynb"):  # the first uploads look newest by date
        again = resubmission(path.stem, CANVAS if lms == "canvas" else MOODLE)
        os.utime(path, (EARLY, EARLY) if again else (LATE, LATE))
    if not zipped:
        return folder
    bulk = tmp_path / f"{lms}.zip"
    with zipfile.ZipFile(bulk, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            when = (2024, 5, 1, 9, 0, 0) if path.stat().st_mtime == EARLY else (2024, 5, 9, 9, 0, 0)
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=when)
            archive.writestr(info, path.read_bytes())
    return bulk


def _tag(submission) -> str:
    return nbformat.read(submission.path, as_version=4).cells[0].source


def _by(found):
    return {(s.student, s.notebook): s for s in found}


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_canvas_download_is_graded_per_user_id_with_the_latest_resubmission(tmp_path, zipped):
    found, warnings = collect(_download(tmp_path, "canvas", zipped), TOY, tmp_path / "staging")
    rows = _by(found)
    assert sorted(rows) == [("123456", "toy"), ("234567", "toy")]
    jane = rows[("123456", "toy")]
    assert _tag(jane) == "# doejane resubmission"  # -1 wins, though its file time is older
    assert (jane.name, jane.lms_id) == ("doejane", "123456")
    assert jane.note.startswith(
        "2 files for toy.ipynb: graded the latest, doejane_123456_7891042_toy-1.ipynb "
        "(resubmission 1, "
    )
    assert "; passed over doejane_123456_7891011_toy.ipynb (" in jane.note
    john = rows[("234567", "toy")]
    assert _tag(john) == "# smithjohn late" and (john.name, john.lms_id) == ("smithjohn", "234567")
    assert john.note.startswith("graded smithjohn_LATE_234567_7891050_toy.ipynb (LATE, ")
    assert (  # as for any student whose only notebook is misnamed
        "345678: no notebook named after an expected one (found homework.ipynb), skipped"
        in warnings
    )
    assert not any("not named" in w or "usable student id" in w for w in warnings), warnings


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_moodle_download_is_graded_per_participant_with_the_latest_resubmission(tmp_path, zipped):
    found, warnings = collect(_download(tmp_path, "moodle", zipped), TOY, tmp_path / "staging")
    rows = _by(found)
    assert sorted(rows) == [("1234567", "toy"), ("2345678", "toy")]
    jane = rows[("1234567", "toy")]
    assert _tag(jane) == "# jane resubmission"  # "toy (1)" wins, though older by date
    assert (jane.name, jane.lms_id) == ("Jane Doe", "1234567")
    folder = "Jane Doe_1234567_assignsubmission_file_/"
    assert f"graded the latest, {folder}toy (1).ipynb (resubmission 1, " in jane.note
    assert f"passed over {folder}toy.ipynb (" in jane.note
    john = rows[("2345678", "toy")]
    assert _tag(john) == "# john" and (john.name, john.lms_id) == ("John Smith", "2345678")
    if zipped:  # the online text entry's page is not a notebook
        assert warnings == ["moodle.zip: 1 file that is not a notebook skipped"]
    else:
        assert warnings == []


def test_roster_maps_lms_ids_to_student_ids_and_grades_unknown_ones_under_their_lms_id(
    tmp_path,
):
    roster = read_roster(ROSTER)
    subs = _download(tmp_path, "canvas", zipped=False)
    found, warnings = collect(subs, TOY, tmp_path / "staging", roster)
    rows = _by(found)
    assert sorted(rows) == [("234567", "toy"), ("jdoe", "toy")]
    jdoe = rows[("jdoe", "toy")]
    assert (jdoe.name, jdoe.lms_id, _tag(jdoe)) == ("Doe, Jane", "123456", "# doejane resubmission")
    assert warnings == [
        "smithjohn_LATE_234567_7891050_toy.ipynb: Canvas user 234567 (smithjohn) is not in "
        "roster roster.csv: graded as 234567",
        "mobrien: no notebook named after an expected one (found homework.ipynb), skipped",
    ]
    # Moodle's worksheet writes "Participant 1234567": the roster may too
    found, warnings = collect(
        _download(tmp_path / "m", "moodle", False), TOY, tmp_path / "s2", roster
    )
    assert sorted(s.student for s in found) == ["2345678", "jdoe"]
    assert [w for w in warnings if "roster" in w] == [
        "John Smith_2345678_assignsubmission_file_/: Moodle participant 2345678 (John Smith) "
        "is not in roster roster.csv: graded as 2345678"
    ]


def test_a_roster_for_a_download_that_is_not_an_lms_one_says_it_was_not_used(tmp_path):
    (tmp_path / "subs" / "ann" / "toy").mkdir(parents=True)
    nbformat.write(planted.solution(), tmp_path / "subs" / "ann" / "toy" / "toy.ipynb")
    found, warnings = collect(tmp_path / "subs", TOY, tmp_path / "staging", read_roster(ROSTER))
    assert [s.student for s in found] == ["ann"] and found[0].lms_id == ""
    assert warnings == [
        "roster roster.csv not used: SUBMISSIONS holds no Canvas or Moodle download"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("student_id,name\njdoe,Jane\n", "line 1: no column lms_id"),
        ("lms_id,student_id,mail\n1,a,x\n", "line 1: unknown column(s) 'mail'"),
        ("lms_id,student_id\n1,a\n2,b\n1,c\n", "line 4: lms_id 1 is already on line 2"),
        ("lms_id,student_id\n1,a\n2,\n", "line 3: no student_id for 2"),
        ("lms_id,student_id\n1,a\n,b\n", "line 3: no lms_id"),
        ("lms_id,student_id\n1,../x\n", "line 2: '../x' is not a usable student id"),
        ("lms_id,student_id\n1,a,extra\n", "line 2: more fields than columns"),
    ],
)
def test_a_bad_roster_is_refused_naming_its_line(tmp_path, text, problem):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="roster .*roster.csv " + re.escape(problem)):
        read_roster(path)


def test_the_lms_prefix_decides_whose_a_file_is_never_the_students_own_file_name(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    text = nbformat.writes(planted.solution())
    # 234567 uploads a file named as if it were 123456's Canvas file
    (subs / "smithjohn_234567_7891099_doejane_123456_7891011_toy.ipynb").write_text(text)
    # Jane's Moodle folder holds a folder named as John's
    inside = (
        subs
        / "Jane Doe_1234567_assignsubmission_file_"
        / "John Smith_2345678_assignsubmission_file_"
    )
    inside.mkdir(parents=True)
    (inside / "toy.ipynb").write_text(text)
    found, _ = collect(subs, TOY, tmp_path / "staging")
    rows = _by(found)
    assert sorted(rows) == [("1234567", "toy"), ("234567", "toy")]
    assert "names doejane_123456_7891011: counted as 234567's only" in rows[("234567", "toy")].note
    assert rows[("1234567", "toy")].path == inside / "toy.ipynb"  # Jane's, whatever it is named


def test_flat_nbgrader_names_with_digit_parts_are_not_taken_for_canvas_ones(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(planted.solution(), subs / "jane_doe_7_2_conv_layer.ipynb")
    found, warnings = collect(subs, {"7_2_conv_layer": ["7_2_conv_layer"]}, tmp_path / "st")
    assert [(s.student, s.lms_id) for s in found] == [("jane_doe", "")] and warnings == []


def test_a_canvas_zip_is_the_users_in_a_folder_and_never_unpacked_in_the_bulk_zip(tmp_path):
    text = nbformat.writes(planted.solution())
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "doejane_123456_7891011_work.zip", "w") as archive:
        archive.writestr("week7/toy.ipynb", text)
    found, _ = collect(subs, TOY, tmp_path / "staging")
    assert [(s.student, s.path is not None) for s in found] == [("123456", True)]
    assert "doejane_123456_7891011_work.zip:week7/toy.ipynb" in found[0].note
    bulk = tmp_path / "bulk.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        archive.write(subs / "doejane_123456_7891011_work.zip", "doejane_123456_7891011_work.zip")
        archive.writestr("smithjohn_234567_7891050_toy.ipynb", text)
    found, warnings = collect(bulk, TOY, tmp_path / "staging2")
    assert [s.student for s in found] == ["234567"]
    assert "bulk.zip: nested archive doejane_123456_7891011_work.zip not extracted" in warnings


def test_the_per_student_cap_holds_for_an_lms_student(tmp_path, monkeypatch):
    text = nbformat.writes(planted.solution())
    monkeypatch.setattr(collect_module, "MAX_STUDENT_UNZIPPED_BYTES", len(text) * 3 // 2)
    bulk = tmp_path / "bulk.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        for name in ("doejane_123456_1_7_2_conv_layer.ipynb", "doejane_123456_2_toy-1.ipynb",
                     "smithjohn_234567_3_toy.ipynb"):  # fmt: skip
            archive.writestr(name, text)
    two = {"7_2_conv_layer": ["7_2_conv_layer"], "toy": ["toy"]}
    found, _ = collect(bulk, two, tmp_path / "staging")
    rows = _by(found)
    assert rows[("123456", "7_2_conv_layer")].path is not None  # first in order
    assert rows[("123456", "toy")].path is None
    assert "per student" in rows[("123456", "toy")].note
    assert rows[("234567", "toy")].path is not None  # a budget of their own


@pytest.mark.parametrize(
    ("name", "folder", "expected"),
    [
        ("doejane_123456_7891011_7_5_pooling.ipynb", False,
         (CANVAS, "123456", "doejane", "7_5_pooling.ipynb", False, 7891011)),
        ("smith_john_LATE_234567_88_a_b.ipynb", False,
         (CANVAS, "234567", "smith_john", "a_b.ipynb", True, 88)),
        ("LATE_anon_Xy3zQ_77_toy.ipynb", False, (CANVAS, "anon_Xy3zQ", "", "toy.ipynb", True, 77)),
        ("leepat_456789_text.html", False, None),
        ("Jane Doe_1234567_assignsubmission_file_", True,
         (MOODLE, "1234567", "Jane Doe", "", False, 0)),
        ("Participant_99_assignsubmission_file_", True, (MOODLE, "99", "", "", False, 0)),
        ("Jane Doe_1234567_assignsubmission_file_toy.ipynb", False,
         (MOODLE, "1234567", "Jane Doe", "toy.ipynb", False, 0)),
        ("Jane Doe_1234567_assignsubmission_file_", False, None),
        ("alice", True, None),
    ],
)  # fmt: skip
def test_lms_names_are_read_as_the_lms_writes_them(name, folder, expected):
    parsed = parse_top(name, folder)
    found = None if parsed is None else (parsed.lms, parsed.lms_id, parsed.name, parsed.rest,
                                         parsed.late, parsed.upload)  # fmt: skip
    assert found == expected


def test_resubmission_suffixes_of_each_lms():
    assert resubmission("7_5_pooling-2", CANVAS) == ("7_5_pooling", 2)
    assert resubmission("toy-0b7e3c1a-1d2e-4f50-8a9b-0c1d2e3f4a5b", CANVAS) == ("toy", 8)
    assert resubmission("toy (3)", MOODLE) == ("toy", 3)
    assert resubmission("toy (3)", CANVAS) is None and resubmission("toy-1", MOODLE) is None


def test_export_refuses_a_folder_that_convbook_grade_did_not_write(tmp_path, capsys):
    assert convbook_main(["export", str(tmp_path), "--format", "csv"]) == 2
    assert f"{tmp_path} is not an output folder of convbook grade" in capsys.readouterr().err
    (tmp_path / ".convbook").mkdir()
    assert convbook_main(["export", str(tmp_path), "--format", "canvas"]) == 2
    assert "no gradebook in" in capsys.readouterr().err
    assert not (tmp_path / "gradebook.db").exists()  # and none was made


# --- End to end: convbook grade on a Canvas zip, then convbook export in each format -----

REPO = Path(__file__).resolve().parents[2]
SLUG = "7_5_pooling"
CONVBOOK = Path(sys.executable).parent / "convbook"


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _export(out: Path, *options: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(CONVBOOK), "export", str(out), *options],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
@pytest.mark.skipif(bool(missing()), reason="no sandbox on this machine")
def test_canvas_zip_graded_by_the_console_script_then_exported_for_each_lms(
    tmp_path, convbook_grade
):
    solution = (REPO / "solutions" / SLUG / f"{SLUG}.ipynb").read_bytes()
    release = (REPO / "exercises" / SLUG / f"{SLUG}.ipynb").read_bytes()
    bulk = tmp_path / "course-7_5_pooling_submissions.zip"
    with zipfile.ZipFile(bulk, "w") as archive:  # as Canvas zips it: flat, one file a member
        for name, data, when in [
            (f"doejane_123456_7891011_{SLUG}.ipynb", release, (2024, 5, 9, 9, 0, 0)),
            (f"doejane_123456_7891042_{SLUG}-1.ipynb", solution, (2024, 5, 1, 9, 0, 0)),
            (f"smithjohn_LATE_234567_7891050_{SLUG}.ipynb", release, (2024, 5, 9, 9, 0, 0)),
        ]:
            archive.writestr(zipfile.ZipInfo(name, date_time=when), data)
    out = tmp_path / "out"
    command = [CONVBOOK, "grade", bulk, "--out", out, "--solutions", REPO / "solutions",
               "--roster", ROSTER, "--jobs", "2", "--no-progress"]  # fmt: skip
    done, rows = convbook_grade(command, out, timeout=900)
    assert sorted(rows) == [("234567", SLUG), ("jdoe", SLUG)]
    jdoe, john = rows[("jdoe", SLUG)], rows[("234567", SLUG)]
    assert jdoe["status"] == "graded" and float(jdoe["score"]) > 0
    assert float(jdoe["score"]) == float(jdoe["max_score"]) - float(jdoe["awaiting_points"])
    assert (
        f"graded the latest, doejane_123456_7891042_{SLUG}-1.ipynb (resubmission 1"
        in (jdoe["message"])
    )
    assert f"passed over doejane_123456_7891011_{SLUG}.ipynb" in jdoe["message"]
    assert (john["status"], float(john["score"])) == ("graded", 0)
    assert f"graded smithjohn_LATE_234567_7891050_{SLUG}.ipynb (LATE" in john["message"]
    assert "Canvas user 234567 (smithjohn) is not in roster roster.csv" in done.stderr
    points, awaiting = jdoe["max_score"], float(jdoe["awaiting_points"])
    assert awaiting > 0  # 7.5 has answers a person grades: the exports must say so

    # Canvas: the gradebook CSV GradebookImporter reads (header, then Points Possible)
    done = _export(out, "--format", "canvas", "--roster", str(ROSTER),
                   "--column", f"{SLUG}=7.5 Pooling (12345)")  # fmt: skip
    assert f"wrote {out / 'export' / 'canvas.csv'}" in done.stdout
    assert (  # the blank release's answer is untouched: nothing awaits a person there
        f"warning: {SLUG}: points await a grader in formgrader for jdoe ({awaiting:g} of "
        f"{points}); their exported scores count only the points given so far\n"
    ) == done.stderr
    header, possible, *students = _read(out / "export" / "canvas.csv")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                      "7.5 Pooling (12345)"] and header[:5] == CANVAS_COLUMNS  # fmt: skip
    assert "Points Possible" in possible[0] and possible[1:] == ["", "", "", "", points]
    assert students == [
        ["smithjohn", "234567", "", "", "", "0"],
        ["Doe, Jane", "123456", "S0001", "jdoe", "Section A", jdoe["score"]],
    ]

    # Moodle: one offline grading worksheet for the assignment
    _export(out, "--format", "moodle", "--roster", str(ROSTER))
    header, *sheet = _read(out / "export" / f"moodle_{SLUG}.csv")
    assert header == MOODLE_COLUMNS == [
        "Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
        "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
        "Feedback comments",
    ]  # fmt: skip
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in sheet}
    assert sorted(by_id) == ["Participant 123456", "Participant 234567"]
    jane = by_id["Participant 123456"]
    assert (jane["Full name"], jane["Email address"], jane["Grade"], jane["Maximum Grade"]) == (
        "Doe, Jane", "jane.doe@example.edu", jdoe["score"], points
    )  # fmt: skip
    assert (jane["Status"], jane["Grade can be changed"]) == ("Submitted for grading", "Yes")
    assert jane["Last modified (grade)"].startswith("20")  # ISO 8601: Moodle's strtotime reads it
    assert f"{awaiting:g} points await a grader" in jane["Feedback comments"]

    # csv: one row per student and assignment
    _export(out, "--format", "csv", "--output", str(tmp_path / "scores.csv"))
    header, *lines = _read(tmp_path / "scores.csv")
    assert header == CSV_COLUMNS
    table = {row[0]: dict(zip(header, row, strict=True)) for row in lines}
    assert sorted(table) == ["234567", "jdoe"]
    assert (table["jdoe"]["lms_id"], table["jdoe"]["score"], table["jdoe"]["max_score"]) == (
        "123456", jdoe["score"], points
    )  # fmt: skip
    assert float(table["jdoe"]["awaiting_manual"]) == awaiting

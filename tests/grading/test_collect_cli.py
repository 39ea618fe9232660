"""End-to-end: a zip handed in by one student cannot grade or replace another's notebook.

Runs ``python -m convbook.grade`` on the toy course twice: on a folder holding an honest
alice and mallory's impersonation zip, then on a bulk ``.zip`` of such a folder.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from convbook.grading.sandbox import missing

from . import planted

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing()), reason="no sandbox on this machine"),
]


def _grade(submissions: Path, out: Path) -> tuple[dict[str, dict[str, str]], str]:
    done = subprocess.run(
        [sys.executable, "-m", "convbook.grade", str(submissions), "--out", str(out),
         "--solutions", str(planted.SOURCE), "--no-progress", "--jobs", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}, done.stderr


def test_impersonation_zip_grades_only_its_sender(tmp_path):
    subs = tmp_path / "subs"
    (subs / "alice" / "toy").mkdir(parents=True)
    nbformat.write(planted.solution(), subs / "alice" / "toy" / "toy.ipynb")
    wrong = nbformat.writes(planted.blank())
    with zipfile.ZipFile(subs / "mallory.zip", "w") as archive:
        archive.writestr(zipfile.ZipInfo("alice/toy/toy.ipynb", (2024, 5, 1, 9, 0, 0)), wrong)
        archive.writestr(zipfile.ZipInfo("bob_toy.ipynb", (2024, 5, 2, 9, 0, 0)), wrong)
        archive.writestr("nested/more.zip", b"never unpacked")

    rows, stderr = _grade(subs, tmp_path / "out")
    assert set(rows) == {"alice", "mallory"}  # no row for bob, who sent nothing
    alice = rows["alice"]
    assert (alice["status"], alice["score"], alice["max_score"]) == ("graded", "3", "3")
    assert alice["message"] == ""
    mallory = rows["mallory"]
    assert (mallory["status"], mallory["score"]) == ("graded", "0")
    assert (
        "graded the newest, mallory.zip:bob_toy.ipynb (2024-05-02 09:00:00)" in (mallory["message"])
    )
    assert "passed over mallory.zip:alice/toy/toy.ipynb" in mallory["message"]
    assert "counted as mallory's only" in mallory["message"]
    assert "mallory.zip: nested archive nested/more.zip not extracted" in stderr

    # The same folder as the instructor's bulk zip: its inner mallory.zip is nested now.
    bulk = tmp_path / "download.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        for path in sorted(subs.rglob("*")):
            if path.is_file():
                archive.write(path, Path("export") / path.relative_to(subs))
    rows, stderr = _grade(bulk, tmp_path / "out_bulk")
    assert set(rows) == {"alice"}
    assert (rows["alice"]["status"], rows["alice"]["score"]) == ("graded", "3")
    assert "download.zip: nested archive export/mallory.zip not extracted" in stderr

"""The command line: ``convbook grade`` and ``python -m convbook.grade``."""

import subprocess
import sys

from convbook.cli import main

from . import planted


def test_module_entry_point_shows_the_grade_options():
    done = subprocess.run(
        [sys.executable, "-m", "convbook.grade", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    assert "--out" in done.stdout and "--jobs" in done.stdout and "--solutions" in done.stdout


def test_missing_submissions_folder_is_a_clear_error(tmp_path, capsys):
    code = main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"),
                 "--solutions", str(planted.SOURCE)])  # fmt: skip
    assert code == 2
    assert "nowhere does not exist" in capsys.readouterr().err

"""Every notebook opens in Colab ready to run: one setup cell and GPU-runtime metadata (issue 7).

Checked for every chapter, solution and exercise notebook:

- cell 1 is exactly the setup cell that ``tools/setup_cell.py`` writes from ``_config.yml``.
  It installs ``convbook[book]`` only where it is not importable (Colab), from the
  repository named there unless ``CONVBOOK_REQUIREMENT`` says otherwise, and installs
  nothing else (no torch reinstall, no pinned d2l that would downgrade NumPy). That it
  really installs, and leaves torch and NumPy alone, is shown in ``test_fresh_install.py``;
- no other cell installs packages;
- the metadata asks Colab for a GPU runtime (``accelerator: GPU``, ``colab.gpuType``) and a
  Python 3 kernel.
"""

import re
import runpy
import shlex
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP = runpy.run_path(str(ROOT / "tools" / "setup_cell.py"))
SETUP_CELL = SETUP["setup_cell"]()
NOTEBOOKS = SETUP["notebooks"]()

# A shell/magic install, or pip called from Python (``subprocess.run([..., "pip", "install"])``).
INSTALL_COMMAND = re.compile(
    r"^\s*[%!]\s*(pip|conda|mamba|uv|apt|apt-get)\b|\bpip[\"',\s]+install\b", re.MULTILINE
)


def _repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(ROOT)) for path in paths]


def test_setup_cell_installs_from_the_repository_in_config():
    default = re.search(r'"CONVBOOK_REQUIREMENT", "([^"]+)"', SETUP_CELL)
    assert default is not None, SETUP_CELL
    assert default.group(1) == f"convbook[book] @ git+{_repository_url()}"


def test_setup_cell_installs_only_convbook_and_only_when_missing():
    lines = SETUP_CELL.splitlines()
    install_lines = [line for line in lines if INSTALL_COMMAND.search(line)]
    assert install_lines == [lines[-1]], "exactly one install, as the last line"
    assert lines[1:4] == ["try:", "    import convbook", "except ImportError:"]
    arguments = shlex.split(lines[-1].strip().removeprefix("%pip install"))
    # One requirement, no pins: torch, numpy and d2l stay as the runtime has them.
    assert [argument for argument in arguments if not argument.startswith("-")] == ["{requirement}"]


def test_there_are_chapter_notebooks_to_check():
    assert any(path.parent.name == "chapters" for path in NOTEBOOKS), "no chapters/*.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_cell_is_the_setup_cell(path: Path):
    cells = _read(path).cells
    assert cells, f"{path.name} has no cells"
    first = cells[0]
    assert first.cell_type == "code", f"cell 1 of {path.name} is {first.cell_type}, not code"
    assert first.source.strip() == SETUP_CELL, (
        f"cell 1 of {path.name} is not the setup cell.\nExpected:\n{SETUP_CELL}\n"
        f"Got:\n{first.source}"
    )
    # the website leaves it out, so that the page opens with its title
    assert "remove-cell" in first.metadata.get("tags", []), "run python tools/setup_cell.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_other_cell_installs_packages(path: Path):
    offenders = [
        f"cell {number}: {match.group(0).strip()}"
        for number, cell in enumerate(_read(path).cells[1:], start=2)
        if cell.cell_type == "code"
        for match in INSTALL_COMMAND.finditer(cell.source)
    ]
    assert not offenders, f"{path.name} installs packages outside the setup cell: {offenders}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_metadata_asks_colab_for_a_gpu_runtime(path: Path):
    metadata = _read(path).metadata
    assert metadata.get("accelerator") == "GPU", f"{path.name}: metadata.accelerator is not GPU"
    colab = metadata.get("colab", {})
    assert colab.get("gpuType"), f"{path.name}: metadata.colab.gpuType is missing"
    kernelspec = metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: kernel is not python3"
    assert kernelspec.get("language") == "python"


# The exercises' shared "how this notebook works" cell, with each answer's points (issue 13).
INTRO = runpy.run_path(str(ROOT / "tools" / "exercise_intro.py"))
EXERCISES = sorted(ROOT.glob("exercises/*/*.ipynb"))


def test_every_solution_has_the_intro_cell_and_every_chapter_the_link_the_tool_writes():
    assert INTRO["main"](["--check"]) == 0, "run python tools/exercise_intro.py"


@pytest.mark.parametrize("path", EXERCISES, ids=_ids(EXERCISES))
def test_chapter_and_exercise_link_to_each_other(path: Path):
    chapter = ROOT / "chapters" / f"{path.stem}.ipynb"
    link_back = f"(../../chapters/{path.stem}.ipynb)"
    assert link_back in _read(path).cells[2].source, f"{path.name} does not link to its chapter"
    assert f"(../exercises/{path.stem}/{path.stem}.ipynb)" in _read(chapter).cells[-1].source


@pytest.mark.parametrize("path", EXERCISES, ids=_ids(EXERCISES))
def test_every_exercise_opens_with_the_shared_intro_and_all_its_points(path: Path):
    nb = _read(path)
    assert re.search(r"^# ", nb.cells[1].source, re.MULTILINE), "the title comes first"
    intro = nb.cells[2]
    assert intro.get("id") == INTRO["CELL_ID"] and INTRO["HOW"] in intro.source
    points = sum(
        float(c.metadata["nbgrader"].get("points", 0))
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    )
    assert f"**Points.** {points:g} in all" in intro.source, "a graded cell is missing"
    for answer in INTRO["answers"](nb):
        assert f"`{answer['grade_id']}` | {answer['points']:g} |" in intro.source


@pytest.mark.parametrize("path", EXERCISES, ids=_ids(EXERCISES))
def test_the_points_table_credits_each_test_to_the_answer_it_calls(path: Path):
    """A test's points go to an answer its code names (8.3 once listed an answer graded by
    a 2-point test as 0 points for an instructor)."""
    nb = _read(ROOT / "solutions" / path.stem / f"{path.stem}.ipynb")
    code = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }
    for answer in INTRO["answers"](nb):
        for test in answer["tests"]:
            named = answer["bound"] & set(re.findall(r"\b\w+\b", code[test]))
            assert named, f"{test} is credited to {answer['grade_id']} but never names it"
        if not answer["tests"]:
            cell = next(
                c
                for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == answer["grade_id"]
            )
            assert cell.cell_type == "markdown", f"{answer['grade_id']} is code no test grades"

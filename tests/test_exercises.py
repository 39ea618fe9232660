"""Every exercise notebook, released and graded by ``convbook grade`` (issues 5 and 12).

Submissions are made from the committed release (``exercises/<slug>/``): the solution's
answers, the blank release, the planted answers of ``tests/files/planted/<slug>.py`` and
correct answers that warn on stderr. All of them are graded in one run of the
``convbook grade`` console script, the command instructors run; the course it builds from
``solutions/`` must regenerate the committed release exactly.

A new notebook needs no change here: add its planted answers file.
"""

import csv
import os
import runpy
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from convbook.grading.course import GradeScore, autograde, make_course, scores, submit

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "exercises"
PLANTED_DIR = Path(__file__).parent / "files" / "planted"
SLUGS = sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb") if p.stem == p.parent.name)

# The grading kernels: the smallest budget, no progress bars, one thread each (two kernels
# share the CPU, and oversubscribed BLAS threads make small models 30x slower).
KERNEL_ENV = {
    "CONVBOOK_BUDGET": "smoke",
    "CONVBOOK_PROGRESS": "0",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
}
AUTOGRADE_TIMEOUT = 1800  # seconds for the whole run; a hung kernel must not hang CI


@dataclass(frozen=True)
class Planted:
    """One planted answer (see tests/files/planted/README.md)."""

    slug: str
    cell: str
    why: str
    source: str
    expect: str
    tests: tuple[str, ...]
    round: int

    @property
    def id(self) -> str:
        return f"{self.slug}-{self.cell}-{self.why.split(':')[0].split(' (')[0]}"


def load_planted(slug: str) -> list[Planted]:
    path = PLANTED_DIR / f"{slug}.py"
    if not path.is_file():
        return []
    answers, position = [], {}
    for entry in runpy.run_path(str(path))["PLANTED"]:
        expect = entry.get("expect", "less")
        if expect not in ("less", "full"):
            raise ValueError(f"{path}: expect must be 'less' or 'full', got {expect!r}")
        default_round = 0
        if expect == "less":
            position[entry["cell"]] = position.get(entry["cell"], 0) + 1
            default_round = position[entry["cell"]]
        answers.append(
            Planted(
                slug=slug,
                cell=entry["cell"],
                why=entry["why"],
                source=entry["source"].strip("\n"),
                expect=expect,
                tests=tuple(entry.get("tests", ())),
                round=entry.get("round", default_round),
            )
        )
    return answers


PLANTED = {slug: load_planted(slug) for slug in SLUGS}
WRONG = [p for slug in SLUGS for p in PLANTED[slug] if p.expect == "less"]
ROUNDS = sorted({(p.slug, p.round) for p in WRONG})


def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


def autograded_tests(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """``{grade_id: points}`` of the code cells nbgrader scores itself."""
    return {
        _nbgrader(c)["grade_id"]: float(_nbgrader(c)["points"])
        for c in notebook.cells
        if c.cell_type == "code" and _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")
    }


def solution_sources(notebook: nbformat.NotebookNode) -> dict[str, str]:
    return {
        _nbgrader(c)["grade_id"]: c.source for c in notebook.cells if _nbgrader(c).get("solution")
    }


def read_solution(slug: str) -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / slug / f"{slug}.ipynb", as_version=4)


def student_notebook(
    release: nbformat.NotebookNode, answers: dict[str, str], drop_tests: bool = False
) -> nbformat.NotebookNode:
    """The release with some solution cells filled in (and maybe its test cells deleted)."""
    notebook = nbformat.from_dict(release)
    cells = []
    for cell in notebook.cells:
        meta = _nbgrader(cell)
        if drop_tests and meta.get("grade") and meta.get("locked"):
            continue
        if meta.get("solution") and meta["grade_id"] in answers:
            cell.source = answers[meta["grade_id"]]
        cells.append(cell)
    notebook.cells = cells
    return notebook


def submissions(slug: str, release: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Student id -> notebook, for every variant of one exercise notebook."""
    solved = solution_sources(read_solution(slug))
    variants = {
        "solution": student_notebook(release, solved),
        "blank": student_notebook(release, {}),
    }
    full = {p.cell: p.source for p in PLANTED[slug] if p.expect == "full"}
    variants["full"] = student_notebook(release, {**solved, **full}, drop_tests=True)
    for number in sorted({p.round for p in WRONG if p.slug == slug}):
        planted = {p.cell: p.source for p in WRONG if p.slug == slug and p.round == number}
        variants[f"round{number}"] = student_notebook(release, {**solved, **planted})
    return variants


def _selected_slugs(session: pytest.Session) -> list[str]:
    """The notebooks the selected tests need (so ``-k 7_5`` grades only 7.5)."""
    slugs = set()
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "slug" in params:
            slugs.add(params["slug"])
        if "planted" in params:
            slugs.add(params["planted"].slug)
    return sorted(slugs)


@pytest.fixture(scope="session")
def graded(request, tmp_path_factory) -> dict:
    """Grade every variant of every selected notebook once, with the ``convbook grade``
    console script, as an instructor would. Returns ``{"scores": {(slug, student):
    {grade_id: GradeScore}}, "rows": {(slug, student): CSV row}, "courses": {slug: Path}}``."""
    root = tmp_path_factory.mktemp("grading")
    slugs = _selected_slugs(request.session)
    env = {**KERNEL_ENV}
    if "CONVBOOK_DATA_DIR" in os.environ:
        env["CONVBOOK_DATA_DIR"] = os.environ["CONVBOOK_DATA_DIR"]
    folder, out = root / "submissions", root / "out"
    students = []
    for slug in slugs:
        release = nbformat.read(EXERCISES / slug / f"{slug}.ipynb", as_version=4)
        for student, notebook in submissions(slug, release).items():
            (folder / student / slug).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, folder / student / slug / f"{slug}.ipynb")
            students.append((slug, student))
    command = [Path(sys.executable).with_name("convbook"), "grade", folder, "--out", out,
               "--solutions", SOLUTIONS, "--no-progress", "--jobs", "2"]  # fmt: skip
    done = subprocess.run(
        [str(part) for part in command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=AUTOGRADE_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out / "grades.csv", newline="") as handle:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(handle)}
    return {
        "scores": {key: scores(out, *key)[key[0]] for key in students},
        "rows": rows,
        "courses": {slug: out / ".convbook" / "course" for slug in slugs},
        "env": env,
        "root": root,
    }


def _autograded_scores(graded: dict, slug: str, student: str) -> dict[str, GradeScore]:
    tests = autograded_tests(read_solution(slug))
    cells = graded["scores"][(slug, student)]
    missing = sorted(set(tests) - set(cells))
    assert not missing, f"{slug}/{student}: nbgrader recorded no grade for {missing}"
    return {grade_id: cells[grade_id] for grade_id in tests}


def _table(cells: dict[str, GradeScore]) -> str:
    return ", ".join(f"{name} {c.score:g}/{c.max_score:g}" for name, c in cells.items())


def _normalised(path: Path) -> dict:
    notebook = nbformat.read(path, as_version=4)
    return {
        "metadata": notebook.metadata,
        "cells": [
            {
                "id": cell.get("id"),
                "type": cell.cell_type,
                "source": cell.source,
                "metadata": cell.metadata,
                "outputs": cell.get("outputs", []),
            }
            for cell in notebook.cells
        ],
    }


@pytest.mark.parametrize("slug", SLUGS)
def test_release_regenerated_from_solutions_matches_exercises(graded, slug):
    regenerated = graded["courses"][slug] / "exercises" / slug / f"{slug}.ipynb"
    committed = EXERCISES / slug / f"{slug}.ipynb"
    assert committed.is_file(), f"{committed} is missing: run python tools/release.py {slug}"
    new, old = _normalised(regenerated), _normalised(committed)
    assert new["metadata"] == old["metadata"], f"{slug}: notebook metadata differ"
    assert len(new["cells"]) == len(old["cells"]), (
        f"{slug}: the release has {len(old['cells'])} cells, a fresh one {len(new['cells'])}"
    )
    for index, (fresh, stale) in enumerate(zip(new["cells"], old["cells"], strict=True)):
        assert fresh == stale, (
            f"{slug}: cell {index} of exercises/ is out of date; run python tools/release.py"
        )


@pytest.mark.parametrize("slug", SLUGS)
def test_solution_scores_full_autograded_points(graded, slug):
    row = graded["rows"][(slug, "solution")]
    assert row["status"] == "graded", f"{slug}: the solution is {row['status']}: {row['message']}"
    cells = _autograded_scores(graded, slug, "solution")
    assert cells, f"{slug} has no autograded test cells"
    lost = {k: c for k, c in cells.items() if c.score != c.max_score}
    assert not lost, f"{slug}: the solution loses points: {_table(lost)}"


@pytest.mark.parametrize("slug", SLUGS)
def test_blank_release_scores_zero(graded, slug):
    cells = graded["scores"][(slug, "blank")]
    earned = {k: c for k, c in cells.items() if c.score}
    assert not earned, f"{slug}: the blank release earns points: {_table(earned)}"


@pytest.mark.parametrize("slug", SLUGS)
def test_warning_answers_and_deleted_test_cells_keep_full_points(graded, slug):
    cells = _autograded_scores(graded, slug, "full")
    lost = {k: c for k, c in cells.items() if c.score != c.max_score}
    warned = [p.why for p in PLANTED[slug] if p.expect == "full"]
    assert not lost, (
        f"{slug}: correct answers {warned} with the test cells deleted lose points: {_table(lost)}"
    )


def test_without_ignore_pattern_the_warning_answers_would_lose_points(graded):
    """The control for the test above: the warnings really reach stderr, and only the
    IgnorePattern setting in nbgrader_config.py keeps them from zeroing the test cell."""
    warned = [s for s in graded["courses"] if any(p.expect == "full" for p in PLANTED[s])]
    if not warned:
        pytest.skip("no selected notebook has a planted answer that warns")
    slug = warned[0]
    # bare nbgrader with the course's settings, as tools/release.py and instructors use them
    course = make_course(graded["root"] / "control", [slug], solutions=SOLUTIONS)
    release = nbformat.read(EXERCISES / slug / f"{slug}.ipynb", as_version=4)
    submit(course, "full", slug, submissions(slug, release)["full"], name=f"{slug}.ipynb")
    options = ["--IgnorePattern.enabled=False"]
    autograde(course, slug, "full", options=options, env=graded["env"], timeout=600)
    cells = {k: v for k, v in scores(course, slug, "full")[slug].items()}
    tests = autograded_tests(read_solution(slug))
    lost = {k: cells[k] for k in tests if cells[k].score != cells[k].max_score}
    assert lost, f"{slug}: no warning reached stderr, so the warning answers test nothing"


@pytest.mark.parametrize("planted", WRONG, ids=lambda p: p.id)
def test_planted_wrong_answer_loses_points(graded, planted):
    cells = _autograded_scores(graded, planted.slug, f"round{planted.round}")
    unknown = sorted(set(planted.tests) - set(cells))
    assert not unknown, f"{planted.id}: no autograded test cells named {unknown}"
    full = {k: cells[k] for k in planted.tests if cells[k].score == cells[k].max_score}
    assert planted.tests, f"{planted.id}: name the test cells it must fail"
    assert not full, f"{planted.id} ({planted.why}) still scores full on {_table(full)}"


@pytest.mark.parametrize(("slug", "number"), ROUNDS, ids=[f"{s}-round{n}" for s, n in ROUNDS])
def test_planted_answers_cost_points_only_where_declared(graded, slug, number):
    targets = {t for p in WRONG if p.slug == slug and p.round == number for t in p.tests}
    cells = _autograded_scores(graded, slug, f"round{number}")
    collateral = {k: c for k, c in cells.items() if k not in targets and c.score != c.max_score}
    assert not collateral, (
        f"{slug} round {number}: test cells no planted answer names lose points: "
        f"{_table(collateral)} (list them in the answer's tests or use another round)"
    )


@pytest.mark.parametrize("slug", SLUGS)
def test_every_autograded_test_cell_is_failed_by_a_planted_answer(slug):
    notebook = read_solution(slug)
    tests, solutions = autograded_tests(notebook), solution_sources(notebook)
    for planted in PLANTED[slug]:
        assert planted.cell in solutions, f"{planted.id}: no solution cell {planted.cell!r}"
        unknown = sorted(set(planted.tests) - set(tests))
        assert not unknown, f"{planted.id}: no autograded test cells named {unknown}"
    covered = {t for p in PLANTED[slug] if p.expect == "less" for t in p.tests}
    uncovered = sorted(set(tests) - covered)
    assert not uncovered, (
        f"{slug}: no planted wrong answer in tests/files/planted/{slug}.py fails {uncovered}"
    )

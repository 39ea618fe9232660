"""Every exercise notebook, released and graded by ``convbook grade`` (issues 5 and 12).

Submissions are made from the committed release (``exercises/<slug>/``) with the planted
answers of ``tests/files/planted/<slug>.py``: wrong answers that must lose their points,
and correct answers written differently from the solution (or that warn on stderr) that
must keep them. All of them are graded in one run of the ``convbook grade`` console
script, the command instructors run; the course it builds from ``solutions/`` must
regenerate the committed release exactly. The solutions themselves and the blank
releases are graded through the wheel's console script in ``test_fresh_install.py``.

A new notebook needs no change here: add its planted answers file.
"""

import html.parser
import json
import os
import re
import runpy
import shutil
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
        # Answers to one cell go to separate submissions: the first of each kind to round 1,
        # the next to round 2, ...
        position[expect, entry["cell"]] = position.get((expect, entry["cell"]), 0) + 1
        default_round = position[expect, entry["cell"]]
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
RIGHT = [p for slug in SLUGS for p in PLANTED[slug] if p.expect == "full"]
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
    # The solution itself and the blank release are graded through the wheel's console
    # script in test_fresh_install.py; here come the other answers.
    variants = {}
    for number in sorted({p.round for p in RIGHT if p.slug == slug} | {1}):
        right = {p.cell: p.source for p in RIGHT if p.slug == slug and p.round == number}
        # the first round also deletes its test cells: grading must restore them
        name = "full" if number == 1 else f"full{number}"
        variants[name] = student_notebook(release, {**solved, **right}, drop_tests=number == 1)
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
def graded(request, tmp_path_factory, convbook_grade) -> dict:
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
    _, by_student = convbook_grade(
        command, out, timeout=AUTOGRADE_TIMEOUT, env={**os.environ, **env}
    )
    rows = {(assignment, student): row for (student, assignment), row in by_student.items()}
    return {
        "scores": {key: scores(out, *key)[key[0]] for key in students},
        "rows": rows,
        "courses": {slug: out / ".convbook" / "course" for slug in slugs},
        "env": env,
        "root": root,
        "command": command,
        "out": out,
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
def test_other_correct_answers_and_deleted_test_cells_keep_full_points(graded, slug):
    """Correct answers written differently from the solution (other layers, ``bias=False``,
    another algorithm, answers that warn on stderr) earn every autograded point; the first
    round's submission also has its test cells deleted."""
    rounds = sorted({p.round for p in RIGHT if p.slug == slug} | {1})
    for number in rounds:
        student = "full" if number == 1 else f"full{number}"
        cells = _autograded_scores(graded, slug, student)
        lost = {k: c for k, c in cells.items() if c.score != c.max_score}
        right = [p.why for p in RIGHT if p.slug == slug and p.round == number]
        assert not lost, f"{slug} {student}: correct answers {right} lose points: {_table(lost)}"


def test_without_ignore_pattern_the_warning_answers_would_lose_points(graded):
    """The control for the test above: the warnings really reach stderr, and only the
    IgnorePattern setting in nbgrader_config.py keeps them from zeroing the test cell."""
    warned = [
        s
        for s in graded["courses"]
        if any(p.round == 1 and "warn" in p.why.lower() for p in RIGHT if p.slug == s)
    ]
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


# ---------------------------------------------------------------------------------------
# Feedback pages (issue 14): the pages of the run above in each mode. Another mode is a
# re-run of the same command with --feedback, which must regrade nothing.


class _Text(html.parser.HTMLParser):
    """The text a reader sees on a page (no scripts or styles), tags and entities removed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.hidden += tag in ("script", "style")

    def handle_endtag(self, tag) -> None:
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data) -> None:
        if not self.hidden:
            self.parts.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


@pytest.fixture(scope="session")
def feedback(graded, convbook_grade) -> dict:
    """Copies of ``OUT/feedback`` in each mode: ``messages`` from the run above (the
    default), then ``full`` and ``score`` from re-runs. Before the ``score`` run, a file
    stands where the pages of student ``full`` go, so theirs cannot be written."""
    out, root = graded["out"], graded["root"]
    copies, runs = {}, {}
    for mode in ("messages", "full", "score"):
        if mode != "messages":
            if mode == "score":
                shutil.rmtree(out / "feedback" / "full")
                (out / "feedback" / "full").write_text("in the way")
            done, by_student = convbook_grade(
                [*graded["command"], "--feedback", mode],
                graded["out"],
                timeout=600,
                env={**os.environ, **graded["env"]},
            )
            rows = {(a, student): row for (student, a), row in by_student.items()}
            runs[mode] = {
                "stdout": done.stdout,
                "stderr": done.stderr,
                "regraded": json.loads((out / ".convbook" / "last_run.json").read_text()),
                "rows": rows,
                "recorded": json.loads((out / "feedback.json").read_text()),
            }
        copies[mode] = root / f"feedback-{mode}"
        shutil.copytree(out / "feedback", copies[mode])
    (out / "feedback" / "full").unlink()
    return {"copies": copies, "runs": runs}


def hidden_failures(graded: dict, slug: str) -> list[dict]:
    """Failed test cells whose failing line is in a hidden-test block, per student.

    Read from the executed notebooks the command keeps (``OUT/autograded``): the frames of
    the test's own code name their lines (``<grade_id>:LINE``); one of them must lie in
    the hidden block (a helper the test defines above it may raise for a hidden call)."""
    sources = {
        _nbgrader(c)["grade_id"]: c.source
        for c in read_solution(slug).cells
        if _nbgrader(c).get("grade") and "BEGIN HIDDEN TESTS" in c.source
    }
    found = []
    for path in sorted((graded["out"] / "autograded").glob(f"*/{slug}/{slug}.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = _nbgrader(cell).get("grade_id")
            if grade_id not in sources:
                continue
            lines = sources[grade_id].splitlines()
            begin = next(i for i, line in enumerate(lines, 1) if "BEGIN HIDDEN TESTS" in line)
            end = next(i for i, line in enumerate(lines, 1) if "END HIDDEN TESTS" in line)
            hidden = [line.strip() for line in lines[begin : end - 1] if line.strip()]
            frames = cell.metadata.get("convbook", {}).get("failed_at_lines", [])
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error":
                    continue
                if any(begin < int(line) < end for line in frames):
                    found.append(
                        {
                            "student": path.parents[1].name,
                            "grade_id": grade_id,
                            "message": f"{output.ename}: {output.evalue.strip().splitlines()[0]}",
                            "hidden": hidden,
                        }
                    )
    return found


def _secret(line: str, release_text: str) -> bool:
    """A hidden-test line worth looking for: not a comment, not short, not also shown to
    students elsewhere in the release (``assert_close_to(`` is)."""
    return len(line) >= 12 and not line.startswith("#") and line not in release_text


@pytest.mark.parametrize("slug", SLUGS)
def test_feedback_modes_show_failure_messages_but_hide_hidden_tests(graded, feedback, slug):
    """For a check that failed inside a hidden block: ``messages`` shows its failure
    message and none of the hidden lines, ``full`` shows both, ``score`` neither."""
    failures = hidden_failures(graded, slug)
    assert failures, f"{slug}: no planted answer fails a hidden check (add one that does)"
    release_text = (EXERCISES / slug / f"{slug}.ipynb").read_text(encoding="utf-8")
    release_text = "\n".join(c.source for c in nbformat.reads(release_text, as_version=4).cells)
    for failure in failures:
        where = f"{slug}/{failure['student']}/{failure['grade_id']}"
        secrets = [line for line in failure["hidden"] if _secret(line, release_text)]
        assert secrets, f"{where}: no hidden line to look for"
        text = {
            mode: page_text(copy / failure["student"] / slug / f"{slug}.html")
            for mode, copy in feedback["copies"].items()
        }
        assert failure["message"] in text["messages"], f"{where}: failure message not shown"
        assert failure["message"] in text["full"], f"{where}: failure message not in full"
        assert failure["message"] not in text["score"], f"{where}: score page shows messages"
        for line in secrets:
            assert line not in text["messages"], f"{where}: messages page shows {line!r}"
            assert line not in text["score"], f"{where}: score page shows {line!r}"
            assert line in text["full"], f"{where}: full page lacks the hidden line {line!r}"
        assert "lines of hidden tests, not shown" in text["messages"]


def test_feedback_summary_lists_every_graded_item_with_points_and_links(graded, feedback):
    """Every page opens with the summary: each graded cell, its points and status, linked
    to its cell; written answers await a grader."""
    for slug in graded["courses"]:
        graded_cells = [
            _nbgrader(c)["grade_id"] for c in read_solution(slug).cells if _nbgrader(c).get("grade")
        ]
        page = (feedback["copies"]["messages"] / "round1" / slug / f"{slug}.html").read_text()
        summary = page[page.index('id="convbook-summary"') :].split("</table>")[0]
        assert page.index('id="convbook-summary"') < page.index("cell-id=")  # above the cells
        for grade_id in graded_cells:
            assert f'href="#{grade_id}"' in summary, f"{slug}: {grade_id} not in the summary"
        manual = [c for c in read_solution(slug).cells if c.cell_type == "markdown"
                  and _nbgrader(c).get("grade")]  # fmt: skip
        assert not manual or "awaiting a grader" in summary, slug
        assert "failed" in summary, f"{slug}: round1 fails a test, the summary says none did"


def test_another_feedback_mode_rewrites_the_pages_without_regrading(graded, feedback):
    for mode, run in feedback["runs"].items():
        assert run["regraded"] == [], f"--feedback {mode} regraded {run['regraded']}"
        assert f"feedback: {mode}" in run["stdout"]
        assert run["recorded"]["mode"] == mode
        scores = {key: row["score"] for key, row in run["rows"].items()}
        assert scores == {key: row["score"] for key, row in graded["rows"].items()}


def test_a_page_that_cannot_be_written_is_reported_for_that_student_only(graded, feedback):
    run = feedback["runs"]["score"]
    for (slug, student), row in run["rows"].items():
        page = feedback["copies"]["score"] / student / slug / f"{slug}.html"
        if student == "full":
            assert "feedback page not written" in row["message"], row
            assert f"full/{slug}" in run["stderr"]
        else:
            assert "not written" not in row["message"] and page.is_file(), (slug, student)


# TeX left as text: a $...$ span holding a command, sub- or superscript, or a bare command.
RAW_LATEX = r"\$[^$\n]{0,60}[\\^_{}][^$\n]{0,60}\$|\\(?:times|frac|max|approx|sum|cdot|ne|le|ge)\b"


def test_feedback_pages_typeset_math_offline_in_a_browser(graded, feedback, page, serve,
                                                          external_requests):  # fmt: skip
    """Each assignment's ``messages`` page in headless Chromium: MathJax from the
    feedback folder typesets every formula, no raw LaTeX is left and nothing is asked of
    the internet or missing."""
    url = serve(feedback["copies"]["messages"])
    missing = []
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and not r.url.endswith("/favicon.ico")  # the browser's own guess
            and missing.append(f"{r.status} {r.url}")
        ),
    )
    for slug in graded["courses"]:
        address = f"{url}/round1/{slug}/{slug}.html"
        response = page.goto(address, wait_until="load")
        assert response is not None and response.ok, address
        page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
        formulas = page.locator(".text_cell_render mjx-container").count()
        shown = nbformat.read(graded["out"] / "autograded" / "round1" / slug / f"{slug}.ipynb", 4)
        if any("$" in c.source for c in shown.cells if c.cell_type == "markdown"):
            assert formulas > 0, f"{slug}: no formula typeset"
        assert page.locator("mjx-merror").count() == 0, f"{slug}: MathJax errors"
        prose = "\n".join(page.locator(".text_cell_render").all_inner_texts())
        raw = re.findall(RAW_LATEX, prose)
        assert not raw, f"{slug}: raw LaTeX on the page: {raw[:5]}"
    assert not missing, missing
    assert external_requests == []

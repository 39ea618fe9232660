"""``convbook formgrade OUT``: nbgrader's formgrader on a graded OUT (issue 22).

Two students of 7.5 are graded once with the ``convbook`` console script (one hands in
the solution, one the blank release); ``convbook formgrade`` is started as an instructor
would, and headless Chromium grades a written answer by clicking through formgrader, with
every request that leaves 127.0.0.1 blocked and recorded (``tests/conftest.py``).
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CONVBOOK = Path(sys.executable).with_name("convbook")
SLUG = "7_5_pooling"
ANSWER = "answer_max_pool_layers"  # a written answer (markdown, 1 point) holding math
SCORE, COMMENT = 0.5, "Right idea; say why a ReLU follows every layer."
URL = re.compile(r"^http://127\.0\.0\.1:(\d+)/formgrader\?token=(\S+)$")
ENV = {**os.environ, "CONVBOOK_BUDGET": "smoke", "CONVBOOK_PROGRESS": "0"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, convbook_grade) -> dict:
    """OUT after ``convbook grade``: alice handed in the solution, bob the blank release."""
    root = tmp_path_factory.mktemp("formgrade")
    submissions, out = root / "submissions", root / "out"
    for student, folder in (("alice", "solutions"), ("bob", "exercises")):
        (submissions / student / SLUG).mkdir(parents=True)
        source = ROOT / folder / SLUG / f"{SLUG}.ipynb"
        (submissions / student / SLUG / f"{SLUG}.ipynb").write_bytes(source.read_bytes())
    command = [CONVBOOK, "grade", submissions, "--out", out, "--solutions", ROOT / "solutions",
               "--no-progress", "--jobs", "2"]  # fmt: skip
    _, rows = convbook_grade(command, out, timeout=900, env=ENV)
    assert rows[("alice", SLUG)]["status"] == "graded", rows
    return {"out": out, "command": command, "rows": rows, "root": root}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Formgrader:
    """``convbook formgrade OUT`` running as a subprocess in a session of its own."""

    def __init__(self, out: Path, log: Path, *options: str) -> None:
        self.log = log
        command = [CONVBOOK, "formgrade", out, "--allow-root", "--port", str(_free_port())]
        self.process = subprocess.Popen(
            [str(part) for part in [*command, *options]],
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            start_new_session=True,  # its own process group: what is left can be found
            env=ENV,
        )
        self.url = self._read_url(timeout=90)

    def _read_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 1)
            if ready:
                line = self.process.stdout.readline()
                if URL.match(line.strip()):
                    return line.strip()
            if self.process.poll() is not None:
                break
        self.stop()
        pytest.fail(f"convbook formgrade printed no URL:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        """Ctrl-C, as at a terminal; returns the exit status once it has exited."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)

    def processes_left(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.fixture
def formgrader(graded, tmp_path):
    server = Formgrader(graded["out"], tmp_path / "formgrade.log")
    yield server
    server.stop()


def _grade_and_comment(out: Path, student: str) -> tuple:
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(SLUG, SLUG, student)
        grade = next(g for g in notebook.grades if g.name == ANSWER)
        comment = next(c for c in notebook.comments if c.name == ANSWER)
        return grade.manual_score, grade.score, comment.manual_comment


@pytest.mark.slow
@pytest.mark.browser
def test_a_written_answer_graded_in_the_browser_counts_after_regrading(
    graded, formgrader, page, external_requests, convbook_grade
):
    """Manual Grading → assignment → notebook → alice's submission, by clicking: the answer's
    math is typeset by the local MathJax, a score and a comment are saved in the gradebook,
    nothing is asked of the internet, and the next ``convbook grade`` counts the points in
    grades.csv and on the feedback page's summary, keeping the score and the comment."""
    asked_before = len(external_requests)
    out = graded["out"]
    page.goto(formgrader.url)
    page.wait_for_selector("td.num-submissions")
    assert page.locator("td.name").all_inner_texts() == [SLUG]
    assert page.locator("td.num-submissions").inner_text() == "2"

    page.locator("ul.nav").get_by_role("link", name="Manual Grading").click()  # the sidebar
    page.get_by_role("link", name=SLUG, exact=True).click()
    page.wait_for_url(f"**/formgrader/gradebook/{SLUG}")
    page.get_by_role("link", name=SLUG, exact=True).click()
    page.wait_for_url(f"**/formgrader/gradebook/{SLUG}/{SLUG}")
    page.get_by_role("link", name="Submission #2").wait_for()  # both rows are listed
    page.get_by_role("button", name="Show All Names").click()
    page.get_by_role("link", name="alice", exact=True).click()
    page.wait_for_url("**/formgrader/submissions/*/")

    answer = page.locator(".nbgrader_cell", has=page.locator(f"input.score[id='{ANSWER}']"))
    assert "tournament" in answer.inner_text()  # alice's written answer
    page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")
    assert answer.locator("mjx-container").count() > 0, "the answer's math was not typeset"
    assert page.locator("mjx-merror").count() == 0

    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.ok) as saved:
        page.locator(f"input.score[id='{ANSWER}']").fill(str(SCORE))
        page.locator(f"input.score[id='{ANSWER}']").press("Tab")
    assert saved.value.request.method == "PUT"
    with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url and r.ok):
        page.locator(f"textarea[id='{ANSWER}-comment']").fill(COMMENT)
        page.locator(f"textarea[id='{ANSWER}-comment']").press("Tab")
    ARTIFACTS.mkdir(exist_ok=True)
    # The answer's heading (its score) just below formgrader's fixed navigation bar, once
    # formgrader's own scrolling to the next field (after Tab) is stopped.
    page.wait_for_function("() => !$('body, html').is(':animated')")
    answer.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY - 70)")
    page.screenshot(path=str(ARTIFACTS / "formgrader_graded_answer.png"))
    assert _grade_and_comment(out, "alice") == (SCORE, SCORE, COMMENT)
    assert external_requests[asked_before:] == []

    _, rows = convbook_grade(graded["command"], out, timeout=900, env=ENV)
    autograded = float(graded["rows"][("alice", SLUG)]["score"])
    assert float(rows[("alice", SLUG)]["score"]) == autograded + SCORE, rows
    assert rows[("bob", SLUG)] == graded["rows"][("bob", SLUG)]
    feedback = (out / "feedback" / "alice" / SLUG / f"{SLUG}.html").read_text()
    summary = feedback[feedback.index('id="convbook-summary"') :].split("</table>")[0]
    assert f"Score: {autograded + SCORE:g} / " in summary
    row = next(r for r in summary.split("<tr>") if f"#{ANSWER}" in r)
    assert f"{SCORE:g} / 1" in row and "graded by a person" in row, row
    assert _grade_and_comment(out, "alice") == (SCORE, SCORE, COMMENT)

    assert formgrader.stop() == 0
    assert not formgrader.processes_left()


@pytest.mark.slow
@pytest.mark.browser
def test_formgrader_offers_nothing_that_bypasses_convbook_grade(graded, formgrader, page):
    """No edit, generate, preview, release, collect, autograde or feedback button, no way to
    add an assignment, no exchange banner; the server refuses those requests itself and
    serves none of Jupyter's own APIs."""
    page.goto(formgrader.url)
    page.wait_for_selector("td.num-submissions a")
    headers = [h.strip() for h in page.locator("thead th:visible").all_inner_texts()]
    assert headers == ["Name", "Due Date", "Status", "# Submissions"]
    for hidden in ("td.edit", "td.assign", "td.release", "td.collect", "td.generate-feedback"):
        assert page.locator(hidden).count() == 1, hidden  # there, for nbgrader's script
        assert not page.locator(hidden).is_visible(), hidden
    assert page.get_by_text("Add new assignment").count() == 0
    assert page.locator("#warning-exchange, #warning-course-id, #collapseConfig").count() == 0
    assert page.locator("td.name a[href]").count() == 0  # no link to a file browser
    page.locator("td.num-submissions a").click()
    page.wait_for_selector("td.student-id")
    assert sorted(page.locator("td.student-id").all_inner_texts()) == ["alice", "bob"]
    headers = [h.strip() for h in page.locator("thead th:visible").all_inner_texts()]
    assert headers == ["Student Name", "Student ID", "Timestamp", "Status", "Score"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "formgrader_submissions.png"))

    base, token = formgrader.url.split("/formgrader?token=")
    refused = [
        ("POST", f"/formgrader/api/assignment/{SLUG}/assign"),
        ("POST", f"/formgrader/api/assignment/{SLUG}/release"),
        ("POST", f"/formgrader/api/assignment/{SLUG}/collect"),
        ("POST", f"/formgrader/api/assignment/{SLUG}/generate_feedback"),
        ("POST", f"/formgrader/api/assignment/{SLUG}/alice/release_feedback"),
        ("POST", f"/formgrader/api/submission/{SLUG}/alice/autograde"),
        ("PUT", "/formgrader/api/assignment/new_assignment"),
        ("GET", "/api/contents"),
        ("POST", "/api/kernels"),
    ]
    before = (graded["out"] / "gradebook.db").read_bytes()
    for method, path in refused:
        request = urllib.request.Request(
            f"{base}{path}?token={token}", data=b"{}" if method != "GET" else None, method=method
        )
        with pytest.raises(urllib.error.HTTPError) as refusal:
            urllib.request.urlopen(request, timeout=30)
        assert refusal.value.code == 403, (method, path)
    assert (graded["out"] / "gradebook.db").read_bytes() == before
    assert not (graded["out"] / ".convbook" / "formgrader" / "feedback").exists()


def test_formgrade_needs_a_graded_out_and_says_so(tmp_path):
    """An OUT that ``convbook grade`` never wrote is a clear error, not a server on an empty
    course."""
    done = subprocess.run(
        [str(CONVBOOK), "formgrade", str(tmp_path / "out"), "--allow-root"],
        capture_output=True, text=True, timeout=120, env=ENV,
    )  # fmt: skip
    assert done.returncode == 2
    assert "has not been graded" in done.stderr and "convbook grade" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="runs only as root")
def test_formgrade_as_root_needs_allow_root(tmp_path):
    done = subprocess.run(
        [str(CONVBOOK), "formgrade", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=ENV,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refusing to run as root" in done.stderr and "--allow-root" in done.stderr
    assert "not been graded" not in done.stderr  # checked first, before anything else

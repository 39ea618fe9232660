"""The book runs from a plain install of the wheel, as on a fresh Colab runtime (issue 10).

Nothing here uses the development venv's packages. The module builds the ``convbook``
wheel, makes a new venv holding only what a Colab runtime brings that matters here
(torch, torchvision and a Jupyter kernel) and then, in order:

1. runs the real setup cell of a chapter with ``CONVBOOK_REQUIREMENT`` pointing at the
   built wheel: it must install ``convbook[book]`` and leave torch and NumPy untouched;
2. executes every chapter and solution notebook top to bottom at the smoke budget, and
   every student release up to its first answer cell, in that venv's kernel;
3. removes scikit-image, so that a chapter needing it stops with a message naming the
   package and the extra, and ``convbook grade`` (no grading extra) says what to install.

Versions come from ``requirements/lock.txt`` as pip constraints, so the run is the same
on every machine. It takes a few minutes: the venv gets its own copy of torch.
"""

from __future__ import annotations

import csv
import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
# What the runtime has before the setup cell runs: Colab's torch stack and a kernel.
RUNTIME = ["torch", "torchvision", "ipykernel", "nbclient"]

pytestmark = pytest.mark.slow


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, **kwargs
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


class Runtime:
    """A venv with its own kernel, run with an environment that hides the dev venv."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.python = self.venv / "bin" / "python"
        self.work = root / "work"  # copies of the notebooks, executed here
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER", "IPYTHON", "MPLBACKEND"))
        }
        self.env.update(
            PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            VIRTUAL_ENV=str(self.venv),
            # Only this venv's kernel spec, and no user or dev-venv Jupyter settings.
            JUPYTER_PATH=str(self.venv / "share" / "jupyter"),
            JUPYTER_DATA_DIR=str(root / "jupyter-data"),
            JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
            IPYTHONDIR=str(root / "ipython"),
            PIP_CONSTRAINT=str(LOCK),
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            CONVBOOK_BUDGET="smoke",
            CONVBOOK_PROGRESS="0",
        )

    def pip(self, *arguments: str) -> subprocess.CompletedProcess:
        return _run([self.python, "-m", "pip", *arguments, "-q"], env=self.env, cwd=self.root)

    def packages(self) -> dict[str, str]:
        listing = _run([self.python, "-m", "pip", "list", "--format=json"], env=self.env)
        return {p["name"].lower(): p["version"] for p in json.loads(listing.stdout)}

    def fingerprint(self, distribution: str) -> str:
        """Version, a hash of the files pip recorded for ``distribution`` and when it wrote
        that record: a reinstall of the same version changes the last."""
        script = (
            "import hashlib, importlib.metadata as m, os, sys; d = m.distribution(sys.argv[1]); "
            "print(d.version, hashlib.sha256(d.read_text('RECORD').encode()).hexdigest(), "
            "os.stat(d._path / 'RECORD').st_mtime_ns)"
        )
        return _run([self.python, "-c", script, distribution], env=self.env).stdout.strip()

    def run_cells(self, sources: list[str], extra_env: dict[str, str]) -> list[str]:
        """Execute ``sources`` as one notebook in this venv's kernel; the text of each cell."""
        notebook = self.root / "cells.ipynb"
        nbformat.write(
            nbformat.v4.new_notebook(
                cells=[nbformat.v4.new_code_cell(source) for source in sources]
            ),
            notebook,
        )
        script = textwrap.dedent(
            """
            import sys, nbformat, nbclient
            nb = nbformat.read(sys.argv[1], as_version=4)
            nbclient.NotebookClient(nb, timeout=900, kernel_name="python3").execute()
            for cell in nb.cells:
                text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                               for o in cell.outputs)
                print(repr(text))
            """
        )
        result = _run(
            [self.python, "-c", script, notebook], env={**self.env, **extra_env}, cwd=self.root
        )
        return [eval(line) for line in result.stdout.splitlines() if line.startswith(("'", '"'))]

    def execute(self, notebooks: list[Path], *flags: str) -> list[dict]:
        """``python -m convbook.notebooks`` in this venv; one record per notebook."""
        report = self.root / f"runs-{len(list(self.root.glob('runs-*.json')))}.json"
        command = [self.python, "-m", "convbook.notebooks", *flags, "--timeout", "600"]
        subprocess.run(
            [*map(str, command), "--json", str(report), *map(str, notebooks)],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
        )
        if not report.is_file():
            pytest.fail(f"python -m convbook.notebooks wrote no report for {notebooks}")
        return json.loads(report.read_text())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    build_wheel = runpy.run_path(str(ROOT / "tools" / "gpu_carry.py"))["build_wheel"]
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Iterator[Runtime]:
    runtime = Runtime(tmp_path_factory.mktemp("fresh"))
    base_python = getattr(sys, "_base_executable", sys.executable)
    _run([base_python, "-m", "venv", runtime.venv])
    runtime.pip("install", *RUNTIME)
    for pattern in ("chapters/*.ipynb", "solutions/*/*.ipynb", "exercises/*/*.ipynb"):
        for path in ROOT.glob(pattern):
            copy = runtime.work / path.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
    yield runtime
    shutil.rmtree(runtime.venv, ignore_errors=True)  # its own torch: gigabytes


@pytest.fixture(scope="module")
def setup_cell_run(runtime: Runtime, wheel: Path) -> dict:
    """Run cell 1 of a real chapter, installing from the built wheel; what changed."""
    before = {name: runtime.fingerprint(name) for name in ("torch", "numpy")}
    assert "convbook" not in runtime.packages()
    setup = nbformat.read(ROOT / "chapters" / "7_6_lenet.ipynb", as_version=4).cells[0].source
    probe = "import sys, convbook; print(sys.prefix); print(convbook.__file__)"
    outputs = runtime.run_cells(
        [setup, probe], {"CONVBOOK_REQUIREMENT": f"convbook[book] @ {wheel.as_uri()}"}
    )
    after = {name: runtime.fingerprint(name) for name in ("torch", "numpy")}
    return {"before": before, "after": after, "outputs": outputs, "packages": runtime.packages()}


def test_setup_cell_installs_the_wheel_with_the_book_extra(setup_cell_run, runtime, wheel):
    packages = setup_cell_run["packages"]
    assert packages.get("convbook") == wheel.name.split("-")[1]
    assert "scikit-image" in packages, "the setup cell must install the 'book' extra"
    prefix, module = setup_cell_run["outputs"][1].split()
    assert Path(prefix) == runtime.venv, "the kernel did not run in the fresh venv"
    assert Path(module).is_relative_to(runtime.venv), f"convbook imported from {module}"


def test_setup_cell_leaves_torch_and_numpy_alone(setup_cell_run):
    assert setup_cell_run["after"] == setup_cell_run["before"]


def test_setup_cell_does_nothing_once_convbook_is_installed(setup_cell_run, runtime):
    setup = nbformat.read(ROOT / "chapters" / "7_6_lenet.ipynb", as_version=4).cells[0].source
    before = runtime.packages()
    # An address that cannot install: the cell must not even try.
    [output] = runtime.run_cells([setup], {"CONVBOOK_REQUIREMENT": "convbook @ file:///nowhere"})
    assert output == "" and runtime.packages() == before


def _failures(runs: list[dict], expected: int) -> list[str]:
    assert len(runs) == expected, f"{len(runs)} reports for {expected} notebooks"
    return [f"{run['path']}: {run['error']}" for run in runs if run["error"]]


def test_every_chapter_and_solution_runs_top_to_bottom(setup_cell_run, runtime, sample_dir):
    runtime.env["CONVBOOK_DATA_DIR"] = str(sample_dir)
    notebooks = sorted(runtime.work.glob("chapters/*.ipynb")) + sorted(
        runtime.work.glob("solutions/*/*.ipynb")
    )
    assert len(notebooks) == 25
    runs = runtime.execute(notebooks)
    assert not _failures(runs, len(notebooks))
    trained = [result for run in runs for result in run["training"]]
    assert trained and all(result["budget"] == "smoke" for result in trained)


def test_every_release_runs_up_to_its_first_answer(setup_cell_run, runtime, sample_dir):
    runtime.env["CONVBOOK_DATA_DIR"] = str(sample_dir)
    notebooks = sorted(runtime.work.glob("exercises/*/*.ipynb"))
    assert len(notebooks) == 12
    runs = runtime.execute(notebooks, "--until-answer")
    assert not _failures(runs, len(notebooks))
    assert all(run["cells_run"] >= 2 for run in runs), "the setup and import cells at least"


# Last in this module: it removes a package from the venv.
def test_a_missing_extra_is_named_with_the_command_that_installs_it(setup_cell_run, runtime):
    runtime.pip("uninstall", "-y", "scikit-image")
    [run] = runtime.execute([runtime.work / "chapters" / "7_2_conv_layer.ipynb"])
    assert run["error"] is not None and "MissingExtraError" in run["error"]
    assert "'scikit-image'" in run["error"] and 'pip install "convbook[book]"' in run["error"]

    grade = subprocess.run(
        [runtime.venv / "bin" / "convbook", "grade", runtime.work, "--out", runtime.root / "g"],
        env=runtime.env,
        capture_output=True,
        text=True,
    )
    assert grade.returncode == 2
    assert "'nbgrader'" in grade.stderr and 'pip install "convbook[grading]"' in grade.stderr


# Grading through the console script of the wheel install (issue 12): after the test
# above, which checks the message without the grading extra.
@pytest.fixture(scope="module")
def graded(setup_cell_run, runtime: Runtime, wheel: Path, convbook_grade) -> dict:
    """Install ``convbook[grading]`` from the wheel; grade the 12 solutions, the 12 blank
    releases and the attack corpus in one ``convbook grade`` run, with ``--solutions``."""
    sys.path.insert(0, str(ROOT / "tests" / "grading"))
    import attacks

    runtime.pip("install", f"convbook[grading] @ {wheel.as_uri()}")
    submissions = runtime.root / "submissions"
    for slug in sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()):
        for student, folder in (("teacher", "solutions"), ("nobody", "exercises")):
            target = submissions / student / slug
            target.mkdir(parents=True)
            shutil.copy(ROOT / folder / slug / f"{slug}.ipynb", target)
    for name, kind in attacks.KINDS.items():
        slug = attacks.assignment_of(kind)
        (submissions / name / slug).mkdir(parents=True)
        nbformat.write(kind[0](), submissions / name / slug / f"{slug}.ipynb")
    out = runtime.root / "graded"
    command = [runtime.venv / "bin" / "convbook", "grade", submissions, "--out", out,
               "--solutions", ROOT / "solutions", "--no-progress", "--jobs", "2"]  # fmt: skip
    # the instructor's shell holds secrets: no kernel may see them (an allow-list of variables)
    env = {**runtime.env, "DATABASE_URL": f"postgresql://grader:{attacks.SECRET}@db/course",
           "GH_PAT": f"ghp_{attacks.SECRET}"}  # fmt: skip
    # cwd: not the checkout, nothing may come from it but --solutions
    done, rows = convbook_grade(command, out, env=env, cwd=runtime.root)
    return {"rows": rows, "out": out, "stdout": done.stdout, "kinds": attacks.KINDS,
            "slug": attacks.SLUG, "hidden_line": attacks.HIDDEN_LINE,
            "secret": attacks.SECRET, "assignment_of": attacks.assignment_of}  # fmt: skip


def _autograded_points(row: dict) -> tuple[float, float]:
    """(score, autograded maximum): no person has graded yet, so every manually graded
    answer's points await a grader."""
    return float(row["score"]), float(row["max_score"]) - float(row["awaiting_points"])


def test_every_solution_gets_every_autograded_point_through_the_command(graded):
    teacher = {a: r for (s, a), r in graded["rows"].items() if s == "teacher"}
    assert len(teacher) == 12
    for assignment, row in teacher.items():
        score, autograded = _autograded_points(row)
        assert row["status"] == "graded" and score == autograded > 0, (assignment, row)
    assert "sandbox: in force" in graded["stdout"]


def test_every_blank_release_gets_nothing(graded):
    nobody = {a: r for (s, a), r in graded["rows"].items() if s == "nobody"}
    assert len(nobody) == 12
    assert all(float(r["score"]) == 0 and r["status"] == "graded" for r in nobody.values())


def _outputs(path: Path) -> str:
    return "".join(
        str(output)
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
    )


def test_no_attack_earns_a_point_or_sees_a_hidden_test(graded):
    """Every kind of the corpus through the wheel's console script: no wrong answer earns a
    point, no honest one loses one, no hidden line or secret reaches an output or a page,
    and every output and page stays within its cap."""
    assert len(graded["kinds"]) >= 50
    problems = []
    for name, kind in graded["kinds"].items():
        expect, slug = kind[1], graded["assignment_of"](kind)
        row = graded["rows"][(name, slug)]
        score, autograded = _autograded_points(row)
        if expect == "zero" and score != 0:
            problems.append(f"{name}: {score:g} points ({row['status']})")
        if expect == "full" and (row["status"] != "graded" or score != autograded):
            problems.append(f"{name}: an honest answer got {score:g}/{autograded:g} ({row})")
        path = graded["out"] / "autograded" / name / slug / f"{slug}.ipynb"
        if path.exists():
            outputs = _outputs(path)
            for marker in ("LEAKED [", "REACHED [", "WROTE ["):
                if marker in outputs and f"{marker}]" not in outputs:
                    problems.append(f"{name}: {outputs[outputs.index(marker) :][:200]}")
            if graded["hidden_line"] in outputs:
                problems.append(f"{name}: a hidden test line is in its output")
            if graded["secret"] in outputs:
                problems.append(f"{name}: the instructor's secret is in its output")
            if path.stat().st_size > 3_000_000:
                problems.append(f"{name}: its graded notebook has {path.stat().st_size} bytes")
        page = graded["out"] / "feedback" / name / slug / f"{slug}.html"
        text = page.read_text(encoding="utf-8")
        if graded["hidden_line"] in text or graded["secret"] in text:
            problems.append(f"{name}: its feedback page shows a hidden line or a secret")
        if len(text) > 4_000_000:
            problems.append(f"{name}: its feedback page has {len(text)} characters")
    assert not problems, "\n".join(problems)


def test_kernels_of_one_slot_share_nothing_and_outlive_a_broken_zygote(
    graded, runtime, convbook_grade
):
    """With ``--jobs 1`` every kernel is forked in turn from one slot's zygote: the files a
    kernel leaves are gone for the next, the zygote's memory cannot be read, and a stopped
    or killed zygote costs no later student a point."""
    import attacks

    slug = graded["slug"]
    submissions, out = runtime.root / "submissions-slot", runtime.root / "graded-slot"
    for name, (make, _) in attacks.SLOT_SEQUENCE.items():
        (submissions / name / slug).mkdir(parents=True)
        nbformat.write(make(), submissions / name / slug / f"{slug}.ipynb")
    command = [runtime.venv / "bin" / "convbook", "grade", submissions, "--out", out,
               "--solutions", ROOT / "solutions", "--no-progress", "--jobs", "1"]  # fmt: skip
    done, rows = convbook_grade(command, out, env=runtime.env, cwd=runtime.root)
    assert "sandbox: in force" in done.stdout
    outputs = {
        name: _outputs(out / "autograded" / name / slug / f"{slug}.ipynb")
        for name in attacks.SLOT_SEQUENCE
    }
    first, second, third, fourth = attacks.SLOT_SEQUENCE
    assert "PLANTED [" in outputs[first] and "/tmp" in outputs[first]  # it did leave files
    assert "LEAKED []" in outputs[second]
    assert "READ []" in outputs[third]
    for name, (_, expect) in attacks.SLOT_SEQUENCE.items():
        row = rows[(name, slug)]
        score, autograded = _autograded_points(row)
        if expect == "full":
            assert row["status"] == "graded" and score == autograded > 0, row


def test_grading_fails_closed_without_its_sandbox(graded, runtime):
    """Without bubblewrap and unshare on PATH, grading stops and says what is missing;
    ``--no-sandbox`` grades and says so in every row."""
    submissions = runtime.root / "submissions-one"
    target = submissions / "someone" / graded["slug"]
    target.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / graded["slug"] / f"{graded['slug']}.ipynb", target)
    bare = runtime.root / "bare-bin"
    bare.mkdir()
    env = {**runtime.env, "PATH": f"{runtime.venv / 'bin'}{os.pathsep}{bare}"}
    base = [str(runtime.venv / "bin" / "convbook"), "grade", str(submissions), "--solutions",
            str(ROOT / "solutions"), "--no-progress"]  # fmt: skip
    refused = subprocess.run(
        [*base, "--out", str(runtime.root / "refused")], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 3, refused.stderr
    assert "bubblewrap" in refused.stderr and "--no-sandbox" in refused.stderr
    assert not (runtime.root / "refused" / "grades.csv").exists()
    unsafe = subprocess.run(
        [*base, "--out", str(runtime.root / "unsafe"), "--no-sandbox"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert unsafe.returncode == 0, unsafe.stderr[-2000:]
    text = (runtime.root / "unsafe" / "grades.csv").read_text()
    assert "WITHOUT the sandbox" in text and "WITHOUT the sandbox" in unsafe.stdout


def test_feedback_pages_come_from_the_wheel_with_their_template_and_math(graded):
    """The wheel ships the feedback template, and the grading extra the MathJax bundle."""
    out, slug = graded["out"], graded["slug"]
    page = (out / "feedback" / "teacher" / slug / f"{slug}.html").read_text(encoding="utf-8")
    assert 'id="convbook-summary"' in page and "lines of hidden tests, not shown" in page
    assert graded["hidden_line"] not in page
    assert 'src="../../mathjax/tex-chtml.js"' in page and "cdnjs" not in page
    assert (out / "feedback" / "mathjax" / "tex-chtml.js").is_file()
    assert "feedback: messages" in graded["stdout"]


def test_formgrade_and_export_run_from_the_wheel(graded, runtime):
    """The wheel's ``convbook formgrade`` serves the graded course (its templates are in
    the wheel) and ``convbook export`` reads the gradebook; the grading extra brings the
    PostgreSQL driver."""
    out, convbook = graded["out"], runtime.venv / "bin" / "convbook"
    _run([runtime.python, "-c", "import psycopg"], env=runtime.env)
    _run([convbook, "export", out, "--format", "csv"], env=runtime.env, cwd=runtime.root)
    with open(out / "export" / "csv.csv", newline="") as handle:
        exported = [row for row in csv.DictReader(handle) if row["student_id"] == "teacher"]
    rows = {a: r for (s, a), r in graded["rows"].items() if s == "teacher"}
    assert {r["assignment"]: r["score"] for r in exported} == {
        a: r["score"] for a, r in rows.items()
    } and len(exported) == 12

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(convbook), "formgrade", str(out), "--allow-root", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=runtime.env,
        cwd=runtime.root, start_new_session=True,
    )  # fmt: skip
    try:
        url = server.stdout.readline().strip()
        assert url.startswith(f"http://127.0.0.1:{port}/formgrader?token="), url
        base, token = url.split("/formgrader?token=")
        request = urllib.request.Request(
            f"{base}/formgrader/api/assignments", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            listed = {a["name"]: a["num_submissions"] for a in json.loads(response.read())}
        graded_here = {a: len(list(out.glob(f"autograded/*/{a}"))) for a in rows}
        assert listed == graded_here and all(n >= 2 for n in listed.values())
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0

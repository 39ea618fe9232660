"""Grade one submitted notebook in its own course folder (one process per notebook).

``python -m convbook.grading.worker REQUEST.json`` is started by ``app.py`` inside the
namespaces of ``sandbox.worker_prefix()``. It copies the template gradebook, restores the
cell order, runs nbgrader's autograde (with ``SandboxedExecute``: the tests run here, in
this process, and the jailed kernel only runs the student's cells and answers calls) and
writes ``result.json`` next to the request. It never touches the instructor's gradebook
or the feedback: the parent merges the result and makes the pages.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path

import nbformat

from . import policy
from .records import CellGrade, Request, Result
from .sandbox import ENV_PREFIX, KernelJail, Zygote

__all__ = ["grade_request"]


def _loopback_up() -> None:
    ip = shutil.which("ip") or "/sbin/ip"
    subprocess.run([ip, "link", "set", "lo", "up"], capture_output=True, check=False)


def _kill_strays(keep: set[int] = frozenset()) -> None:
    """Kill processes the kernel left behind (possible when we are the namespace's init);
    ``keep``: the zygote's processes."""
    if os.getpid() != 1:
        return
    if not keep:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != 1 and int(entry) not in keep:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def _limits(request: Request) -> dict:
    """The limits a kernel (and a zygote) of this request gets, as ``KernelJail`` takes them."""
    return dict(
        uid=request.uid,
        memory_bytes=request.memory_bytes,
        cpu_seconds=policy.cpu_seconds(request.notebook_timeout),
        file_bytes=request.file_bytes,
        scratch_bytes=policy.SCRATCH_MB << 20,
        threads=request.threads,
    )


def _zygote_for(request: Request, current: Zygote | None) -> Zygote | None:
    """The slot's zygote for this request: the current one if it fits and is healthy
    (alive, not stopped, answering), else a new one (None without the sandbox: then each
    kernel starts on its own). A notebook whose kernel the old one failed to fork was
    started on its own by the launcher; this is where the slot recovers."""
    if not request.sandbox:
        if current is not None:
            current.stop()
        return None
    wanted = Zygote(
        Path(request.work_dir).parent / f"zygote-{request.uid}",
        wait_s=policy.ZYGOTE_WAIT_S,
        processes=policy.ZYGOTE_PROCESSES,
        **_limits(request),
    )
    if current is not None and current.key == wanted.key and current.healthy():
        return current
    if current is not None:
        current.stop()
    wanted.start()
    return wanted


def _config(request: Request, course: Path, db: Path):
    from traitlets.config.loader import PyFileConfigLoader

    from .execute import SandboxedExecute
    from .restore import test_scope

    config_file = Path(request.config_file)
    config = PyFileConfigLoader(config_file.name, str(config_file.parent)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{db}"
    config.OverwriteCells.add_missing_cells = True
    config.IgnorePattern.enabled = True
    if not config.IgnorePattern.get("pattern"):
        config.IgnorePattern.pattern = r"\w*Warning: "
    config.LimitOutput.max_lines = config.LimitOutput.get("max_lines", 200)
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute if name == "Execute" else name
        for name in [
            "Execute",
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata",
        ]
    ]
    config.SandboxedExecute.timeout = request.cell_timeout
    config.SandboxedExecute.notebook_timeout = request.notebook_timeout
    config.SandboxedExecute.max_output_bytes = request.max_output_bytes
    config.SandboxedExecute.startup_timeout = policy.SETUP_TIMEOUT_S
    config.SandboxedExecute.interrupt_on_timeout = True
    config.SandboxedExecute.iopub_timeout = 10
    config.SandboxedExecute.kernel_name = "python3"
    config.SandboxedExecute.events_file = str(Path(request.work_dir) / "events.json")
    source = nbformat.read(request.source_notebook, as_version=4)
    context, answers, tests = test_scope(source)
    config.SandboxedExecute.context = context
    config.SandboxedExecute.answers = list(answers)
    config.SandboxedExecute.tests = tests
    config.SandboxedExecute.salt = request.salt
    return config


def grade_request(request: Request, zygote: Zygote | None = None) -> Result:
    """Autograde one notebook and collect its grades and executed notebook.

    Args:
        request: paths and limits for this notebook.
        zygote: where to fork the kernel from (its folders are then the kernel's).

    Returns:
        The Result; ``ok`` is False only when nbgrader itself failed.
    """
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from .restore import restore_order

    work = Path(request.work_dir)
    course, db_dir, home = work / "course", work / "db", work / "home"
    own = work / "submission"  # the kernel's working folder: the student's own file
    if zygote is not None:
        home, own = zygote.home, zygote.submission
        zygote.empty_submission()  # nothing of the slot's previous notebook
    for folder in (course, db_dir, home, own):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(request.submission, own / f"{request.notebook}.ipynb")
    for folder in (work, own):
        folder.chmod(0o755)
    db_dir.chmod(0o700)
    db = db_dir / "gradebook.db"
    shutil.copyfile(request.template_db, db)
    shutil.copyfile(request.config_file, course / "nbgrader_config.py")
    config = _config(request, course, db)
    source_dir = config.CourseDirectory.get("source_directory", "source")
    (course / source_dir / request.assignment).mkdir(parents=True, exist_ok=True)

    submitted = nbformat.read(request.submission, as_version=4)
    release = nbformat.read(request.release_notebook, as_version=4)
    submitted, notes = restore_order(submitted, release)
    target = course / "submitted" / request.student / request.assignment
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(submitted, target / f"{request.notebook}.ipynb")

    jail = KernelJail(
        home=home,
        submission=own,
        processes=policy.PROCESSES,
        sandbox=request.sandbox,
        zygote=zygote,
        **_limits(request),
    )
    for key in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
        del os.environ[key]  # a previous notebook's settings
    os.environ.update(jail.env())
    os.environ.update(policy.KERNEL_ENV)
    coursedir = CourseDirectory(config=config)
    coursedir.notebook_id = request.notebook
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel(logging.WARNING)
    import torch  # the tests run here: with the kernel's share of the cores, not all of them

    torch.set_num_threads(request.threads)
    started = time.monotonic()
    graded = api.autograde(request.assignment, request.student, force=True, create=True)
    _kill_strays(zygote.pids() if zygote is not None else set())
    events = work / "events.json"
    found = json.loads(events.read_text()) if events.exists() else []
    result = Result(ok=bool(graded["success"]), events=[tuple(e) for e in found])
    if request.sandbox:
        if jail.memory_limit_hit():
            result.events.append(("resource limit", "used more than its memory limit"))
        jail.remove()
    result.seconds["autograde"] = round(time.monotonic() - started, 2)
    result.notes = notes
    result.log = (graded.get("log") or "")[-3000:] + (graded.get("error") or "")[-3000:]
    if not result.ok:
        return result
    with Gradebook(f"sqlite:///{db}") as gradebook:
        notebook = gradebook.find_submission_notebook(
            request.notebook, request.assignment, request.student
        )
        result.grades = [
            CellGrade(g.name, g.auto_score, g.max_score, bool(g.needs_manual_grade))
            for g in sorted(notebook.grades, key=lambda g: g.name)
        ]
    autograded = course / "autograded" / request.student / request.assignment
    result.autograded = str(autograded / f"{request.notebook}.ipynb")
    return result


def _grade_file(
    request_path: Path, zygote: Zygote | None = None, *, fork: bool = False
) -> Zygote | None:
    """Grade one request (forking its kernel from the slot's zygote if ``fork``); returns
    the zygote for the next one."""
    try:
        request = Request(**json.loads(request_path.read_text()))
        if fork:
            zygote = _zygote_for(request, zygote)
        result = grade_request(request, zygote)
    except Exception:  # report, never crash silently: the parent records it
        result = Result(ok=False, log=traceback.format_exc()[-4000:])
    _kill_strays(zygote.pids() if zygote is not None else set())
    (request_path.parent / "result.json").write_text(json.dumps(asdict(result)))
    return zygote


def _watch_lifeline(fd: int) -> None:
    """End this worker, and every process it started, when the grading command is gone.

    The command holds the pipe's other end while it lives; a command killed with SIGKILL
    cannot stop its workers, so they notice the pipe's end instead. The worker is the
    first process of its own PID namespace (``sandbox.worker_prefix``): when it exits, the
    kernel kills every process in it. Without one, its process group is killed.
    """

    def watch() -> None:
        while True:
            try:
                if not os.read(fd, 1):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        if os.getpid() != 1:
            try:
                os.killpg(os.getpgrp(), signal.SIGKILL)
            except OSError:
                pass
        os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Grade requests: ``worker REQUEST.json`` once, or ``worker --serve FD`` in a loop.

    In serve mode request paths arrive one per line on stdin and each finished one is
    reported as a line on file descriptor FD (not stdout, which the kernels inherit).
    """
    argv = sys.argv[1:] if argv is None else argv
    _loopback_up()
    if argv[:1] != ["--serve"]:
        _grade_file(Path(argv[0]))  # one notebook: a zygote would not pay off
        return
    done = os.fdopen(int(argv[1]), "w", buffering=1)
    if len(argv) > 2:
        _watch_lifeline(int(argv[2]))
    zygote = None
    try:
        for line in sys.stdin:
            if line.strip():
                zygote = _grade_file(Path(line.strip()), zygote, fork=True)
                done.write("done\n")
    finally:
        if zygote is not None:
            zygote.stop()


if __name__ == "__main__":
    main()

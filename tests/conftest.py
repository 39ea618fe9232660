"""Shared fixtures. Tests run on the CPU with a fixed budget and no progress bars.

The browser fixtures (``page`` and the rest) drive Debian's Chromium through Playwright,
with every request that leaves 127.0.0.1 blocked and recorded: the website
(``test_site.py``) and the feedback pages (``test_exercises.py``) must work offline.

``postgres_url`` is an empty database on a real PostgreSQL server that this test session
(each pytest-xdist worker) starts once (``tests/postgres.py``); ``gradebook_db`` runs a test
on a SQLite file and on such a database.
"""

import functools
import http.server
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import matplotlib
import pytest
import torch
from postgres import create_database, drop_database, start_server

matplotlib.use("Agg")


# The longest modules first: pytest-xdist (--dist loadscope) hands modules to workers in
# collection order, so a long module collected last would run alone at the end.
LONGEST_FIRST = ["test_exercises.py", "test_fresh_install.py", "test_cluster.py", "test_site.py"]


def pytest_collection_modifyitems(items: list) -> None:
    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each module is kept


@pytest.fixture(autouse=True)
def _quiet_and_small(monkeypatch):
    monkeypatch.setenv("CONVBOOK_PROGRESS", "0")
    monkeypatch.setenv("CONVBOOK_BUDGET", os.environ.get("CONVBOOK_BUDGET", "smoke"))


def _convbook_grade(command: list, out: Path, timeout: float = 1500, **kwargs) -> tuple:
    """Run a ``convbook grade`` command line, which must exit 0.

    Returns its completed process and the rows of ``out/grades.csv`` by
    ``(student_id, assignment)``."""
    import csv
    import subprocess

    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(Path(out) / "grades.csv", newline="") as handle:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(handle)}
    return done, rows


@pytest.fixture(scope="session")
def convbook_grade():
    """``convbook_grade(command, out, timeout=1500, env=..., cwd=...)``: see ``_convbook_grade``."""
    return _convbook_grade


@pytest.fixture
def sample_dir() -> Path:
    """The genuine offline Fashion-MNIST sample, named by CONVBOOK_DATA_DIR in CI."""
    folder = Path(os.environ.get("CONVBOOK_DATA_DIR", "/nonexistent"))
    if not (folder / "test-0000-1999.npz").is_file():
        reason = "set CONVBOOK_DATA_DIR to the offline Fashion-MNIST sample (make test does)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must test the real data path, never skip it
        pytest.skip(reason)
    return folder


def _sgd_losses(model, x, y, steps: int) -> list[float]:
    """Training-mode loss at each of ``steps`` SGD steps on one fixed batch."""
    with torch.no_grad():
        model(x)  # materialise lazy layers before the optimizer sees them
    optimizer = model.configure_optimizers()
    losses = []
    for _ in range(steps):
        loss = model.loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _loss_before_after_sgd(model, size: int, steps: int = 3) -> tuple[float, float]:
    """Eval-mode loss on one fixed batch before and after ``steps`` SGD steps on it
    (eval mode, so dropout does not blur the comparison)."""
    x = torch.rand(8, 1, size, size, generator=torch.Generator().manual_seed(1))
    y = torch.arange(8)
    model.eval()
    with torch.no_grad():
        before = model.loss(model(x), y).item()
    model.train()
    _sgd_losses(model, x, y, steps)
    model.eval()
    with torch.no_grad():
        after = model.loss(model(x), y).item()
    return before, after


@pytest.fixture
def sgd_losses():
    """``sgd_losses(model, x, y, steps)``: the training loss at each SGD step."""
    return _sgd_losses


@pytest.fixture
def loss_before_after_sgd():
    """``f(model, size, steps=3)``: eval-mode loss on a fixed batch before and after SGD."""
    return _loss_before_after_sgd


# ---------------------------------------------------------------------------------------
# Serving files and the browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def serve() -> Iterator[Callable[[Path], str]]:
    """``serve(folder)``: serve a folder on 127.0.0.1 at a free port; returns its URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def external_requests() -> list[str]:
    """URLs the browser asked for outside 127.0.0.1 (all of them were blocked)."""
    return []


@pytest.fixture(scope="session")
def browser_context(
    tmp_path_factory: pytest.TempPathFactory, external_requests: list[str]
) -> Iterator[object]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    def block_the_internet(route, request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1" or request.url.startswith("data:"):
            route.continue_()
        else:
            external_requests.append(request.url)
            route.abort()

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        # A persistent context because Playwright passes the profile as --user-data-dir itself.
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        context.route("**/*", block_the_internet)
        yield context
        context.close()


@pytest.fixture
def js_errors() -> list[str]:
    """Uncaught JavaScript errors of the test's page."""
    return []


@pytest.fixture
def page(browser_context, js_errors: list[str]) -> Iterator[object]:
    page = browser_context.new_page()
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    yield page
    page.close()


# ---------------------------------------------------------------------------------------
# PostgreSQL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """``postgresql://convbook:PW@127.0.0.1:PORT`` of this session's server (one per worker).

    Fails, never skips, when the server cannot start: ``make test`` installs PostgreSQL.
    """
    # Not under tmp_path_factory: its folders are private to root, out of the postgres
    # user's reach.
    folder = tempfile.mkdtemp(prefix="convbook-pg-", dir="/tmp")
    try:
        url_base, stop = start_server(folder)
    except RuntimeError as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {error}", pytrace=False)
    try:
        yield url_base
    finally:
        stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database: ``postgresql://convbook:PW@127.0.0.1:PORT/test_<hex>``.

    Its role owns it (and so its ``public`` schema). Dropped after the test, with any
    connection the test left open.
    """
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = create_database(postgres_server, name)
    yield url
    drop_database(postgres_server, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def gradebook_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty gradebook database URL, once as a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gradebook.db'}"  # tmp_path is absolute: four slashes
    return request.getfixturevalue("postgres_url")

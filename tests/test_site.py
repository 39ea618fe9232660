"""The course website (issue 7): table of contents, build, and a headless-browser check.

The browser tests build the book with ``jupyter-book build -W -n --keep-going`` into a
temporary folder (once per test session, shared by pytest-xdist workers), serve it on
127.0.0.1 and open it in Debian's Chromium through Playwright. Every request that leaves
127.0.0.1 is blocked and recorded, so math and figures must render from the site itself.

Set ``CONVBOOK_SITE_DIR=_build/html`` to test an existing build instead of building.
Screenshots land in ``test-artifacts/``.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
COLAB_URL = "https://colab.research.google.com"
MATH_TIMEOUT_MS = 30_000


def _load_yaml(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


CONFIG = _load_yaml("_config.yml")
TOC = _load_yaml("_toc.yml")
TOC_FILES = [entry["file"] for part in TOC["parts"] for entry in part["chapters"]]
CHAPTERS = [name for name in TOC_FILES if name.startswith("chapters/")]
EXERCISES = [name for name in TOC_FILES if name.startswith("exercises/")]
NOTEBOOK_PAGES = CHAPTERS + EXERCISES
# The primer (layers, parameters, initialisation) has nothing to plot; the sections of
# chapters 7 and 8 each show at least one figure.
WITHOUT_FIGURES = {"chapters/6_builders_guide"}


# Pages whose screenshot the test keeps, and the figure (by position) kept on its own: the
# cross-correlation diagram of 7.2 and the Inception block of 8.4.
SCREENSHOTS = {"chapters/7_2_conv_layer": 0, "chapters/8_4_googlenet": 0}


def _committed_figures(toc_name: str) -> int:
    """Image outputs in the committed notebook: each must reach the reader as a figure."""
    notebook = nbformat.read(ROOT / f"{toc_name}.ipynb", as_version=4)
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def _notebook_title(toc_name: str) -> str:
    """The first level-1 heading of a notebook's markdown cells."""
    notebook = nbformat.read(ROOT / f"{toc_name}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^# (.+)$", cell.source, re.MULTILINE)
            if match:
                return _plain(match.group(1))
    raise AssertionError(f"{toc_name}.ipynb has no '# Title' heading in a markdown cell")


def _plain(text: str) -> str:
    """Text as words only: no markdown marks, permalink sign, smart quotes or dashes."""
    return " ".join(re.sub(r"[^\w.]+", " ", text).split())


def _colab_link(toc_name: str) -> str:
    repository = CONFIG["repository"]
    owner_and_name = urlsplit(repository["url"]).path.strip("/")
    path = f"{repository.get('path_to_book', '').strip('/')}/{toc_name}.ipynb".lstrip("/")
    return f"{COLAB_URL}/github/{owner_and_name}/blob/{repository['branch']}/{path}"


# ---------------------------------------------------------------------------------------
# Configuration and table of contents (no browser needed)


def test_toc_lists_every_chapter_and_exercise_notebook_in_the_repository():
    on_disk = {
        str(path.relative_to(ROOT).with_suffix(""))
        for pattern in ("chapters/*.ipynb", "exercises/*/*.ipynb")
        for path in ROOT.glob(pattern)
    }
    assert on_disk <= set(TOC_FILES), f"not in _toc.yml: {sorted(on_disk - set(TOC_FILES))}"


def test_no_notebook_text_holds_a_control_character():
    """A stray control character (``\\a`` in ``"\\approx"`` written without a raw string)
    breaks the formula it sits in, on the site and on the feedback pages."""
    found = []
    for path in sorted(ROOT.glob("*/**/*.ipynb")):
        if any(part.startswith((".", "_")) for part in path.relative_to(ROOT).parts):
            continue
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells):
            bad = sorted({c for c in cell.source if ord(c) < 32 and c not in "\n\t"})
            if bad:
                found.append(f"{path.relative_to(ROOT)} cell {number}: {bad}")
    assert not found, "\n".join(found)


def test_toc_has_parts_for_primer_chapter_7_chapter_8_and_exercises():
    parts = [[entry["file"] for entry in part["chapters"]] for part in TOC["parts"]]
    assert len(parts) == 4
    primer, chapter_7, chapter_8, exercises = parts
    assert primer == ["chapters/6_builders_guide"]
    assert [Path(name).name[:3] for name in chapter_7] == [f"7_{i}" for i in range(1, 7)]
    assert [Path(name).name[:3] for name in chapter_8] == [f"8_{i}" for i in range(1, 7)]
    released = [name for name in exercises if name.startswith("exercises/")]
    slugs = [Path(name).name for name in chapter_7 + chapter_8]
    assert released == [f"exercises/{slug}/{slug}" for slug in slugs]


def test_config_builds_from_committed_outputs_with_offline_math_and_launch_buttons():
    assert CONFIG["only_build_toc_files"] is True
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    assert "sphinx-mathjax-offline" in CONFIG["sphinx"]["extra_extensions"]
    assert CONFIG["launch_buttons"]["colab_url"] == COLAB_URL
    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    assert CONFIG["sphinx"]["config"]["html_theme_options"]["use_download_button"] is True


# ---------------------------------------------------------------------------------------
# Building and serving the site


def _jupyter_book() -> list[str]:
    executable = Path(sys.executable).with_name("jupyter-book")
    if executable.exists():
        return [str(executable)]
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed")
    return [found]


def _build_site(output: Path) -> Path:
    """Run the CI build command into ``output``; fail with its log on any warning."""
    command = [*_jupyter_book(), "build", str(ROOT), "-W", "-n", "--keep-going"]
    command += ["--path-output", str(output)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # drop colours
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "site-build.log").write_text(log, encoding="utf-8")
    (ARTIFACTS / "site-build-seconds.txt").write_text(f"{seconds:.1f}\n", encoding="utf-8")
    print(f"site built in {seconds:.1f} s")
    if result.returncode != 0:
        warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
        pytest.fail(
            f"jupyter-book build failed (exit {result.returncode}) after {seconds:.0f} s:\n"
            + "\n".join(warnings[:40] or log.splitlines()[-40:])
        )
    return output / "_build" / "html"


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built HTML site: built once per session, whatever the number of xdist workers."""
    given = os.environ.get("CONVBOOK_SITE_DIR")
    if given:
        html = Path(given).resolve()
        assert (html / "index.html").is_file(), f"CONVBOOK_SITE_DIR={given} has no index.html"
        return html
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, the same for every xdist worker
    html = shared / "site" / "_build" / "html"
    failed = shared / "site-build-failed.txt"
    with FileLock(str(shared / "site.lock")):
        if failed.exists():
            pytest.fail(failed.read_text(encoding="utf-8"))
        if not (html / "index.html").is_file():
            try:
                _build_site(shared / "site")
            except pytest.fail.Exception as exc:
                failed.write_text(str(exc), encoding="utf-8")
                raise
    return html


@pytest.fixture(scope="session")
def site_url(site_dir: Path, serve) -> str:
    return serve(site_dir)


def test_site_builds_without_warnings(site_dir: Path):
    """The build runs with -W, so reaching here means zero warnings; check what it made."""
    assert (site_dir / "index.html").is_file()
    for name in ["intro", *NOTEBOOK_PAGES]:
        assert (site_dir / f"{name}.html").is_file(), f"{name}.html was not built"
    assert (site_dir / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax not bundled"
    assert not (site_dir / "solutions").exists(), "solutions must not be published"


# ---------------------------------------------------------------------------------------
# The browser


def _open(page, url: str, wait_until: str = "load") -> None:
    response = page.goto(url, wait_until=wait_until)
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"


def _wait_for_math(page, url: str) -> int:
    """Wait until MathJax has typeset the page; return the number of rendered formulas."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=MATH_TIMEOUT_MS)
        page.evaluate("() => MathJax.startup.promise")
        page.wait_for_selector("article mjx-container", state="attached", timeout=MATH_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pytest.fail(f"{url}: no math rendered by MathJax within {MATH_TIMEOUT_MS / 1000:.0f} s")
    errors = page.locator("article mjx-merror").all_inner_texts()
    assert not errors, f"{url}: MathJax could not typeset: {errors}"
    return page.locator("article mjx-container").count()


def _rendered_figures(page) -> int:
    """Figures in the page body that loaded and have a size (natural width > 0)."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('article img')).every(i => i.complete)"
    )
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('article img'))"
        ".filter(i => i.naturalWidth > 0).length"
    )


@pytest.mark.browser
def test_landing_page_loads_with_title_parts_and_links_to_every_page(
    page, js_errors: list[str], site_url: str
):
    _open(page, f"{site_url}/index.html")  # jupyter-book redirects index to the root page
    page.wait_for_url(re.compile(r"/intro\.html$"))
    assert _plain(CONFIG["title"]) in _plain(page.title())
    heading = _plain(page.locator("article h1").first.inner_text())
    intro_title = (ROOT / "intro.md").read_text(encoding="utf-8").splitlines()[0]
    assert heading == _plain(intro_title.removeprefix("# "))
    captions = [_plain(text) for text in page.locator("nav .caption-text").all_inner_texts()]
    assert captions == [_plain(part["caption"]) for part in TOC["parts"]]
    linked = page.eval_on_selector_all("nav.bd-links a", "links => links.map(a => a.href)")
    for name in NOTEBOOK_PAGES:
        assert any(href.endswith(f"/{name}.html") for href in linked), f"no link to {name}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "landing.png"), full_page=True)
    assert not js_errors


@pytest.mark.browser
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_page_shows_title_figure_math_and_colab_link(
    page, js_errors: list[str], site_url: str, name: str
):
    url = f"{site_url}/{name}.html"
    _open(page, url)
    title = _notebook_title(name)
    heading = _plain(page.locator("article h1").first.inner_text())
    assert heading == title, f"{url}: heading {heading!r}, notebook title {title!r}"
    assert title in _plain(page.title())
    # the page opens with its title: the setup cell (tagged remove-cell) is not shown
    above = page.evaluate(
        "() => { const h = document.querySelector('article h1');"
        " return Array.from(document.querySelectorAll('article .cell'))"
        ".filter(c => c.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING).length; }"
    )
    assert above == 0, f"{url}: {above} cells render above the title"
    assert page.locator("article .cell").count() > 0, f"{url}: no code cell found to compare"
    figures = _rendered_figures(page)
    assert figures == _committed_figures(name), f"{url}: {figures} figures rendered"
    if name not in WITHOUT_FIGURES:
        assert figures >= 1, f"{url}: no rendered figure"
    assert _wait_for_math(page, url) >= 1
    colab = page.locator(f'a[href^="{COLAB_URL}"]').get_attribute("href")
    assert colab == _colab_link(name)
    if name in SCREENSHOTS:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{Path(name).name}.png"), full_page=True)
        figure = page.locator("article img").nth(SCREENSHOTS[name])
        figure.scroll_into_view_if_needed()
        figure.screenshot(path=str(ARTIFACTS / f"{Path(name).name}-figure.png"))
    assert not js_errors, f"{url}: JavaScript errors {js_errors}"


@pytest.mark.browser
def test_colab_link_of_7_2_opens_the_7_2_notebook_of_the_repository(page, site_url: str):
    _open(page, f"{site_url}/chapters/7_2_conv_layer.html")
    href = page.locator(f'a[href^="{COLAB_URL}"]').get_attribute("href")
    repository = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    assert href == f"{COLAB_URL}/github/{repository}/blob/main/chapters/7_2_conv_layer.ipynb"


@pytest.mark.browser
@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_notebook_page_offers_colab_and_the_notebook_download(page, site_url: str, name: str):
    url = f"{site_url}/{name}.html"
    _open(page, url, wait_until="domcontentloaded")
    assert page.locator(f'a[href^="{COLAB_URL}"]').get_attribute("href") == _colab_link(name)
    download = page.locator(".dropdown-download-buttons a[href$='.ipynb']").first
    response = page.request.get(download.evaluate("a => a.href"))
    assert response.ok
    published = json.loads(response.body())
    committed = nbformat.read(ROOT / f"{name}.ipynb", as_version=4)
    assert len(published["cells"]) == len(committed.cells), f"{url}: download is not the notebook"


@pytest.mark.browser
def test_site_search_finds_cross_correlation_in_section_7_2(page, site_url: str):
    _open(page, f"{site_url}/intro.html")
    page.locator(".search-button__button:visible").first.click()
    search_box = page.locator("#pst-search-dialog input[name='q']")
    search_box.fill("cross-correlation")
    search_box.press("Enter")
    page.wait_for_url(re.compile(r"/search\.html\?q=cross-correlation"))
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    hits = page.eval_on_selector_all(
        "#search-results ul.search li a", "links => links.map(a => a.href)"
    )
    assert any("chapters/7_2_conv_layer.html" in href for href in hits), hits


@pytest.mark.browser
def test_pages_load_nothing_from_the_internet(page, external_requests: list[str], site_url: str):
    """MathJax, fonts and scripts come from the site: it works offline, and no CDN is asked."""
    _open(page, f"{site_url}/intro.html")
    page.wait_for_load_state("networkidle")
    _open(page, f"{site_url}/chapters/7_2_conv_layer.html")
    _wait_for_math(page, "chapters/7_2_conv_layer")
    page.wait_for_load_state("networkidle")
    scripts = page.eval_on_selector_all("script[src]", "tags => tags.map(t => t.src)")
    mathjax = [src for src in scripts if "mathjax" in src.lower()]
    assert mathjax and all(src.startswith(site_url) for src in mathjax), mathjax
    assert external_requests == []

"""Write the setup cell, the first cell of every notebook, from ``_config.yml``.

    python tools/setup_cell.py           # rewrite cell 1 of every notebook
    python tools/setup_cell.py --check   # only say which notebooks differ (exit 1 if any)

The cell installs ``convbook[book]`` where it is missing (a fresh Colab runtime) and does
nothing where it is installed (``make book``, a laptop, the grader). Where it installs from
is set in one place, ``repository.url`` in ``_config.yml``; the environment variable
``CONVBOOK_REQUIREMENT`` overrides it at run time with any pip requirement (a built wheel,
a fork, a release). It names no other package, so the runtime's torch and NumPy stay.
The cell is tagged ``remove-cell``: the website does not show it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_GLOBS = ("chapters/*.ipynb", "solutions/*/*.ipynb", "exercises/*/*.ipynb")
REQUIREMENT_VARIABLE = "CONVBOOK_REQUIREMENT"
# The website leaves the cell out, so that each page opens with its title; Colab and
# Jupyter ignore the tag and run the cell first.
HIDDEN_ON_SITE = "remove-cell"


def repository_url(root: Path = REPO) -> str:
    """``repository.url`` from ``_config.yml``: where the book and its package live."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


def default_requirement(root: Path = REPO) -> str:
    """The pip requirement the setup cell installs unless overridden."""
    return f"convbook[book] @ git+{repository_url(root)}"


def setup_cell(root: Path = REPO) -> str:
    """The source of the setup cell."""
    return f"""\
# Colab: install the course helpers once. Locally they are already installed.
try:
    import convbook
except ImportError:
    import os

    # Where from: the book's repository, unless {REQUIREMENT_VARIABLE} names another source.
    requirement = os.environ.get(
        "{REQUIREMENT_VARIABLE}", "{default_requirement(root)}"
    )
    %pip install -q "{{requirement}}\""""


def notebooks(root: Path = REPO) -> list[Path]:
    return sorted(path for pattern in NOTEBOOK_GLOBS for path in root.glob(pattern))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    source = setup_cell()
    stale = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0] if nb.cells else None
        if (
            first is not None
            and first.cell_type == "code"
            and first.source == source
            and HIDDEN_ON_SITE in first.metadata.get("tags", [])
        ):
            continue
        stale.append(path.relative_to(REPO))
        if not args.check:
            if first is None or first.cell_type != "code" or "import convbook" not in first.source:
                raise SystemExit(f"{path}: cell 1 is not a setup cell; add one by hand first")
            first.source = source
            tags = first.metadata.setdefault("tags", [])
            if HIDDEN_ON_SITE not in tags:
                tags.append(HIDDEN_ON_SITE)
            nbformat.write(nb, path)
    verb = "differ" if args.check else "rewritten"
    print(f"{len(stale)} notebooks {verb}" + "".join(f"\n  {path}" for path in stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

"""Regenerate the student releases in exercises/ from the nbgrader sources in solutions/.

Usage, from anywhere:

    python tools/release.py                  # every section
    python tools/release.py 7_2_conv_layer   # some sections

For each section this runs ``nbgrader generate_assignment <slug> --force --no-db`` in the
repository root, which reads nbgrader_config.py (source ``solutions/``, release
``exercises/``): solutions, hidden tests and outputs are removed and the cells are locked
and check-summed. ``--no-db`` keeps nbgrader from writing a gradebook into the repository.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sections(root: Path = REPO) -> list[str]:
    """Slugs of every ``solutions/<slug>/<slug>.ipynb``."""
    notebooks = root.glob("solutions/*/*.ipynb")
    return sorted(p.parent.name for p in notebooks if p.stem == p.parent.name)


def release(slugs: list[str], root: Path = REPO) -> None:
    """Run ``nbgrader generate_assignment`` for each slug in ``root``.

    Raises:
        ValueError: if a slug has no source notebook.
        subprocess.CalledProcessError: if nbgrader fails.
    """
    known = set(sections(root))
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise ValueError(f"no solutions/<slug>/<slug>.ipynb for {unknown}")
    env = dict(os.environ)
    # nbgrader calls the ``alembic`` executable installed next to this Python.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # nbgrader globs the assignment id: "*" releases everything in one (slow to start) run.
    for assignment in ["*"] if set(slugs) == known else slugs:
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment]
        subprocess.run([*command, "--force", "--no-db"], cwd=root, env=env, check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", help="sections to release (default: all)")
    args = parser.parse_args(argv)
    release(args.slugs or sections())


if __name__ == "__main__":
    main()

"""Execute notebooks in place, as the website and nbval expect them.

    CONVBOOK_BUDGET=cpu python tools/execute.py chapters/7_6_lenet.ipynb ...

Runs each notebook top to bottom in its own folder with a fresh kernel
(``convbook.notebooks.execute``), keeps the outputs, and stops at the first failing cell
with the notebook's name and the error; a notebook that fails is left as it was.
"""

import argparse
import os
import sys
from pathlib import Path

from convbook.notebooks import execute


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    os.environ.setdefault("CONVBOOK_PROGRESS", "0")
    budget = os.environ.get("CONVBOOK_BUDGET", "(default)")
    for path in args.notebooks:
        run = execute(path, write=True, timeout=args.timeout)
        if not run.ok:
            print(f"{path}: failed at {run.error}", file=sys.stderr)
            return 1
        print(f"{path}: executed in {run.seconds:.0f} s (budget {budget})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

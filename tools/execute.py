"""Execute notebooks in place, as the website and nbval expect them.

    CONVBOOK_BUDGET=cpu python tools/execute.py chapters/7_6_lenet.ipynb ...

Runs each notebook top to bottom in its own folder with a fresh kernel, keeps the outputs,
and stops at the first failing cell with the notebook's name and the error.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    os.environ.setdefault("CONVBOOK_PROGRESS", "0")
    budget = os.environ.get("CONVBOOK_BUDGET", "(default)")
    for path in args.notebooks:
        try:
            seconds = execute(path, args.timeout)
        except CellExecutionError as exc:
            print(f"{path}: failed\n{exc}", file=sys.stderr)
            return 1
        print(f"{path}: executed in {seconds:.0f} s (budget {budget})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

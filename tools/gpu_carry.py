"""Prepare ``.gpu/``, the folder to carry to the lent GPU machine for ``tools/gpu_check.py``.

    python tools/gpu_carry.py            # from the dev venv (make book or make test made it)

The GPU machine (DEVELOPERS.md) has Python 3.12 with torch, torchvision, NumPy, SciPy,
matplotlib, scikit-image and scikit-learn, but no Jupyter, no nbgrader and no network.
This writes, within the 64 MiB a call may carry:

- ``.gpu/wheels/``: the ``convbook`` wheel, and wheels for CPython 3.12 of everything
  ``convbook[book,grading]``, ``ipykernel`` and ``nbclient`` need that is not already part
  of that scientific stack, at the versions of ``requirements/lock.txt``;
- ``.gpu/data/fashion-mnist/``: a copy of the offline sample (``$CONVBOOK_DATA_DIR``).

Then, with the device tool: ``run(command="python3 tools/gpu_check.py --carry .gpu",
carry=[".gpu"])``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEST = REPO / ".gpu"
LIMIT_MIB = 56  # of the 64 MiB a call carries; the working tree needs the rest
# What the book needs there, and the stack the GPU image already has (not carried).
NEEDED = ["convbook[book,grading]", "ipykernel", "nbclient"]
# The notebook front ends nbgrader declares but grading never imports (17 MiB and more).
NOT_IMPORTED = ["jupyterlab", "notebook", "ipywidgets", "jupyter-lsp", "jupyterlab-server"]
ON_IMAGE = ["torch", "torchvision", "numpy", "scipy", "matplotlib", "scikit-image", "scikit-learn"]
TARGET = {  # the GPU machine's interpreter, for evaluating environment markers
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: list[str], prune: tuple[str, ...] = ()) -> dict[str, str]:
    """Every distribution ``roots`` need on the target, as installed here: name -> version.
    Names in ``prune`` are left out with everything only they need."""
    found: dict[str, str] = {}
    todo = [Requirement(root) for root in roots]
    seen: set[tuple[str, frozenset]] = set()
    while todo:
        requirement = todo.pop()
        key = (_key(requirement.name), frozenset(requirement.extras))
        if key in seen or key[0] in {_key(name) for name in prune}:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            message = f"{requirement.name} is not installed here: run make test first"
            raise SystemExit(message) from None
        found[_key(dist.metadata["Name"])] = dist.version
        for line in dist.requires or []:
            child = Requirement(line)
            extras = [""] + sorted(requirement.extras)
            if child.marker is None or any(
                Marker(str(child.marker)).evaluate({**TARGET, "extra": extra}) for extra in extras
            ):
                todo.append(child)
    return found


def build_wheel(dest: Path) -> Path:
    """Build the ``convbook`` wheel into ``dest`` from a clean copy of the sources, so no
    ``build/`` folder is left in the checkout and none of its stale files get packaged."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
        shutil.copytree(REPO / "helpers", source / "helpers", ignore=ignore)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, source / name)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
             "-w", str(dest), str(source)],
            check=True,
        )  # fmt: skip
    [wheel] = Path(dest).glob("convbook-*.whl")
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument(
        "--data", type=Path, help="the offline sample (default: $CONVBOOK_DATA_DIR)"
    )
    args = parser.parse_args(argv)
    default_data = REPO.parent / "shared" / "data" / "fashion-mnist"
    data = args.data or Path(os.environ.get("CONVBOOK_DATA_DIR", default_data))
    if not (data / "test-0000-1999.npz").is_file():
        raise SystemExit(f"{data} does not hold the offline Fashion-MNIST sample")
    wheels = args.dest / "wheels"
    shutil.rmtree(args.dest, ignore_errors=True)
    wheels.mkdir(parents=True)

    carried = closure(NEEDED, prune=tuple(NOT_IMPORTED))
    for name in closure(ON_IMAGE):
        carried.pop(name, None)
    carried.pop("convbook", None)
    pins = [f"{name}=={version}" for name, version in sorted(carried.items())]
    platform_flags = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--python-version", "3.12", "--implementation", "cp", *platform_flags,
         "-d", str(wheels), *pins],
        check=True,
    )  # fmt: skip
    build_wheel(wheels)
    shutil.copytree(data, args.dest / "data" / "fashion-mnist")

    size = sum(path.stat().st_size for path in args.dest.rglob("*") if path.is_file()) / 2**20
    print(f"{args.dest}: {len(list(wheels.glob('*.whl')))} wheels and the data, {size:.1f} MiB")
    if size > LIMIT_MIB:
        print(f"more than {LIMIT_MIB} MiB: the device tool would refuse it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

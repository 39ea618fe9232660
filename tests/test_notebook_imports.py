"""Every module a notebook imports is declared: stdlib, convbook, a dependency or an extra.

A quick static guard; ``test_fresh_install.py`` proves the same by running the notebooks
in a venv that holds only the wheel and what it declares.
"""

import ast
import functools
import re
import runpy
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import nbformat
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = runpy.run_path(str(ROOT / "tools" / "setup_cell.py"))["notebooks"]()


@functools.cache
def _owners() -> dict[str, list[str]]:
    return packages_distributions()


@functools.cache
def _declared() -> dict[str, str]:
    """Distribution (normalised) -> "core" or the extra that lists it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    declared = {}
    for group, requirements in groups.items():
        for requirement in requirements:
            name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
            declared.setdefault(re.sub(r"[-_.]+", "-", name).lower(), group)
    return declared


def _imports(path: Path) -> set[str]:
    modules = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        # IPython magics and shell lines are not Python; the setup cell's %pip is one.
        source = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_every_import_is_stdlib_convbook_or_declared(path):
    declared, owners = _declared(), _owners()
    undeclared = []
    for module in sorted(_imports(path)):
        if module in sys.stdlib_module_names or module == "convbook":
            continue
        distributions = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(module, [])}
        if not distributions & declared.keys():
            undeclared.append(f"{module} (from {sorted(distributions) or 'nothing installed'})")
    assert not undeclared, f"{path.name} imports what pyproject.toml does not declare: {undeclared}"


def test_the_check_sees_imports_in_the_chapters():
    assert {"torch", "matplotlib", "scipy", "convbook"} <= set().union(*map(_imports, NOTEBOOKS))

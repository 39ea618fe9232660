"""Catch submissions that earn points by changing the tests' tools instead of solving.

Two independent checks, because each alone can be dodged:

* ``scan_source`` reads the student's code without running it and flags monkeypatching
  (``torch.allclose = ...``, ``setattr``, ``sys.modules``, ``builtins``, ``__eq__``
  overrides, IPython input transformers) and the dynamic tricks that could hide it
  (``exec``, ``globals()``, ``__dict__``, ``gc``, ``ctypes``).
* guard cells run in the grading kernel (``convbook.grading.scope``): one before any
  student code takes a snapshot of the modules the tests rely on, and one before and after
  every test cell checks they are unchanged.

Neither is what keeps a test honest against a redefined name: each test runs in a scope
of its own (``scope.run_test``), so only changes to shared modules are left to catch here.
"""

from __future__ import annotations

import ast
import re
import secrets

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

__all__ = ["GUARD_TAG", "Guard", "scan_source", "scan_notebook"]

GUARD_TAG = "convbook-guard"

# Names whose attributes a submission has no business assigning.
_MODULE_NAMES = {
    "torch", "nn", "F", "np", "numpy", "builtins", "__builtins__", "sys", "os", "math",
    "random", "convbook", "d2l", "IPython", "testing", "functional", "unittest", "types",
}  # fmt: skip
_TEST_HELPERS = {
    "allclose", "isclose", "equal", "eq", "ne", "all", "any", "assert_close", "assert_allclose",
    "assert_array_equal", "assert_equal", "assert_almost_equal", "array_equal", "testing",
}  # fmt: skip
_COMPARISON_DUNDERS = {
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__",
    "__int__", "__index__", "__len__", "__array__", "__array_function__", "__array_ufunc__",
    "__torch_function__", "__torch_dispatch__", "__instancecheck__", "__subclasscheck__",
    "__getattribute__", "__setattr__", "__class_getitem__", "__init_subclass__",
}  # fmt: skip
_INTROSPECTION_ATTRS = {
    "__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__", "__dict__",
    "__mro__", "__bases__", "__class__", "f_globals", "f_locals", "f_back", "__setattr__",
    "__getattribute__", "__defaults__", "__kwdefaults__", "__wrapped__", "modules",
    "input_transformers_cleanup", "input_transformers_post", "ast_transformers",
    "set_custom_exc", "events", "register_magic_function", "showtraceback", "settrace",
    "setprofile", "_getframe", "excepthook",
}  # fmt: skip
_FORBIDDEN_CALLS = {
    "exec",
    "eval",
    "compile",
    "__import__",
    "globals",
    "vars",
    "delattr",
    "breakpoint",
}
_FORBIDDEN_MODULES = {
    "builtins", "ctypes", "gc", "importlib", "inspect", "unittest", "mock", "types",
    "cffi", "pytest", "_testcapi", "dis", "code", "codeop",
    # code the scan cannot read: loaded from files, pickles or other modules' loaders
    "runpy", "pickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib",
    "site", "pkgutil", "zipimport", "imp", "copyreg",
    # code that runs while a test runs, between two guard checks
    "threading", "_thread", "concurrent", "multiprocessing", "asyncio", "sched",
}  # fmt: skip
# IPython turns magics into these calls; they are allowed.
_MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}
# Magics that run code the scan cannot read (a file, another language, a stored macro).
# (%load_ext autoreload, %pdb, %matplotlib, %pip and shell escapes stay allowed: honest
# notebooks use them, and they run no code of the student's.)
_CODE_MAGICS = {
    "run", "load", "loadpy", "writefile", "file", "script", "bash", "sh", "python",
    "python2", "python3", "pypy", "perl", "ruby", "macro", "store", "edit", "rerun",
    "recall", "config", "alias_magic", "px", "pxresult", "autopx",
}  # fmt: skip
# Magics whose argument is Python code that runs in the kernel: scanned like a cell.
_PYTHON_MAGICS = {"time", "timeit", "prun", "capture", "pypy"}
# Names of the dynamic tools that must only ever be called directly (never passed around).
_DYNAMIC_NAMES = {"setattr", "delattr", "getattr", "vars", "globals", "locals", "exec",
                  "eval", "compile", "__import__"}  # fmt: skip


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


class _Scanner(ast.NodeVisitor):
    def __init__(self, aliases: set[str], sys_names: set[str], modules: set[str]) -> None:
        self.aliases = aliases
        self.sys_names = sys_names
        self.modules = modules  # names bound to modules
        self.findings: list[tuple[int, str]] = []
        self.attribute_roots: set[int] = set()  # Name nodes used as ``name.attr``
        self.called: set[int] = set()  # Name nodes used as ``name(...)``
        self.magic_shells: set[int] = set()  # get_ipython() calls IPython wrote for magics

    def prepare(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                self.attribute_roots.add(id(node.value))
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name):
                    self.called.add(id(node.func))
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in _MAGIC_CALLS
                    and isinstance(func.value, ast.Call)
                    and isinstance(func.value.func, ast.Name)
                    and func.value.func.id == "get_ipython"
                ):
                    self.magic_shells.add(id(func.value))
                    self._check_magic(node, func.attr)

    def _check_magic(self, node: ast.Call, kind: str) -> None:
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if kind not in {"run_line_magic", "run_cell_magic"} or not args:
            return
        name = str(args[0]).split()[0] if args[0] else ""
        if name in _CODE_MAGICS:
            self.flag(node, f"uses the %{name} magic (it runs code the grader cannot check)")
            return
        if name in _PYTHON_MAGICS:
            code = args[2] if kind == "run_cell_magic" and len(args) > 2 else args[1:2]
            code = code[0] if isinstance(code, list) and code else code
            if isinstance(code, str):
                for finding in scan_source(code):
                    self.flag(node, f"in %{name}: {finding}")

    def flag(self, node: ast.AST, what: str) -> None:
        self.findings.append((getattr(node, "lineno", 0), what))

    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
        elif isinstance(target, ast.Attribute):
            root = _root_name(target)
            if root is None:
                self.flag(
                    target, f"assigns {ast.unparse(target)[:60]} (an attribute of an expression)"
                )
            elif root in self.aliases or root in _MODULE_NAMES:
                self.flag(target, f"assigns {ast.unparse(target)} (monkeypatching {root})")
            elif target.attr.startswith("__") or target.attr in _TEST_HELPERS:
                self.flag(target, f"assigns {ast.unparse(target)}")
        elif isinstance(target, ast.Subscript):
            text = ast.unparse(target.value)
            if re.search(r"modules|__dict__|globals|vars\(|__builtins__", text):
                self.flag(target, f"assigns into {text}")
        elif isinstance(target, ast.Name) and target.id == "__builtins__":
            self.flag(target, "replaces __builtins__")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top in _FORBIDDEN_MODULES or alias.name == "unittest.mock":
                self.flag(node, f"imports {alias.name}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        top = (node.module or "").split(".")[0]
        if top in _FORBIDDEN_MODULES:
            self.flag(node, f"imports from {node.module}")
        for alias in node.names:
            if alias.name in _TEST_HELPERS | {"modules", "setattr"} and top in {"sys", "builtins"}:
                self.flag(node, f"imports {alias.name} from {node.module}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in _FORBIDDEN_CALLS:
                self.flag(node, f"calls {func.id}()")
            elif func.id == "setattr":
                target = node.args[0] if node.args else None
                if not (isinstance(target, ast.Name) and target.id == "self"):
                    self.flag(node, f"calls {ast.unparse(node)[:60]}")
            elif func.id == "get_ipython":
                if id(node) not in self.magic_shells:
                    self.flag(node, "uses get_ipython() (the kernel's own machinery)")
            elif func.id == "getattr" and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and str(name.value) in _INTROSPECTION_ATTRS:
                    self.flag(node, f"reads {name.value} with getattr")
        elif isinstance(func, ast.Attribute):
            root_call = func.value
            if (
                isinstance(root_call, ast.Call)
                and isinstance(root_call.func, ast.Name)
                and root_call.func.id == "get_ipython"
                and func.attr not in _MAGIC_CALLS
            ):
                self.flag(node, f"calls get_ipython().{func.attr}")
            if func.attr in {"setattr", "__setattr__", "patch", "patch.object"}:
                self.flag(node, f"calls {ast.unparse(func)}")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in {"modules", "path", "meta_path", "path_hooks"}:  # sys.modules, sys.path
            if isinstance(node.value, ast.Name) and node.value.id in self.sys_names:
                self.flag(node, f"uses {ast.unparse(node)}")
        elif node.attr in _INTROSPECTION_ATTRS:
            # Reading x.__class__ (for its name, say) is ordinary code; what can reach
            # further (__bases__, __subclasses__, __dict__...) is flagged on its own.
            if not (node.attr == "__class__" and isinstance(node.ctx, ast.Load)):
                self.flag(node, f"uses {ast.unparse(node)[:60]}")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in {"__builtins__", "__import__"}:
            self.flag(node, f"uses {node.id}")
        elif node.id in _DYNAMIC_NAMES and id(node) not in self.called:
            self.flag(node, f"passes {node.id} around instead of calling it")
        elif (
            node.id in self.modules
            and isinstance(node.ctx, ast.Load)
            and id(node) not in self.attribute_roots
        ):
            self.flag(node, f"uses the module {node.id} as a value")
        elif node.id in self.sys_names and id(node) not in self.attribute_roots:
            self.flag(node, f"uses the module {node.id} as a value")

    def _check_class_body(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            text = ast.unparse(base)
            if re.search(r"(^|\.)(Tensor|ndarray|ModuleType|type)$", text):
                self.flag(node, f"class {node.name} subclasses {text}")
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if item.name in _COMPARISON_DUNDERS:
                    self.flag(item, f"class {node.name} defines {item.name}")
            elif isinstance(item, ast.Assign):
                for target in item.targets:
                    if isinstance(target, ast.Name) and target.id in _COMPARISON_DUNDERS:
                        self.flag(item, f"class {node.name} sets {target.id}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._check_class_body(node)
        for keyword in node.keywords:
            if keyword.arg == "metaclass":
                self.flag(node, f"class {node.name} uses a metaclass")
        self.generic_visit(node)


def _import_aliases(tree: ast.AST) -> set[str]:
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            # from torch import nn -> nn is a module; from torch import tensor is a function,
            # whose attributes nobody assigns either
            aliases.update(a.asname or a.name for a in node.names)
    return aliases


# Names the course's locked cells bind to modules, and submodules people import by name.
_KNOWN_MODULES = {
    "torch", "nn", "F", "np", "numpy", "math", "random", "os", "convbook", "d2l",
    "functional", "testing", "init", "optim", "ops", "pooling", "checks",
}  # fmt: skip


def _module_names(tree: ast.AST) -> set[str]:
    names = set(_KNOWN_MODULES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def scan_source(source: str) -> list[str]:
    """Flag monkeypatching and dynamic tricks in one code cell's source.

    Args:
        source: cell source; IPython magics are allowed.

    Returns:
        One human-readable finding per suspicious line, e.g. ``"line 1: assigns
        torch.allclose (monkeypatching torch)"``; empty when nothing is suspicious.
    """
    try:
        python = TransformerManager().transform_cell(source)
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        return []  # a syntax error scores 0 by itself
    sys_names = {"sys"} | {
        a.asname or a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
        if a.name == "sys"
    }
    scanner = _Scanner(_import_aliases(tree), sys_names, _module_names(tree))
    scanner.prepare(tree)
    scanner.visit(tree)
    return [f"line {line}: {what}" for line, what in sorted(set(scanner.findings))]


def scan_notebook(nb: nbformat.NotebookNode, trusted_ids: set[str]) -> list[str]:
    """Scan every code cell the student could have written.

    Args:
        nb: the submitted notebook.
        trusted_ids: nbgrader grade_ids of locked cells (restored from the source, so not scanned).

    Returns:
        Findings prefixed with the cell number, e.g. ``"cell 3, line 1: ..."``.
    """
    findings = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in trusted_ids:
            continue
        findings.extend(f"cell {index + 1}, {item}" for item in scan_source(cell.get("source", "")))
    return findings


class Guard:
    """The cells the worker adds around a notebook's tests (see ``convbook.grading.scope``).

    Each check cell prints a fresh random token; the grader, outside the kernel, only trusts
    a check whose output carries its token and says ``ok``.
    """

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def _cell(self, source: str) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [GUARD_TAG]
        return cell

    def setup_cell(
        self, context: str, tests: dict[str, str], answers: tuple[str, ...]
    ) -> nbformat.NotebookNode:
        """The cell that loads the tests' imports, keeps the tests and takes the snapshot,
        before any student code (``execute`` runs it without history).

        Args:
            context: the assignment's locked import and constant cells, as plain Python.
            tests: each test cell's code by grade_id.
            answers: the names a test may take from the notebook.
        """
        source = (
            "import convbook.grading.scope\n"
            f"convbook.grading.scope.setup({context!r}, {tests!r}, {tuple(answers)!r})\n"
            "print('CONVBOOK-GUARD setup ok')"
        )
        return self._cell(source)

    def check_cell(self) -> nbformat.NotebookNode:
        """A cell that checks the snapshot and prints a fresh token."""
        token = secrets.token_hex(12)
        self.tokens.append(token)
        return self._cell(f"import convbook.grading.scope\nconvbook.grading.scope.check({token!r})")

    @staticmethod
    def test_source(name: str) -> str:
        """What a test cell runs instead of its own code: the kept test, in its own scope."""
        return f"import convbook.grading.scope\nconvbook.grading.scope.run_test({name!r})"

    def verdict(self, cell: nbformat.NotebookNode) -> str | None:
        """What a guard cell's output says.

        Args:
            cell: an executed guard cell.

        Returns:
            None when the cell printed its own token and ``ok``; otherwise what went wrong.
        """
        match = re.search(r"\('([0-9a-f]{24})'\)\s*$", cell.source)
        token = match.group(1) if match else "setup"
        text = "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"
        )
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and errors[0].get("ename") in {"CellTimeoutError", "DeadKernel", "NotExecuted"}:
            return None  # judged as a timeout or a dead kernel instead
        if f"CONVBOOK-GUARD {token} ok" in text:
            return None
        match = re.search(rf"CONVBOOK-GUARD {token} changed:(.+)", text)
        if match:
            return f"changed {match.group(1).replace(',', ', ')} during grading"
        return "the grader's integrity check did not run as expected (its output was altered)"

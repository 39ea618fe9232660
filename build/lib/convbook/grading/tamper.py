"""Catch submissions that earn points by changing the tests' tools instead of solving.

Two independent checks, because each alone can be dodged:

* ``scan_source`` reads the student's code without running it and flags monkeypatching
  (``torch.allclose = ...``, ``setattr``, ``sys.modules``, ``builtins``, ``__eq__``
  overrides, IPython input transformers) and the dynamic tricks that could hide it
  (``exec``, ``globals()``, ``__dict__``, ``gc``, ``ctypes``).
* guard cells run in the grading kernel: one before any student code captures the
  functions the tests rely on, and one before and after every test cell checks they are
  unchanged. Each guard prints a fresh random token; the grader, outside the kernel, only
  trusts a guard whose output carries its token and says ``ok``.
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
}  # fmt: skip
# IPython turns magics into these calls; they are allowed.
_MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


class _Scanner(ast.NodeVisitor):
    def __init__(self, aliases: set[str], sys_names: set[str]) -> None:
        self.aliases = aliases
        self.sys_names = sys_names
        self.findings: list[tuple[int, str]] = []

    def flag(self, node: ast.AST, what: str) -> None:
        self.findings.append((getattr(node, "lineno", 0), what))

    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
        elif isinstance(target, ast.Attribute):
            root = _root_name(target)
            if root in self.aliases or root in _MODULE_NAMES:
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
                pass  # judged by the attribute used on it, below
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
        if node.attr == "modules":  # sys.modules, but not nn.Module.modules()
            if isinstance(node.value, ast.Name) and node.value.id in self.sys_names:
                self.flag(node, f"uses {ast.unparse(node)}")
        elif node.attr in _INTROSPECTION_ATTRS:
            root = _root_name(node)
            if not (node.attr == "__class__" and root == "self"):
                self.flag(node, f"uses {ast.unparse(node)[:60]}")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in {"__builtins__", "__import__"}:
            self.flag(node, f"uses {node.id}")

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
    scanner = _Scanner(_import_aliases(tree), sys_names)
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


# The capture runs before any student code. It keeps the references in a closure, so
# the student's code has no name to reach them by (and the scan forbids the tricks that could).
_SETUP = """\
def _convbook_guard_factory():
    import builtins, sys
    names = {
        "builtins": ["isinstance", "len", "abs", "all", "any", "print", "type", "float", "int",
                     "bool", "round", "sum", "min", "max", "range", "zip", "repr", "str",
                     "getattr", "hasattr", "issubclass", "AssertionError", "Exception"],
        "torch": ["allclose", "equal", "isclose", "eq", "ne", "all", "any", "abs", "max", "min",
                  "sum", "manual_seed", "randn", "rand", "randint", "tensor", "is_tensor", "zeros",
                  "ones", "arange", "Tensor", "Size", "no_grad"],
        "torch.testing": ["assert_close"],
        "torch.nn.functional": ["conv2d", "avg_pool2d", "max_pool2d", "relu", "pad"],
        "numpy": ["allclose", "array_equal", "isclose", "all", "any", "abs", "ndarray"],
        "numpy.testing": ["assert_allclose", "assert_array_equal", "assert_equal",
                          "assert_almost_equal"],
    }
    tensor_attrs = ["__eq__", "__ne__", "__bool__", "__float__", "__len__", "__getitem__",
                    "__sub__", "__add__", "__mul__", "__abs__", "__lt__", "__le__", "__gt__",
                    "__ge__", "allclose", "equal", "eq", "all", "any", "abs", "max", "sum",
                    "item", "tolist", "size", "shape", "dim", "numpy", "float",
                    "__torch_function__"]
    import importlib
    modules = {}
    for module_name in names:
        try:
            modules[module_name] = importlib.import_module(module_name)
        except ImportError:
            pass
    captured = {(m, n): getattr(modules[m], n) for m in modules for n in names[m]
                if hasattr(modules[m], n)}
    tensor_type = getattr(modules.get("torch"), "Tensor", None)
    tensor_captured = {n: tensor_type.__dict__.get(n) for n in tensor_attrs} if tensor_type else {}
    ip = get_ipython()
    hooks = lambda: (list(ip.input_transformers_cleanup), list(ip.input_transformers_post),
                     list(ip.ast_transformers), tuple(ip.custom_exceptions),
                     {k: list(v) for k, v in ip.events.callbacks.items()}, sys.excepthook)
    hooks_captured = hooks()
    getter, identical, printer, sorted_ = getattr, lambda a, b: a is b, print, sorted

    def check(token):
        changed = []
        for module_name, module in modules.items():
            if sys.modules.get(module_name) is not module:
                changed.append("sys.modules[" + module_name + "]")
        for (m, n), ref in captured.items():
            if not identical(getter(modules[m], n, None), ref):
                changed.append(m + "." + n)
        for n, ref in tensor_captured.items():
            if not identical(tensor_type.__dict__.get(n), ref):
                changed.append("torch.Tensor." + n)
        if hooks() != hooks_captured:
            changed.append("IPython hooks")
        if sys.gettrace() is not None or sys.getprofile() is not None:
            changed.append("sys.settrace")
        verdict = "changed:" + ",".join(sorted_(changed)) if changed else "ok"
        printer("CONVBOOK-GUARD", token, verdict)

    return check
"""


class Guard:
    """Guard cells for one grading run, each with its own random token."""

    def __init__(self) -> None:
        self.name = f"_convbook_check_{secrets.token_hex(8)}"
        self.tokens: list[str] = []

    def _cell(self, source: str) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [GUARD_TAG]
        return cell

    def setup_cell(self) -> nbformat.NotebookNode:
        """The cell that captures the references; runs before any student code."""
        source = f"{_SETUP}{self.name} = _convbook_guard_factory()\ndel _convbook_guard_factory\n"
        return self._cell(source + "print('CONVBOOK-GUARD setup ok')")

    def check_cell(self) -> nbformat.NotebookNode:
        """A cell that checks the references and prints a fresh token."""
        token = secrets.token_hex(12)
        self.tokens.append(token)
        return self._cell(f"{self.name}({token!r})")

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

"""An answer's code, found in a notebook (or in this process), as the rules check it.

* :func:`closure` finds an answer's code in a notebook: its ``def`` (the last one before
  the test), the top-level definitions, imports and assignments it reads, and so on,
  transitively. A name the answer needs but that a cell binds in a way the grader cannot
  follow (inside a loop, an ``if``, a ``with``) is refused, naming the line.
* :func:`function_code` does the same for a function of this process, from its source
  and the globals it reads (the student's own kernel, running the visible checks).

``rules.check`` then checks that code; the grader runs exactly it (``Closure.code``).
"""

from __future__ import annotations

import ast
import importlib
import symtable
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Closure", "RuleBroken", "Source", "closure", "dotted", "function_code", "is_module",
    "public_path", "python_of", "resolve_path",
]  # fmt: skip


class RuleBroken(Exception):
    """The answer's source breaks its rule; the message names the line and says why."""


@dataclass
class Source:
    """One top-level statement of the answer's code, and where it came from."""

    node: ast.stmt
    cell: int  # index of the cell in the notebook
    label: str  # how messages name the cell ("the cell that defines max_relu")


@dataclass
class _Binding:
    kind: str  # "def", "assign", "import", "dynamic"
    node: ast.stmt
    cell: int
    target: str = ""  # import: the dotted path the name stands for


@dataclass
class Closure:
    """An answer's code: the statements to run, in notebook order, and what its names are.

    Attributes:
        statements: the top-level statements, in the order the notebook runs them.
        aliases: name -> dotted path, for names that stand for a module or a function
            (imports, and assignments such as ``G = torch.nn.functional``).
        own: names the code defines itself (functions, values it computes).
    """

    statements: list[Source] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    chains: dict[str, list[str]] = field(default_factory=dict)
    own: set[str] = field(default_factory=set)

    def code(self) -> str:
        return "\n\n".join(ast.unparse(s.node) for s in self.statements)


def python_of(cell_source: str) -> str:
    """A code cell as plain Python (IPython magics become calls, as the kernel runs them);
    the bodies of ``%%capture`` and ``%%time`` cells are their own code."""
    from IPython.core.inputtransformer2 import TransformerManager

    text = TransformerManager().transform_cell(cell_source)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        call = tree.body[0].value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_cell_magic"
            and len(call.args) == 3
            and all(isinstance(a, ast.Constant) for a in call.args)
            and call.args[0].value in ("capture", "time")
        ):
            return python_of(call.args[2].value)
    return text


class _Binds(ast.NodeVisitor):
    """Names a statement binds in the cell's namespace (not inside its functions)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.names.append(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.append(node.id)

    def visit_alias(self, node: ast.alias) -> None:
        self.names.append((node.asname or node.name).split(".")[0])

    def visit_Global(self, node: ast.Global) -> None:
        self.names.extend(node.names)


def _bound_names(node: ast.stmt) -> list[str]:
    binds = _Binds()
    binds.visit(node)
    return list(dict.fromkeys(binds.names))


def _bindings(cells: list[tuple[int, str]]) -> dict[str, _Binding]:
    """The last top-level binding of every name in ``cells`` (index, python source)."""
    found: dict[str, _Binding] = {}
    for index, text in cells:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue  # the kernel ran none of it either
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found[node.name] = _Binding("def", node, index)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        found[alias.asname] = _Binding("import", node, index, alias.name)
                    else:
                        top = alias.name.split(".")[0]
                        found[top] = _Binding("import", node, index, top)
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    found[alias.asname or alias.name] = _Binding(
                        "import", node, index, f"{module}.{alias.name}"
                    )
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _simple_targets(node):
                for name in _bound_names(node):
                    found[name] = _Binding("assign", node, index)
            else:
                for name in _bound_names(node):
                    found[name] = _Binding("dynamic", node, index)
    return found


def _simple_targets(node: ast.Assign | ast.AnnAssign) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if isinstance(node, ast.AnnAssign) and node.value is None:
        return False
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, (ast.Attribute, ast.Subscript, ast.Starred)):
                return False
    return True


def _free_names(node: ast.stmt) -> set[str]:
    """Global names a top-level statement reads (its functions' bodies included)."""
    text = ast.unparse(node)
    table = symtable.symtable(text, "<answer>", "exec")
    names: set[str] = set()

    def visit(scope: symtable.SymbolTable, top: bool) -> None:
        for symbol in scope.get_symbols():
            if top:
                if symbol.is_referenced():
                    names.add(symbol.get_name())
            elif symbol.is_global() and symbol.is_referenced():
                names.add(symbol.get_name())
        for child in scope.get_children():
            visit(child, False)

    visit(table, True)
    return names


def _import_of(name: str, target: str, node: ast.stmt) -> ast.stmt:
    """A statement that imports only ``name`` (the cell's may import more)."""
    if isinstance(node, ast.ImportFrom):
        module, _, attribute = target.rpartition(".")
        made = ast.ImportFrom(module=module.lstrip("."), names=[ast.alias(attribute, name)],
                              level=len(module) - len(module.lstrip(".")))  # fmt: skip
    elif target == name:
        made = ast.Import(names=[ast.alias(target)])
    else:
        made = ast.Import(names=[ast.alias(target, name)])
    return ast.copy_location(ast.fix_missing_locations(made), node)


def closure(
    answer: str, cells: list[tuple[int, str]], context: dict[str, Any], labels: dict[int, str]
) -> Closure:
    """The code an answer needs, from the notebook cells before its test.

    Args:
        answer: the answer's name.
        cells: (index, plain Python) of the code cells before the test, in order.
        context: the course's names (the assignment's locked imports and constants, as
            run by the grader); a name the notebook does not rebind comes from there.
        labels: how messages call each cell, by index.

    Raises:
        RuleBroken: if a needed name is bound where the grader cannot follow it.
    """
    bindings = _bindings(cells)
    result = Closure()
    chosen: list[Source] = []
    taken: set[int] = set()
    todo, seen = [answer], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        binding = bindings.get(name)
        if binding is None:
            continue  # the course's name, a builtin, or undefined (it fails when called)
        label = labels.get(binding.cell, f"cell {binding.cell}")
        if binding.kind == "dynamic":
            kind = type(binding.node).__name__.lower()
            raise RuleBroken(
                f"line {binding.node.lineno} of {label}: {name} is bound inside a {kind} "
                f"statement, which the grader cannot follow; define {name} at the top level "
                "of a cell (a def, an import or a plain assignment)"
            )
        node = binding.node
        if binding.kind == "import":
            result.aliases[name] = binding.target
            node = _import_of(name, binding.target, binding.node)
        elif binding.kind == "assign":
            chain = dotted(binding.node.value) if binding.node.value is not None else None
            if chain is not None and len(_bound_names(binding.node)) == 1:
                result.chains[name] = chain
            else:
                result.own.add(name)
        else:
            result.own.add(name)
        if binding.kind == "import" or id(node) not in taken:
            taken.add(id(node))
            chosen.append(Source(node, binding.cell, label))
            todo.extend(_free_names(node))
    result.statements = sorted(chosen, key=lambda s: (s.cell, s.node.lineno))
    return result


def resolve_path(path: str) -> Any:
    """The object a dotted path names, without importing a new top-level package."""
    parts = path.split(".")
    if parts[0] not in sys.modules:
        return None
    for split in range(len(parts), 0, -1):
        module = ".".join(parts[:split])
        if module in sys.modules or split == 1:
            owner = sys.modules.get(module)
            if owner is None:
                try:
                    owner = importlib.import_module(module)
                except ImportError:
                    return None
            try:
                for attribute in parts[split:]:
                    owner = getattr(owner, attribute)
            except AttributeError:
                return None
            return owner
    return None


def dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def is_module(value: Any) -> bool:
    return type(value).__name__ == "module"


def public_path(value: Any, fallback: str) -> str:
    """The dotted path a function is known by (``torch.max``, not the class it is bound
    in), as long as that path leads back to it."""
    module = value.__module__
    for name in (getattr(value, "__name__", None), getattr(value, "__qualname__", None)):
        if name and resolve_path(f"{module}.{name}") is value:
            return f"{module}.{name}"
    return f"{module}.{getattr(value, '__qualname__', fallback)}"


def function_code(fn: Any) -> Closure:
    """The code of a function of this process and of the notebook functions it calls, with
    what its other names stand for. A function whose source cannot be read is left out."""
    import inspect
    import textwrap
    import types

    code = Closure()
    todo, seen = [fn], set()
    while todo:
        function = todo.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        try:
            lines, start = inspect.getsourcelines(function)
            node = ast.parse(textwrap.dedent("".join(lines))).body[0]
        except (OSError, TypeError, SyntaxError, IndexError):
            continue
        ast.increment_lineno(node, max(start, 1) - 1)
        label = f"the cell that defines {function.__name__}"
        code.statements.append(Source(node, 0, label))
        code.own.add(function.__name__)
        names: set[str] = set()
        stack = [function.__code__]
        while stack:
            current = stack.pop()
            names.update(current.co_names)
            names.update(current.co_freevars)
            stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        cells = dict(
            zip(
                function.__code__.co_freevars,
                [c.cell_contents for c in function.__closure__ or ()],
                strict=False,
            )
        )
        for name in names:
            if name in cells:
                value = cells[name]
            elif name in function.__globals__:
                value = function.__globals__[name]
            else:
                continue
            if is_module(value):
                code.aliases[name] = value.__name__
            elif isinstance(value, types.FunctionType) and value.__module__ == function.__module__:
                todo.append(value)
            elif callable(value) and getattr(value, "__module__", None):
                code.aliases[name] = public_path(value, name)
            else:
                code.own.add(name)
    return code

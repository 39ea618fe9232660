"""Rules about how an answer is written, checked on its source (section rules of 7.1-8.6).

Some exercises say *how* an answer must be computed: "only ``F.relu`` and arithmetic",
"arithmetic only", "without the pooling functions". This module checks such a rule on the
answer's source code, as an allow-list (or deny-list) over its syntax tree, before the
answer runs. The grader (``harness.py``) then runs exactly the code it checked, in a
namespace that holds only the course's imports and that code: what the rest of the
notebook does cannot change what the checked names mean there.

The answer's code comes from ``answer_code`` (``closure`` for a notebook,
``function_code`` for a function of this process).

* :func:`check` walks that code once per rule. Every rule refuses dynamic access (a
  private or dunder attribute, ``getattr``/``setattr``, ``eval``, ``exec``, ``compile``,
  ``__import__``, ``globals``, ``vars``, ``open``, ``type``, ``global``, modules such as
  ``importlib``, ``sys`` or ``inspect``), PyTorch's machinery below its public functions
  (``torch.ops``, ``torch.nn.grad``, ...), annotations that do more than name a type, and
  changes to anything the rest of the notebook shares. Then
  - ``only``: every module function the code names must be on the allow-list, and every
    method it calls on a value that is a tensor method must be an allowed one;
  - ``forbid``: no name, attribute or method may be a forbidden function (by path, and by
    its last name, whatever the receiver);
  - ``arithmetic``: no PyTorch, NumPy or course name at all: Python and ``math``.

A PyTorch trace (``convbook.checks``) still runs around the call as a second signal: it
sees operators on tensors (``a > b``), which the source alone cannot type.

Why our own checker and not RestrictedPython: RestrictedPython rewrites code so that a
policy can guard attribute access at run time, for sandboxing a whole program; its
default policy knows nothing of "which PyTorch operations", and the jail already keeps
the program in. What is missing here is narrower: a per-answer allow-list of names, with
messages that name the line. That is a tree walk of about a hundred lines.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import Any

from .answer_code import (
    Closure,
    RuleBroken,
    Source,
    dotted,
    function_code,
    is_module,
    public_path,
    resolve_path,
)

__all__ = ["Rule", "RuleBroken", "check", "check_function"]

# Builtins that reach objects, code or files by a computed name: never in a ruled answer.
_DYNAMIC_BUILTINS = {
    "getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "__import__",
    "globals", "locals", "vars", "open", "input", "breakpoint", "help", "type", "object",
    "super", "memoryview", "classmethod", "staticmethod", "property", "dir", "id",
    "__build_class__", "exit", "quit",
}  # fmt: skip
# Modules and functions that reach other code by a computed name, or the interpreter's
# own state: never in a ruled answer, whatever the rule allows.
_DYNAMIC_MODULES = {
    "importlib", "sys", "inspect", "gc", "ctypes", "types", "builtins", "os", "subprocess",
    "pickle", "marshal", "runpy", "code", "codeop", "dis", "threading", "multiprocessing",
    "pkgutil", "zipimport", "weakref", "copyreg", "signal", "shutil", "pathlib", "io",
}  # fmt: skip
_DYNAMIC_PATHS = {"operator.attrgetter", "operator.methodcaller", "functools.partial"}
# PyTorch's own machinery under its public functions: its operators by their ATen names,
# gradients of layers, tracers and compilers. Each reaches a computation by another name
# than the one a rule lists (``torch.ops.aten.reflection_pad2d`` is ``F.pad``), so no
# ruled answer may use them.
_LOW_LEVEL = (
    "torch.ops", "torch.nn.grad", "torch.library", "torch.fx", "torch.jit", "torch.compile",
    "torch.export", "torch.func", "torch.overrides", "torch.utils", "torch.autograd",
)  # fmt: skip
# Reading a tensor's size, type or device: allowed under every rule on tensors.
METADATA = {
    "shape", "dtype", "device", "ndim", "size", "dim", "numel", "is_floating_point",
    "is_contiguous", "layout", "requires_grad", "is_cuda", "nelement", "data",
}  # fmt: skip
# Harmless PyTorch names under every rule: they compute nothing from the inputs.
HARMLESS = {
    "torch.no_grad", "torch.enable_grad", "torch.Size", "torch.device", "torch.dtype",
}  # fmt: skip
# Modules an "arithmetic only" answer may use.
ARITHMETIC_MODULES = ("math", "itertools", "functools", "operator", "fractions", "decimal")


@dataclass(frozen=True)
class Rule:
    """A rule about how an answer is computed.

    Attributes:
        kind: ``"only"`` (allow-list), ``"forbid"`` (deny-list) or ``"arithmetic"``.
        names: dotted paths of the allowed (``only``) or forbidden (``forbid``) functions.
        hint: what the student may use instead, appended to messages.
        what: the answer's name, for messages.
    """

    kind: str
    names: tuple[str, ...] = ()
    hint: str = ""
    what: str = ""

    def as_data(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "hint": self.hint,
                "what": self.what}  # fmt: skip


# -- checking ------------------------------------------------------------------------------


class _Checker(ast.NodeVisitor):
    def __init__(self, rule: Rule, source: Source, code: Closure,
                 context: dict[str, Any], locals_: set[str]) -> None:  # fmt: skip
        self.rule, self.source, self.code = rule, source, code
        self.aliases = dict(code.aliases)
        self.context, self.locals = context, locals_
        import torch

        self.tensor_attributes = set(dir(torch.Tensor))
        self.allowed = {name: resolve_path(name) for name in rule.names}
        self.allowed_objects = [obj for obj in self.allowed.values() if obj is not None]
        self.allowed_methods = {
            name.rsplit(".", 1)[1] for name in rule.names if name.startswith("torch.Tensor.")
        }
        self.finals = {name.rsplit(".", 1)[-1] for name in rule.names}
        self.depth = 0

    def fail(self, node: ast.AST, why: str) -> None:
        hint = f": {self.rule.hint}" if self.rule.hint else ""
        raise RuleBroken(f"line {getattr(node, 'lineno', '?')} of {self.source.label}: {why}{hint}")

    # what a name stands for: a dotted path, a course object, or a local value
    def _path_of(self, parts: list[str], _depth: int = 0) -> tuple[str | None, Any]:
        head = parts[0]
        if head in self.locals or head in self.code.own:
            return None, None
        if head in self.aliases:
            path = ".".join([self.aliases[head], *parts[1:]])
            return path, resolve_path(path)
        if head in self.code.chains and _depth < 8:
            return self._path_of(self.code.chains[head] + parts[1:], _depth + 1)
        if head in self.context:
            value = self.context[head]
            origin = getattr(value, "__name__", None) if is_module(value) else None
            if origin:
                path = ".".join([origin, *parts[1:]])
                return path, resolve_path(path)
            for attribute in parts[1:]:
                value = getattr(value, attribute, None)
            if getattr(value, "__module__", None) and callable(value):
                return public_path(value, head), value
            return head, value
        if hasattr(builtins, head) and len(parts) == 1:
            return f"builtins.{head}", getattr(builtins, head)
        return None, None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_import(node, alias.name)
            if self.depth:  # a name the function binds itself: it stands for the module
                name = alias.asname or alias.name.split(".")[0]
                self.aliases[name] = alias.name if alias.asname else name

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.fail(node, "a relative import is not allowed in this exercise")
        for alias in node.names:
            self._check_import(node, f"{node.module}.{alias.name}")
            if self.depth:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _check_import(self, node: ast.AST, path: str) -> None:
        if any(part.startswith("_") for part in path.split(".")):
            self.fail(node, f"importing {path} is not allowed in this exercise")
        value = resolve_path(path)
        if value is None and self.rule.kind != "forbid":
            self.fail(node, f"{path} is not allowed in this exercise")
        self._check_path(node, path, value)

    def visit_Global(self, node: ast.Global) -> None:
        self.fail(node, "global is not allowed in this exercise")

    visit_Nonlocal = visit_Global

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        self._annotation(node.returns)
        self.depth += 1
        for statement in node.body:
            self.visit(statement)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.fail(node, "a class is not allowed in this exercise's answer")

    def visit_arg(self, node: ast.arg) -> None:
        self._annotation(node.annotation)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._annotation(node.annotation)
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def _annotation(self, node: ast.expr | None) -> None:
        """An annotation may only name a type (the grader never evaluates it)."""
        for sub in ast.walk(node) if node is not None else ():
            if isinstance(sub, (ast.Call, ast.NamedExpr, ast.Lambda)) or (
                isinstance(sub, ast.Attribute) and sub.attr.startswith("_")
            ):
                self.fail(sub, "an annotation may only name a type")

    def visit_arguments(self, node: ast.arguments) -> None:
        for default in [*node.defaults, *[d for d in node.kw_defaults if d is not None]]:
            self.visit(default)
        for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
            if arg is not None:
                self._annotation(arg.annotation)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("__"):
            self.fail(node, f"{node.id} is not allowed in this exercise")
        if not isinstance(node.ctx, ast.Load):
            return
        if node.id in _DYNAMIC_BUILTINS and not (
            node.id in self.locals or node.id in self.code.own
        ):
            self.fail(node, f"{node.id}() is not allowed in this exercise")
        path, value = self._path_of([node.id])
        if path is not None:
            self._check_path(node, path, value)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        parts = dotted(node)
        settings = parts is not None and (self._path_of(parts)[0] or "").startswith(
            "torch.backends."
        )  # a setting such as torch.backends.cudnn.benchmark: shared, and harmless
        if not isinstance(node.ctx, ast.Load) and not settings:
            base = node.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if not (isinstance(base, ast.Name) and base.id in self.locals):
                self.fail(node, f"it changes .{node.attr} of something the rest of the notebook "
                          "shares, which is not allowed in this exercise: change only your "
                          "own variables")  # fmt: skip
        if node.attr.startswith("_"):
            self.fail(node, f"the attribute {node.attr} is not allowed in this exercise")
        parts = dotted(node)
        if parts is not None:
            private = next((p for p in parts[1:] if p.startswith("_")), None)
            if private is not None:
                self.fail(node, f"the attribute {private} is not allowed in this exercise")
            path, value = self._path_of(parts)
            if path is not None:
                self._check_path(node, path, value)
                return
        self._check_method(node, node.attr)
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            self.fail(node, f"{node.func.id}() is not allowed in this exercise: name the "
                      "attribute directly")  # fmt: skip
        self.generic_visit(node)

    def _check_method(self, node: ast.AST, name: str) -> None:
        kind = self.rule.kind
        if kind == "forbid" and name in self.finals:
            self.fail(node, f".{name} is not allowed in this exercise")
        if kind == "only" and name in self.tensor_attributes and name not in METADATA:
            if name not in self.allowed_methods:
                self.fail(node, f"the tensor method .{name} is not allowed in this exercise")

    def _check_path(self, node: ast.AST, path: str, value: Any) -> None:
        kind = self.rule.kind
        top = path.split(".")[0]
        reaches = top in _DYNAMIC_MODULES and not (top == "builtins" and "." in path)
        low_level = any(path == p or path.startswith(p + ".") for p in _LOW_LEVEL)
        if reaches or path in _DYNAMIC_PATHS or low_level:
            self.fail(node, f"{path} is not allowed in this exercise: it reaches code, "
                      "objects or files by a computed name")  # fmt: skip
        if path.startswith("builtins."):
            return
        if not (callable(value) or is_module(value)) and value is not None:
            return  # a constant (a dtype, a number, a tuple of the course's)
        if path in HARMLESS:
            return
        if kind == "forbid":
            parts = set(path.split(".")[1:])  # torch.ops.aten.avg_pool2d.default included
            if (
                path in self.rule.names
                or parts & self.finals
                or (value is not None and any(value is resolve_path(n) for n in self.rule.names))
            ):
                self.fail(node, f"{path} is not allowed in this exercise")
        elif kind == "only":
            if is_module(value):
                return  # a module itself: what is taken from it is checked
            if path in self.allowed or any(value is obj for obj in self.allowed_objects):
                return
            self.fail(node, f"{path} is not allowed in this exercise")
        elif kind == "arithmetic":
            top = path.split(".")[0]
            if top in ARITHMETIC_MODULES:
                return
            self.fail(node, f"{path} is not arithmetic: this answer may use Python's "
                      "arithmetic and the math module only")  # fmt: skip


def check(code: Closure, rule: Rule, context: dict[str, Any]) -> None:
    """Check every statement of an answer's code against ``rule``.

    Raises:
        RuleBroken: at the first place the code breaks the rule, naming the line.
    """
    for source in code.statements:
        node = source.node
        locals_ = _local_names(node)
        _Checker(rule, source, code, context, locals_).visit(node)


def _local_names(node: ast.stmt) -> set[str]:
    """Names bound inside a function (its parameters and assignments): local values."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            names.add(sub.arg)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub is not node:
            names.add(sub.name)
    return names


def check_function(fn: Any, rule: Rule) -> None:
    """The same check on a function of this process (the student's own kernel, where the
    visible tests run): its source and that of the notebook functions it calls.

    Raises:
        RuleBroken: where the source breaks the rule. A function whose source cannot be
            read is not checked here (the grader reads it from the notebook).
    """
    check(function_code(fn), rule, {})

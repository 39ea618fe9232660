"""What runs inside the grading kernel: test cells in a scope of their own, and the guard.

The worker rewrites the notebook before the kernel sees it (``execute.SandboxedExecute``):

* a first cell calls :func:`setup` before any student code runs. It runs the assignment's
  locked import cells once (so every module the tests use is loaded) and takes a snapshot
  of the builtins and of the functions and classes of those modules;
* every test cell becomes a call to :func:`run_test`. The test's code runs in a namespace
  made for it: a copy of the builtins taken before student code ran, the names the
  assignment's locked cells import, and from the student's namespace only the answers the
  assignment asks for (the names its solution cells define). Redefining ``assert_close_to``,
  ``pool2d``, ``range`` or ``torch`` in the notebook therefore changes nothing a test sees;
* before and after every test cell :func:`check` compares the modules with the snapshot,
  so changing a function *inside* a module (``torch.allclose = ...``) is caught as well.
  PyTorch replaces a few of its own functions when submodules load (``import torch._dynamo``
  wraps ``torch.manual_seed``); a replacement whose code lives in PyTorch's own files and
  that wraps the original is PyTorch's doing, not the student's.

The kernel imports this module from the installed package, which the sandbox mounts
read-only.
"""

from __future__ import annotations

import builtins
import importlib
import os
import sys
import types

__all__ = ["check", "run_test", "setup"]

# Modules whose functions and classes the tests rely on, beyond those the context imports.
_ALWAYS = (
    "builtins", "math", "random", "contextlib", "io", "itertools", "functools", "operator",
    "torch", "torch.nn", "torch.nn.functional", "torch.testing", "numpy", "numpy.testing",
    "convbook.checks", "convbook.grading.scope",
)  # fmt: skip
# Names the kernel itself rebinds for every request (ipykernel swaps ``input`` in and out).
_KERNEL_OWNED = {("builtins", "input"), ("builtins", "raw_input"), ("builtins", "get_ipython")}
# Classes whose methods a test's comparisons go through.
_CLASSES = ("torch.Tensor", "torch._C.TensorBase", "torch.nn.Module", "torch.nn.Parameter")

_state: dict = {}


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _snapshot(namespace: dict) -> dict[str, object]:
    """The functions and classes (everything callable) of a module's namespace."""
    return {name: value for name, value in namespace.items() if callable(value)}


def _code_of(value) -> tuple:
    if isinstance(value, types.FunctionType):
        return (value.__code__, value.__defaults__, value.__kwdefaults__)
    return ()


def _own_wrapper(new, old, roots: tuple[str, ...]) -> bool:
    """True when ``new`` is a library's own wrapper of ``old`` (torch._dynamo's, say)."""
    seen = 0
    while new is not old and seen < 8:
        code = getattr(new, "__code__", None)
        if not isinstance(code, types.CodeType):
            return False
        if not any(code.co_filename.startswith(root) for root in roots):
            return False
        new = getattr(new, "__wrapped__", None)
        seen += 1
    return new is old


def setup(context: str, tests: dict[str, str], answers: tuple[str, ...]) -> None:
    """Load what the tests import, keep the tests and take the snapshot; runs before any
    student code, in a cell the kernel keeps no history of.

    Args:
        context: the source of the assignment's locked, non-test code cells (its imports
            and constants), as plain Python.
        tests: the test cells' code (hidden tests included) by grade_id. They are compiled
            here and kept in a closure; no cell the student's code can read holds them.
        answers: the names a test may take from the student's namespace.
    """
    if _state:
        raise RuntimeError("convbook.grading.scope.setup ran twice")
    _state["context"] = compile(context, "<assignment imports>", "exec", dont_inherit=True)
    _state["runner"] = _make_runner(
        {
            name: compile(code, f"<{name}>", "exec", dont_inherit=True)
            for name, code in tests.items()
        },
        tuple(answers),
    )
    scratch: dict = {"__builtins__": builtins}
    exec(_state["context"], scratch)  # noqa: S102 - the course's own, trusted cells
    modules = {}
    for name in _ALWAYS:
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:
            continue
    for value in scratch.values():
        if isinstance(value, types.ModuleType):
            modules[value.__name__] = value
        elif getattr(value, "__module__", None) in sys.modules:
            modules[value.__module__] = sys.modules[value.__module__]
    classes = {}
    for dotted in _CLASSES:
        try:
            classes[dotted] = _resolve(dotted)
        except (ImportError, AttributeError):
            continue
    roots = []
    for name in ("torch", "numpy"):
        module = modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            roots.append(os.path.dirname(os.path.realpath(module.__file__)) + os.sep)
            roots.append(os.path.dirname(module.__file__) + os.sep)
    _state.update(
        builtins=dict(vars(builtins)),
        modules=modules,
        module_dicts={name: _snapshot(vars(m)) for name, m in modules.items()},
        classes=classes,
        class_dicts={name: dict(vars(c)) for name, c in classes.items()},
        codes={
            (name, attr): _code_of(value)
            for name, m in modules.items()
            if name.startswith("convbook")
            for attr, value in vars(m).items()
            if isinstance(value, types.FunctionType)
        },
        roots=tuple(roots),
        hooks=_hooks(),
        printer=print,
    )


def _hooks() -> tuple:
    shell = _shell()
    if shell is None:
        return ()
    return (
        list(shell.input_transformers_cleanup),
        list(shell.input_transformers_post),
        list(shell.ast_transformers),
        tuple(shell.custom_exceptions),
        {k: list(v) for k, v in shell.events.callbacks.items()},
        sys.excepthook,
        type(shell).run_cell,
        shell.run_cell,
    )


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _changes() -> list[str]:
    roots = _state["roots"]
    changed = []
    for name, module in _state["modules"].items():
        if sys.modules.get(name) is not module:
            changed.append(f"sys.modules[{name!r}]")
            continue
        now = vars(module)
        for attr, value in _state["module_dicts"][name].items():
            if (name, attr) in _KERNEL_OWNED:
                continue
            current = now.get(attr, changed)
            if current is value or _own_wrapper(current, value, roots):
                continue
            changed.append(f"{name}.{attr}")
    for name, cls in _state["classes"].items():
        now = vars(cls)
        for attr, value in _state["class_dicts"][name].items():
            if now.get(attr, changed) is not value:
                changed.append(f"{name}.{attr}")
        extra = set(now) - set(_state["class_dicts"][name])
        changed.extend(f"{name}.{attr} (added)" for attr in sorted(extra))
    for (name, attr), code in _state["codes"].items():
        value = vars(_state["modules"][name]).get(attr)
        if _code_of(value) != code:
            changed.append(f"{name}.{attr}.__code__")
    if _hooks() != _state["hooks"]:
        changed.append("IPython hooks")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        changed.append("sys.settrace")
    return changed


def check(token: str) -> None:
    """Print ``CONVBOOK-GUARD <token> ok``, or what changed since :func:`setup`."""
    changed = _changes()
    verdict = "changed:" + ",".join(sorted(changed)) if changed else "ok"
    _state["printer"]("CONVBOOK-GUARD", token, verdict)


def _make_runner(compiled: dict, answers: tuple[str, ...]):
    def run(name: str) -> None:
        shell = _shell()
        user = shell.user_ns if shell is not None else {}
        namespace: dict = {"__builtins__": dict(_state["builtins"]), "__name__": "__main__"}
        exec(_state["context"], namespace)  # noqa: S102 - the course's own imports
        for answer in answers:
            if answer in user:
                namespace[answer] = user[answer]
        exec(compiled[name], namespace)  # noqa: S102 - the course's own test

    return run


def run_test(name: str) -> None:
    """Run the test cell ``name`` in a namespace of its own.

    The namespace holds a copy of the builtins taken by :func:`setup`, the assignment's
    imports and constants (run again), and the answers taken from the student's namespace.

    Raises:
        Whatever the test raises: a failed check fails the cell.
    """
    _state["runner"](name)

"""Checks that the exercise notebooks' test cells use (sections 7.1-8.6).

A failed check raises :class:`CheckFailed` with a message meant for the student: what was
checked, what was expected and what the answer gave. nbgrader then shows that message in
the feedback instead of a bare ``AssertionError``.

The same test code runs in two places. In the student's own kernel (the visible checks of
the release, and the solution notebooks under nbval) every answer is a local object. When
``convbook grade`` grades a notebook, the test runs in the grader's process instead
(``convbook.grading.harness``), and each answer is a proxy for the object in the student's
kernel: calling it sends the inputs there and brings plain data back. The functions here
work alike on both (``on_device``, the rules and the module helpers of ``convbook.probes``
ask the grader to do the remote part); comparisons always happen where the test runs.
"""

from __future__ import annotations

import contextlib
import numbers
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from convbook.allowed import (
    CONVOLUTION,
    RELU,
    TENSOR_ARITHMETIC,
    TENSOR_BUILDING,
    resolve,
    trace_forbid,
    trace_no_torch,
    trace_only,
)
from convbook.device import try_gpu

__all__ = [
    "CONVOLUTION", "RELU", "TENSOR_ARITHMETIC", "TENSOR_BUILDING", "CheckFailed",
    "arithmetic_only", "as_number", "assert_close_to", "assert_equal", "forbid",
    "graded_by", "on_device", "only", "parameter_count",
]  # fmt: skip


class CheckFailed(AssertionError):
    """An exercise answer is wrong; the message says what was expected and what came back."""


_harness = None  # the grader, while it runs a test in its own process (see graded_by)


@contextlib.contextmanager
def graded_by(harness: Any) -> Iterator[None]:
    """Inside the block, answers are the grader's proxies and rules are the grader's."""
    global _harness
    previous, _harness = _harness, harness
    try:
        yield
    finally:
        _harness = previous


def remote(value: Any) -> bool:
    """Whether ``value`` stands for an object in the student's kernel (while grading)."""
    return _harness is not None and type(value).__module__ == "convbook.grading.harness"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."


def _as_tensor(value: Any, what: str) -> Tensor:
    """A plain ``torch.Tensor`` copy of ``value``: a subclass loses its overrides first, so
    no answer can decide how it is compared."""
    if isinstance(value, Tensor):
        with torch._C.DisableTorchFunctionSubclass():
            return value.as_subclass(Tensor).detach().clone()
    if remote(value):  # an object of the student's kernel: not a value
        raise CheckFailed(f"{what}: expected a tensor, got {_short(value)}")
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckFailed(
            f"{what}: expected a tensor, got {type(value).__name__} ({error})"
        ) from None


def _shape(value: Tensor) -> tuple[int, ...]:
    return tuple(value.shape)


def assert_close_to(
    expected: Any, got: Any, what: str, *, rtol: float = 1e-4, atol: float = 1e-5
) -> None:
    """Check that ``got`` has the shape of ``expected`` and (nearly) the same values.

    Args:
        expected: the reference result (tensor, array or number).
        got: the student's result.
        what: how the message names the result, e.g. ``"corr2d_matmul(X, K) for X of shape
            (7, 9)"``.
        rtol: relative tolerance, as in ``torch.allclose``.
        atol: absolute tolerance, as in ``torch.allclose``.

    Raises:
        CheckFailed: if ``got`` is not a tensor-like value, has another shape, has NaNs
            where ``expected`` has none, or differs by more than the tolerance.
    """
    expected_t = _as_tensor(expected, what).to("cpu")
    got_t = _as_tensor(got, what).to("cpu")
    if _shape(got_t) != _shape(expected_t):
        raise CheckFailed(f"{what}: expected shape {_shape(expected_t)}, got shape {_shape(got_t)}")
    if expected_t.is_complex() or got_t.is_complex():
        raise CheckFailed(f"{what}: expected real values, got dtype {got_t.dtype}")
    expected_f = expected_t.to(torch.float64)
    got_f = got_t.to(torch.float64)
    bad = ~torch.isclose(got_f, expected_f, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(bad.any()):
        return
    error = (got_f - expected_f).abs().nan_to_num(nan=float("inf"))
    index = tuple(int(i) for i in torch.nonzero(bad)[0]) if error.dim() else ()
    message = (
        f"{what}: {int(bad.sum())} of {bad.numel()} values differ; "
        f"the first at index {index}: expected {expected_f[index].item():.6g}, "
        f"got {got_f[index].item():.6g}"
    )
    if expected_t.numel() <= 16:
        message += f"\nexpected:\n{expected_t}\ngot:\n{got_t}"
    raise CheckFailed(message)


def assert_equal(expected: Any, got: Any, what: str) -> None:
    """Check an exact value: a shape, a count, a tuple of ints.

    Tensors, lists and tuples are compared as tuples (``torch.Size([2, 2])``, ``[2, 2]``
    and ``(2, 2)`` are the same pair), and NumPy numbers as numbers.

    Raises:
        CheckFailed: if the values differ.
    """
    if _plain(got, what) != _plain(expected, what):
        raise CheckFailed(f"{what}: expected {_short(expected)}, got {_short(got)}")


def as_number(value: Any, what: str) -> float:
    """``value`` as a Python number: an int, a float, a NumPy number or a one-element
    tensor. A bool is not a number here.

    Raises:
        CheckFailed: for anything else.
    """
    if isinstance(value, Tensor) and value.numel() == 1 and not value.dtype == torch.bool:
        return _as_tensor(value, what).item()
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, getattr(
            sys.modules.get("numpy"), "bool_", bool))):  # fmt: skip
        return float(value) if not isinstance(value, numbers.Integral) else int(value)
    raise CheckFailed(f"{what} should be a number, got {_short(value)}")


def _plain(value: Any, what: str) -> Any:
    """``value`` as built-in numbers, strings, tuples and dicts, so that the comparison is
    Python's own and no answer's ``__eq__``."""
    if type(value) in (int, float, bool, str, complex, type(None)) or isinstance(value, type):
        return value
    if isinstance(value, Tensor):
        plain = _as_tensor(value, what)
        return plain.item() if plain.numel() == 1 else _plain(plain.tolist(), what)
    if isinstance(value, (list, tuple, torch.Size)):
        return tuple(_plain(item, what) for item in value)
    if isinstance(value, dict):
        return {_plain(k, what): _plain(v, what) for k, v in value.items()}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise CheckFailed(f"{what}: expected a number, string, tuple or dict, got {_short(value)}")


def parameter_count(module: Any, conv_biases: bool = True) -> int:
    """The number of parameters of ``module``, with or without the convolutions' biases.

    Leaving the biases out lets a check accept both choices for a convolution followed by
    batch normalization, where a bias adds nothing (section 8.5).
    """
    from convbook.probes import structure

    total = 0
    for layer in structure(module):
        conv = "torch.nn.modules.conv._ConvNd" in layer["mro"]
        for name, shape in layer["parameters"].items():
            if shape is not None and (conv_biases or name != "bias" or not conv):
                total += int(torch.Size(shape).numel())
    return total


# -- devices ---------------------------------------------------------------------------------

# PyTorch's ways of saying that one operation got tensors on two devices (CUDA, MPS, meta),
# or that a tensor must first be copied to the CPU (``.numpy()`` on a GPU tensor).
_DEVICE_ERROR = re.compile(
    r"device|cuda|\bcpu\b|\bgpu\b|\bmps|input type \(.*\) and weight type|copy out of meta",
    re.IGNORECASE,
)
_DEVICE_TYPE_ERROR = re.compile(r"device type tensor", re.IGNORECASE)
# Failures of the GPU itself, which say nothing about where the answer's tensors are.
_NOT_A_MIX = re.compile(r"out of memory|CUDA error|device-side assert", re.IGNORECASE)
_HOW = (
    "create new tensors on the device of the inputs: torch.zeros(..., device=X.device), "
    "torch.zeros_like(X) or X.new_zeros(...), and layers with device=... or .to(X.device)"
)


def _move(value: Any, device: torch.device) -> Any:
    """``value`` with its tensors on ``device``; modules are moved in place, as by ``.to``."""
    if isinstance(value, (Tensor, torch.nn.Module)):
        return value.to(device)
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        moved = [_move(item, device) for item in value]
        if isinstance(value, list):
            return moved
        return type(value)(*moved) if hasattr(value, "_fields") else type(value)(moved)
    if isinstance(value, dict):
        return {key: _move(item, device) for key, item in value.items()}
    return value


def _same(found: torch.device, wanted: torch.device) -> bool:
    """``cuda`` and ``cuda:0`` count as one device."""
    if found.type != wanted.type:
        return False
    return found.index is None or wanted.index is None or found.index == wanted.index


def _stray(value: Any, device: torch.device, where: str) -> tuple[str, torch.device] | None:
    """The first tensor in ``value`` (its items, a module's parameters and buffers) that is
    not on ``device``: what the message calls it, and where it is."""
    if isinstance(value, Tensor):
        return None if _same(value.device, device) else (where, value.device)
    if isinstance(value, torch.nn.Module):
        for kind, named in (("parameter", value.named_parameters), ("buffer", value.named_buffers)):
            for name, tensor in named():
                if not _same(tensor.device, device):
                    return f"{kind} {name} of {where}", tensor.device
        return None
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        items = ((f"item {i} of {where}", item) for i, item in enumerate(value))
    elif isinstance(value, dict):
        items = ((f"{where}[{key!r}]", item) for key, item in value.items())
    else:
        return None
    for name, item in items:
        found = _stray(item, device, name)
        if found is not None:
            return found
    return None


def _device_failure(error: Exception, device: Any, what: str) -> CheckFailed | None:
    pattern = _DEVICE_TYPE_ERROR if isinstance(error, TypeError) else _DEVICE_ERROR
    if not pattern.search(str(error)) or _NOT_A_MIX.search(str(error)):
        return None
    said = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return CheckFailed(
        f"{what}: run on {device} with its inputs there, it failed: it mixed them with "
        f"tensors it made on another device (or took them off it, as .numpy() does); {_HOW}.\n"
        f"PyTorch said: {said}"
    )


def on_device(
    fn: Callable[..., Any],
    *args: Any,
    device: torch.device | str | None = None,
    what: str | None = None,
    rule: Any = None,
) -> Any:
    """Call ``fn(*args)`` with every tensor on ``device``, and check it stays there.

    Tensor arguments (also inside lists, tuples and dicts) are copied to ``device``;
    module arguments, and ``fn`` itself when it is a module, are moved there in place, as
    by ``module.to(device)``. On a CPU-only machine this is a plain call. While grading,
    all of this happens in the student's kernel, on its device.

    Args:
        fn: the answer: a function, or a module to run forward.
        args: its arguments.
        device: where to run it; by default ``try_gpu()``, the GPU if there is one.
        what: how the message names the call; by default the name of ``fn``.
        rule: a rule (``only(...)``, ``forbid(...)``) to hold during the call only.

    Returns:
        What ``fn`` returns (on ``device``; while grading, its values on the CPU).

    Raises:
        CheckFailed: if the call fails because it mixes devices (it made a tensor or a
            layer on the CPU, say), or if a tensor it returns (also inside a tuple, list,
            dict or module) is on another device.
    """
    if _harness is not None:
        return _harness_on_device(fn, args, what, rule)
    device = try_gpu() if device is None else torch.device(device)
    what = what or getattr(fn, "__name__", type(fn).__name__)
    fn = _move(fn, device)
    args = _move(args, device)
    try:
        with rule if rule is not None else contextlib.nullcontext():
            result = fn(*args)
    except (RuntimeError, TypeError, NotImplementedError) as error:
        failure = _device_failure(error, device, what)
        if failure is None:
            raise
        raise failure from None
    stray = _stray(result, device, "the result")
    if stray is not None:
        where, found = stray
        raise CheckFailed(
            f"{what}: run on {device} with its inputs there, {where} came back on {found}; {_HOW}"
        )
    return result


def _harness_on_device(fn: Any, args: tuple, what: str | None, rule: Any) -> Any:
    """``on_device`` while grading: the kernel moves the inputs (and a module) to its device
    and calls the answer there; every tensor that comes back must say it is there."""
    from convbook.grading.harness import RuledAnswer
    from convbook.probes import state_of

    harness = _harness
    device = torch.device(harness.channel.device)
    what = what or repr(fn)
    if isinstance(fn, RuledAnswer):
        fn = fn.resolve(rule.rule if isinstance(rule, _GraderRule) else harness.rule())
    devices: list = []
    try:
        result = harness.call(fn, args, {}, device=True, devices=devices)
    except (RuntimeError, TypeError, NotImplementedError) as error:
        failure = _device_failure(error, device, what)
        if failure is None:
            raise
        raise failure from None
    if remote(result) and result.kind.is_module:
        state_of(result, devices=devices)  # its parameters and buffers, and their devices
    for _, found in devices:
        if not _same(torch.device(found), device):
            raise CheckFailed(
                f"{what}: run on {device} with its inputs there, a tensor of the result "
                f"(or of its parameters) came back on {found}; {_HOW}"
            )
    return result


# -- rules ---------------------------------------------------------------------------------


class _GraderRule:
    """A rule while grading: it holds for the answers called inside the block, which the
    grader checks on their source and runs from exactly that source."""

    def __init__(self, kind: str, names: tuple[str, ...], hint: str, what: str) -> None:
        from convbook.grading.rules import Rule

        for dotted in names:
            resolve(dotted)  # a typo in a test is the instructor's to see at once
        self.rule = Rule(kind, tuple(names), hint, what)
        self._block = None

    def __enter__(self) -> None:
        self._block = _harness.ruled(self.rule)
        self._block.__enter__()

    def __exit__(self, *exc) -> None:
        block, self._block = self._block, None
        block.__exit__(*exc)


class _LocalRule:
    """A rule in the student's own kernel: the same source check as the grader's (on the
    answer named ``what``, as the kernel has it), then the PyTorch trace around the block."""

    def __init__(self, kind: str, names: tuple[str, ...], hint: str, what: str) -> None:
        for dotted in names:
            resolve(dotted)
        self.kind, self.names, self.hint, self.what = kind, tuple(names), hint, what
        self._trace = None

    def __enter__(self) -> None:
        if self.what:
            frame = sys._getframe(1)
            answer = frame.f_locals.get(self.what, frame.f_globals.get(self.what))
            if callable(answer):
                from convbook.grading.rules import Rule, RuleBroken, check_function

                try:
                    check_function(answer, Rule(self.kind, self.names, self.hint, self.what))
                except RuleBroken as broken:
                    raise CheckFailed(f"{self.what}: {broken}") from None
        if self.kind == "forbid":
            self._trace = trace_forbid(*self.names, hint=self.hint)
        elif self.kind == "only":
            self._trace = trace_only(*self.names, what=self.what, hint=self.hint)
        else:
            self._trace = trace_no_torch(self.what)
        self._trace.__enter__()

    def __exit__(self, *exc) -> bool | None:
        trace, self._trace = self._trace, None
        return trace.__exit__(*exc)


def _rule(kind: str, names: tuple[str, ...], hint: str, what: str):
    return (_GraderRule if _harness is not None else _LocalRule)(kind, names, hint, what)


def forbid(*names: str, hint: str = "", what: str = ""):
    """Make functions unavailable to the answer ``what`` inside the ``with`` block.

    The answer's source may not name any of them (by path, alias, method or their last
    name, ``X.mean()`` included), nor reach anything by a computed name; PyTorch functions
    are also refused while it runs, however they are reached (a layer that calls them
    included).

    Args:
        names: dotted paths (``"torch.max"``, ``"torch.Tensor.amax"``,
            ``"torch.nn.functional.avg_pool2d"``, ``"convbook.ops.corr2d"``).
        hint: appended to the message, e.g. ``"use a convolution instead"``.
        what: the answer the rule is about (its source is checked).

    Raises:
        ValueError: if a name cannot be resolved.
    """
    return _rule("forbid", names, hint, what)


def only(*names: str, what: str, hint: str = ""):
    """Inside the ``with`` block, the answer ``what`` may use only the named PyTorch
    functions (and read a tensor's shape, dtype or device).

    Its source may name no other PyTorch function or tensor method, nor reach anything by
    a computed name; while it runs, any other PyTorch operation fails, however it is
    reached (``a > b`` is ``Tensor.gt``, ``abs(x)`` is ``Tensor.abs``).

    Args:
        names: dotted paths of the allowed functions, e.g. ``*RELU, *TENSOR_ARITHMETIC``.
        what: the answer being checked, named in the message.
        hint: appended to the message, e.g. ``"use F.relu and +, -, *, /"``.

    Raises:
        ValueError: if a name cannot be resolved.
    """
    return _rule("only", names, hint, what)


def arithmetic_only(what: str):
    """Inside the ``with`` block, the answer ``what`` may use Python's arithmetic and the
    ``math`` module only: no PyTorch at all (not even on the ``meta`` device)."""
    return _rule("arithmetic", (), "", what)


# The module helpers work on local modules and on the grader's proxies alike.
from convbook.probes import (  # noqa: E402
    assert_same_function,
    build,
    class_path,
    fit_sgd,
    gradients,
    is_a,
    load_state,
    state_of,
    structure,
    trace_shapes,
    zero_convolutions,
)

__all__ += [
    "assert_same_function", "build", "class_path", "fit_sgd", "gradients", "is_a",
    "load_state", "state_of", "structure", "trace_shapes", "zero_convolutions",
]  # fmt: skip

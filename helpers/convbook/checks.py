"""Checks that the exercise notebooks' test cells use (sections 7.1-8.6).

A failed check raises :class:`CheckFailed` with a message meant for the student: what was
checked, what was expected and what the answer gave. nbgrader then shows that message in
the feedback instead of a bare ``AssertionError``.
"""

import contextlib
import importlib
import numbers
import re
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from convbook.device import try_gpu

__all__ = [
    "CONVOLUTION",
    "RELU",
    "TENSOR_ARITHMETIC",
    "TENSOR_BUILDING",
    "CheckFailed",
    "arithmetic_only",
    "assert_close_to",
    "assert_equal",
    "forbid",
    "on_device",
    "only",
    "parameter_count",
]


class CheckFailed(AssertionError):
    """An exercise answer is wrong; the message says what was expected and what came back."""


def _as_tensor(value: Any, what: str) -> Tensor:
    """A plain ``torch.Tensor`` copy of ``value``: a subclass loses its overrides first, so
    no answer can decide how it is compared."""
    if isinstance(value, Tensor):
        with torch._C.DisableTorchFunctionSubclass():
            return value.as_subclass(Tensor).detach().clone()
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

    Tensors and lists are compared as tuples, so ``torch.Size([2, 2])`` equals ``(2, 2)``.

    Args:
        expected: the reference value.
        got: the student's value.
        what: how the message names the value.

    Raises:
        CheckFailed: if the values differ.
    """

    if _plain(got, what) != _plain(expected, what):
        raise CheckFailed(f"{what}: expected {expected!r}, got {got!r}")


def parameter_count(module: torch.nn.Module, conv_biases: bool = True) -> int:
    """The number of parameters of ``module``, with or without the convolutions' biases.

    Leaving the biases out lets a check accept both choices for a convolution followed by
    batch normalization, where a bias adds nothing (section 8.5).
    """
    return sum(
        parameter.numel()
        for layer in module.modules()
        for name, parameter in layer.named_parameters(recurse=False)
        if conv_biases or name != "bias" or not isinstance(layer, torch.nn.modules.conv._ConvNd)
    )


def _plain(value: Any, what: str) -> Any:
    """``value`` as built-in numbers, strings, tuples and dicts, so that the comparison is
    Python's own and no answer's ``__eq__`` (tensors, sequences and ``torch.Size`` become
    tuples; a one-element tensor its number)."""
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
    raise CheckFailed(
        f"{what}: expected a number, string, tuple or dict, got {type(value).__name__}"
    )


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


def on_device(
    fn: Callable[..., Any],
    *args: Any,
    device: torch.device | str | None = None,
    what: str | None = None,
    rule: contextlib.AbstractContextManager | None = None,
) -> Any:
    """Call ``fn(*args)`` with every tensor on ``device``, and check it stays there.

    Tensor arguments (also inside lists, tuples and dicts) are copied to ``device``;
    module arguments, and ``fn`` itself when it is a module, are moved there in place, as
    by ``module.to(device)``. On a CPU-only machine this is a plain call. On ``meta`` no
    value is computed: only the devices are checked (values are compared elsewhere, after
    moving the result to the CPU).

    Args:
        fn: the answer: a function, or a module to run forward.
        args: its arguments.
        device: where to run it; by default ``try_gpu()``, the GPU if there is one.
        what: how the message names the call; by default the name of ``fn``.
        rule: a check to hold during the call only, not while the inputs are moved (for
            example ``only(...)``).

    Returns:
        What ``fn`` returns, on ``device``.

    Raises:
        CheckFailed: if the call fails because it mixes devices (it made a tensor or a
            layer on the CPU, say), or if a tensor it returns (also inside a tuple, list,
            dict or module) is on another device.
    """
    device = try_gpu() if device is None else torch.device(device)
    what = what or getattr(fn, "__name__", type(fn).__name__)
    fn = _move(fn, device)
    args = _move(args, device)
    try:
        with rule if rule is not None else contextlib.nullcontext():
            result = fn(*args)
    except (RuntimeError, TypeError, NotImplementedError) as error:
        pattern = _DEVICE_TYPE_ERROR if isinstance(error, TypeError) else _DEVICE_ERROR
        if not pattern.search(str(error)) or _NOT_A_MIX.search(str(error)):
            raise
        said = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckFailed(
            f"{what}: run on {device} with its inputs there, it failed: it mixed them with "
            f"tensors it made on another device (or took them off it, as .numpy() does); "
            f"{_HOW}.\n"
            f"PyTorch said: {said}"
        ) from None
    stray = _stray(result, device, "the result")
    if stray is not None:
        where, found = stray
        raise CheckFailed(
            f"{what}: run on {device} with its inputs there, {where} came back on {found}; {_HOW}"
        )
    return result


def _resolve(dotted: str) -> tuple[Any, str]:
    """``"torch.nn.functional.avg_pool2d"`` -> (the ``torch.nn.functional`` module, name).

    Raises:
        ValueError: if the path does not lead to an existing attribute.
    """
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:-1]:
            owner = getattr(owner, attribute)
        if not hasattr(owner, parts[-1]):
            raise ValueError(f"{dotted!r} does not exist")
        return owner, parts[-1]
    raise ValueError(f"cannot resolve {dotted!r}: give a dotted path such as 'torch.max'")


class _Blocked(torch.overrides.TorchFunctionMode):
    """Refuses calls to the given PyTorch functions, however they are reached: through a
    name captured before the check (``from torch import max as m``), a tensor method or a
    layer that calls them."""

    def __init__(self, blocked: dict[Any, str], hint: str) -> None:
        super().__init__()
        self.blocked, self.hint = blocked, hint

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = self.blocked.get(func)
        if name is not None:
            raise CheckFailed(_refusal(name, self.hint))
        return func(*args, **(kwargs or {}))


# Starting a process (or running a program) while a rule is checked would run the answer's
# work where no TorchFunctionMode sees it. Python reports these as audit events; the hook
# below refuses them while any rule of this module is in force.
_PROCESS_EVENTS = {
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "pty.spawn", "os.startfile",
}  # fmt: skip
_rules_in_force = 0


def _refuse_processes(event: str, args: tuple) -> None:
    if _rules_in_force and event in _PROCESS_EVENTS:
        raise CheckFailed(
            f"the answer started another process ({event}) while it was checked; the rules"
            " of this exercise must hold for all of its work, so do it in the function itself"
        )


sys.addaudithook(_refuse_processes)


@contextlib.contextmanager
def _rule(mode: torch.overrides.TorchFunctionMode) -> Iterator[None]:
    """``mode`` in force, and no new process, for the duration of the block."""
    global _rules_in_force
    _rules_in_force += 1
    try:
        with mode:
            yield
    finally:
        _rules_in_force -= 1


class _NoTorch(torch.overrides.TorchFunctionMode):
    """Refuses every PyTorch function: creating a tensor, a layer or a model, or computing
    with one."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", None) or repr(func)
        raise CheckFailed(
            f"{self.what} must be computed with Python arithmetic only, but it called "
            f"PyTorch ({name}): work the count out from the sizes, without building "
            "tensors, layers or models"
        )


@contextlib.contextmanager
def arithmetic_only(what: str) -> Iterator[None]:
    """Inside the ``with`` block, any PyTorch call fails with :class:`CheckFailed`.

    For answers the instructions ask to compute "with arithmetic only": building the
    model (on any device, ``meta`` included) and counting its parameters is refused at
    the level of the operation, whatever name or helper reaches it.

    Args:
        what: the answer being checked, named in the message.
    """
    with _rule(_NoTorch(what)):
        yield


# Allow-lists for :func:`only`, by what an exercise permits.
RELU = (
    "torch.relu", "torch.relu_", "torch.nn.functional.relu", "torch.nn.functional.relu_",
    "torch.Tensor.relu", "torch.Tensor.relu_",
)  # fmt: skip
# Arithmetic on tensors: the four operations, negation and sums (no abs, no comparisons).
TENSOR_ARITHMETIC = (
    "torch.add", "torch.sub", "torch.subtract", "torch.rsub", "torch.mul", "torch.multiply",
    "torch.div", "torch.divide", "torch.true_divide", "torch.neg", "torch.negative",
    "torch.sum", "torch.Tensor.add", "torch.Tensor.add_", "torch.Tensor.sub",
    "torch.Tensor.sub_", "torch.Tensor.subtract", "torch.Tensor.mul", "torch.Tensor.mul_",
    "torch.Tensor.multiply", "torch.Tensor.div", "torch.Tensor.div_", "torch.Tensor.divide",
    "torch.Tensor.true_divide", "torch.Tensor.neg", "torch.Tensor.neg_",
    "torch.Tensor.negative", "torch.Tensor.sum", "torch.Tensor.__add__",
    "torch.Tensor.__radd__", "torch.Tensor.__iadd__", "torch.Tensor.__sub__",
    "torch.Tensor.__rsub__", "torch.Tensor.__isub__", "torch.Tensor.__mul__",
    "torch.Tensor.__rmul__", "torch.Tensor.__imul__", "torch.Tensor.__truediv__",
    "torch.Tensor.__rtruediv__", "torch.Tensor.__itruediv__", "torch.Tensor.__neg__",
    "torch.Tensor.__pos__",
)  # fmt: skip
CONVOLUTION = (
    "torch.conv1d", "torch.conv2d", "torch.conv3d", "torch.nn.functional.conv1d",
    "torch.nn.functional.conv2d", "torch.nn.functional.conv3d",
)  # fmt: skip
# Building tensors computes no values from the input: creating, filling, indexing,
# reshaping, joining and splitting, changing dtype or device, and what a layer such as
# ``nn.Conv2d`` runs when it is made and moved.
TENSOR_BUILDING = (
    "torch.tensor", "torch.as_tensor", "torch.zeros", "torch.ones", "torch.full", "torch.eye",
    "torch.arange", "torch.empty", "torch.zeros_like", "torch.ones_like", "torch.full_like",
    "torch.empty_like", "torch.Tensor.new_zeros", "torch.Tensor.new_ones",
    "torch.Tensor.new_full", "torch.Tensor.new_empty", "torch.Tensor.new_tensor",
    "torch.Tensor.zero_", "torch.Tensor.fill_", "torch.Tensor.copy_",
    "torch.Tensor.__getitem__", "torch.Tensor.__setitem__", "torch.Tensor.select",
    "torch.narrow", "torch.Tensor.narrow", "torch.index_select", "torch.Tensor.index_select",
    "torch.reshape", "torch.Tensor.reshape", "torch.Tensor.view", "torch.Tensor.view_as",
    "torch.flatten", "torch.Tensor.flatten", "torch.Tensor.unflatten", "torch.unsqueeze",
    "torch.Tensor.unsqueeze", "torch.squeeze", "torch.Tensor.squeeze", "torch.permute",
    "torch.Tensor.permute", "torch.transpose", "torch.Tensor.transpose", "torch.Tensor.t",
    "torch.movedim", "torch.Tensor.movedim", "torch.Tensor.contiguous", "torch.Tensor.expand",
    "torch.Tensor.expand_as", "torch.Tensor.repeat", "torch.repeat_interleave",
    "torch.Tensor.repeat_interleave", "torch.tile", "torch.Tensor.tile", "torch.flip",
    "torch.Tensor.flip", "torch.cat", "torch.concat", "torch.concatenate", "torch.stack",
    "torch.split", "torch.Tensor.split", "torch.chunk", "torch.Tensor.chunk", "torch.unbind",
    "torch.Tensor.unbind", "torch.diag_embed", "torch.block_diag",
    "torch.nn.functional.one_hot", "torch.Tensor.to", "torch.Tensor.float",
    "torch.Tensor.double", "torch.Tensor.type_as", "torch.Tensor.clone", "torch.Tensor.detach",
    "torch.Tensor.cpu", "torch.Tensor.cuda", "torch.Tensor.requires_grad_",
    "torch.Tensor.is_contiguous", "torch.Tensor.is_floating_point",
    "torch._C._nn._parse_to", "torch._has_compatible_shallow_copy_type",
    "torch._C._set_grad_enabled", "torch.nn.init.kaiming_uniform_", "torch.nn.init.uniform_",
    "torch.nn.init.zeros_", "torch.nn.init.ones_", "torch.nn.init.constant_",
)  # fmt: skip
# Reading a tensor's size, type or device.
_METADATA = (
    "torch.Tensor.size", "torch.Tensor.dim", "torch.Tensor.numel", "torch.Tensor.__len__",
    "torch.Tensor.__repr__", "torch.Tensor.__format__",
)  # fmt: skip


def _torch_name(func: Any) -> str:
    """How a message names a PyTorch function (``torch.abs``, ``Tensor.abs``, ...)."""
    name = getattr(func, "__name__", None) or repr(func)
    owner = getattr(func, "__qualname__", "").split(".")[0]
    if owner in ("TensorBase", "Tensor"):
        return f"Tensor.{name}"
    module = getattr(func, "__module__", None)
    return f"{module or 'torch'}.{name}".replace("torch._C._VariableFunctions", "torch")


class _Only(torch.overrides.TorchFunctionMode):
    """Refuses every PyTorch function that is not allowed."""

    def __init__(self, allowed: set, what: str, hint: str) -> None:
        super().__init__()
        self.allowed, self.what, self.hint = allowed, what, hint

    def __torch_function__(self, func, types, args=(), kwargs=None):
        # reading or setting an attribute (x.shape, x.device, layer.weight.data = ...)
        if func not in self.allowed and getattr(func, "__name__", "") not in ("__get__", "__set__"):
            raise CheckFailed(
                f"{self.what} used {_torch_name(func)}, which this exercise does not allow"
                + (f": {self.hint}" if self.hint else "")
            )
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def only(*names: str, what: str, hint: str = "") -> Iterator[None]:
    """Inside the ``with`` block, only the named PyTorch functions may run.

    Every PyTorch operation the answer runs is seen by a ``TorchFunctionMode``, however the
    answer reaches it (a name, an alias, a tensor method, an operator such as ``a - b``, a
    layer); one that is not in ``names`` fails with :class:`CheckFailed` naming it. Reading
    a tensor's shape, dtype or device is always allowed. Python arithmetic is not PyTorch
    and is not seen.

    Args:
        names: dotted paths of the allowed functions, e.g. ``*RELU, *TENSOR_ARITHMETIC``.
        what: the answer being checked, named in the message.
        hint: appended to the message, e.g. ``"use F.relu and +, -, *, /"``.

    Raises:
        ValueError: if a name cannot be resolved.
    """
    allowed = set()
    for dotted in (*names, *_METADATA):
        allowed.add(getattr(*_resolve(dotted)))
    with _rule(_Only(allowed, what, hint)):
        yield


def _refusal(name: str, hint: str) -> str:
    return f"{name} is not allowed in this exercise" + (f": {hint}" if hint else "")


def _swappable(function: Any) -> bool:
    """A plain Python function whose code can be replaced (it closes over nothing)."""
    return isinstance(function, types.FunctionType) and not function.__code__.co_freevars


def _refusing_code(name: str, hint: str, like: types.CodeType) -> types.CodeType:
    """Code that raises :class:`CheckFailed` (found through ``__import__``, since it runs
    with the globals of the function it replaces)."""
    source = (
        "def refuse(*args, **kwargs):\n"
        f"    raise __import__('convbook.checks').checks.CheckFailed({_refusal(name, hint)!r})\n"
    )
    namespace: dict = {}
    exec(compile(source, like.co_filename, "exec"), namespace)  # noqa: S102 - fixed text
    return namespace["refuse"].__code__.replace(co_name=like.co_name)


@contextlib.contextmanager
def forbid(*names: str, hint: str = "") -> Iterator[None]:
    """Make functions unavailable inside the ``with`` block.

    Each dotted name (``"torch.max"``, ``"torch.Tensor.amax"``,
    ``"torch.nn.functional.avg_pool2d"``, ``"convbook.ops.corr2d"``) is refused with
    :class:`CheckFailed` naming it, however the answer reaches it: through the name, a
    reference taken earlier (``from torch import max as m``, ``f = F.avg_pool2d``), a tensor
    method or a layer that calls it (``nn.AvgPool2d`` calls ``F.avg_pool2d``). PyTorch
    functions are refused by a ``TorchFunctionMode`` that sees every call, Python functions
    by replacing their code, and the names themselves by replacing them. Everything is
    restored when the block ends, even on error.

    Args:
        names: dotted paths of the functions to forbid.
        hint: appended to the message, e.g. ``"use a convolution instead"``.

    Raises:
        ValueError: if a name cannot be resolved (before anything is replaced).
    """
    targets = []
    for dotted in names:
        owner, attribute = _resolve(dotted)
        targets.append((dotted, owner, attribute, getattr(owner, attribute)))

    saved, codes = [], []
    mode = _Blocked({original: dotted for dotted, _, _, original in targets}, hint)
    try:
        for dotted, owner, attribute, original in targets:
            own = attribute in vars(owner)
            saved.append((owner, attribute, own, vars(owner).get(attribute)))
            if _swappable(original):
                codes.append((original, original.__code__))
                original.__code__ = _refusing_code(dotted, hint, original.__code__)

            def blocked(*args: Any, _name: str = dotted, **kwargs: Any) -> Any:
                raise CheckFailed(_refusal(_name, hint))

            setattr(owner, attribute, blocked)
        with _rule(mode):
            yield
    finally:
        for function, code in reversed(codes):
            function.__code__ = code
        for owner, attribute, own, original in reversed(saved):
            if own:
                setattr(owner, attribute, original)
            else:
                delattr(owner, attribute)  # inherited (e.g. from torch._C.TensorBase)

"""What an exercise answer may run: the allow-lists, and the PyTorch trace that enforces them.

An exercise that says how an answer is computed ("only ReLU and arithmetic") names its
operations with the lists below. The grader checks the rule twice: on the answer's source
(``convbook.grading.rules``, an allow-list over its syntax tree) and while it runs, with a
``TorchFunctionMode`` that sees every PyTorch operation (``trace_only``, ``trace_forbid``,
``trace_no_torch``). The source check is the one the student's code cannot reach; the trace
sees what the source cannot type, such as ``a > b`` on tensors.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from typing import Any

import torch

__all__ = [
    "CONVOLUTION", "METADATA", "RELU", "TENSOR_ARITHMETIC", "TENSOR_BUILDING", "resolve",
    "trace_forbid", "trace_no_torch", "trace_only",
]  # fmt: skip

RELU = (
    "torch.relu", "torch.relu_", "torch.nn.functional.relu", "torch.nn.functional.relu_",
    "torch.Tensor.relu", "torch.Tensor.relu_", "torch.nn.ReLU",
)  # fmt: skip
# Arithmetic on tensors: the four operations, negation and sums (no abs, no comparisons,
# no powers).
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
    "torch.nn.functional.conv2d", "torch.nn.functional.conv3d", "torch.nn.Conv1d",
    "torch.nn.Conv2d", "torch.nn.Conv3d", "torch.nn.LazyConv1d", "torch.nn.LazyConv2d",
    "torch.nn.LazyConv3d",
)  # fmt: skip
# Building tensors computes no value from the input: creating, filling, indexing,
# reshaping, joining and splitting them, changing their floating-point dtype or device
# (not to bool or integers: that is a step function), and what a layer such as
# ``nn.Conv2d`` runs when it is made and moved.
TENSOR_BUILDING = (
    # creating
    "torch.tensor", "torch.as_tensor", "torch.zeros", "torch.ones", "torch.full",
    "torch.empty", "torch.eye", "torch.arange", "torch.linspace", "torch.zeros_like",
    "torch.ones_like", "torch.full_like", "torch.empty_like", "torch.Tensor.new_zeros",
    "torch.Tensor.new_ones", "torch.Tensor.new_full", "torch.Tensor.new_empty",
    "torch.Tensor.new_tensor", "torch.diag", "torch.Tensor.diag", "torch.diagflat",
    "torch.diag_embed", "torch.Tensor.diag_embed", "torch.block_diag", "torch.tril",
    "torch.triu", "torch.Tensor.tril", "torch.Tensor.triu", "torch.nn.functional.one_hot",
    # filling
    "torch.Tensor.zero_", "torch.Tensor.fill_", "torch.Tensor.fill_diagonal_",
    "torch.Tensor.copy_", "torch.scatter", "torch.Tensor.scatter", "torch.Tensor.scatter_",
    "torch.index_put", "torch.Tensor.index_put", "torch.Tensor.index_put_",
    "torch.index_fill", "torch.Tensor.index_fill", "torch.Tensor.index_fill_",
    "torch.Tensor.index_copy_", "torch.masked_fill", "torch.Tensor.masked_fill",
    "torch.Tensor.masked_fill_", "torch.select_scatter", "torch.slice_scatter",
    "torch.diagonal_scatter",
    # indexing
    "torch.Tensor.__getitem__", "torch.Tensor.__setitem__", "torch.select",
    "torch.Tensor.select", "torch.narrow", "torch.Tensor.narrow", "torch.index_select",
    "torch.Tensor.index_select", "torch.gather", "torch.Tensor.gather", "torch.take",
    "torch.Tensor.take", "torch.take_along_dim", "torch.Tensor.take_along_dim",
    "torch.diagonal", "torch.Tensor.diagonal", "torch.Tensor.unfold",
    "torch.nn.functional.unfold",
    # reshaping
    "torch.reshape", "torch.Tensor.reshape", "torch.Tensor.reshape_as", "torch.Tensor.view",
    "torch.Tensor.view_as", "torch.flatten", "torch.Tensor.flatten", "torch.ravel",
    "torch.Tensor.ravel", "torch.unflatten", "torch.Tensor.unflatten", "torch.unsqueeze",
    "torch.Tensor.unsqueeze", "torch.Tensor.unsqueeze_", "torch.squeeze",
    "torch.Tensor.squeeze", "torch.Tensor.squeeze_", "torch.permute", "torch.Tensor.permute",
    "torch.transpose", "torch.Tensor.transpose", "torch.Tensor.transpose_", "torch.t",
    "torch.Tensor.t", "torch.Tensor.T", "torch.Tensor.mT", "torch.swapaxes",
    "torch.Tensor.swapaxes", "torch.swapdims", "torch.Tensor.swapdims", "torch.movedim",
    "torch.Tensor.movedim", "torch.moveaxis", "torch.Tensor.moveaxis",
    "torch.Tensor.contiguous", "torch.Tensor.expand", "torch.Tensor.expand_as",
    "torch.broadcast_to", "torch.Tensor.broadcast_to", "torch.Tensor.repeat",
    "torch.repeat_interleave", "torch.Tensor.repeat_interleave", "torch.tile",
    "torch.Tensor.tile", "torch.flip", "torch.Tensor.flip", "torch.fliplr", "torch.flipud",
    "torch.roll", "torch.Tensor.roll", "torch.rot90", "torch.Tensor.rot90",
    # joining and splitting
    "torch.cat", "torch.concat", "torch.concatenate", "torch.stack", "torch.hstack",
    "torch.vstack", "torch.dstack", "torch.column_stack", "torch.row_stack", "torch.split",
    "torch.Tensor.split", "torch.chunk", "torch.Tensor.chunk", "torch.tensor_split",
    "torch.Tensor.tensor_split", "torch.hsplit", "torch.Tensor.hsplit", "torch.vsplit",
    "torch.Tensor.vsplit", "torch.dsplit", "torch.Tensor.dsplit", "torch.unbind",
    "torch.Tensor.unbind",
    # floating-point dtype and device; copies
    "torch.Tensor.to", "torch.Tensor.float", "torch.Tensor.double", "torch.Tensor.type_as",
    "torch.Tensor.clone", "torch.Tensor.detach", "torch.Tensor.cpu", "torch.Tensor.cuda",
    "torch.Tensor.requires_grad_",
    # what a layer runs when it is made (nn.Conv2d) and moved
    "torch._C._nn._parse_to", "torch._has_compatible_shallow_copy_type",
    "torch._C._set_grad_enabled", "torch.nn.init.kaiming_uniform_", "torch.nn.init.uniform_",
    "torch.nn.init.zeros_", "torch.nn.init.ones_", "torch.nn.init.constant_",
)  # fmt: skip
# Reading a tensor's size, type or device: always allowed.
METADATA = (
    "torch.Tensor.size", "torch.Tensor.dim", "torch.Tensor.numel", "torch.Tensor.__len__",
    "torch.Tensor.__repr__", "torch.Tensor.__format__", "torch.Tensor.is_contiguous",
    "torch.Tensor.is_floating_point",
)  # fmt: skip


def resolve(dotted: str) -> Any:
    """The object a dotted path names (``"torch.nn.functional.avg_pool2d"``).

    Raises:
        ValueError: if the path does not lead to an existing attribute.
    """
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                owner = getattr(owner, attribute)
        except AttributeError:
            break
        return owner
    raise ValueError(f"{dotted!r} does not exist: give a dotted path such as 'torch.max'")


def _name(func: Any) -> str:
    """How a message names a PyTorch function (``torch.abs``, ``Tensor.abs``, ...)."""
    name = getattr(func, "__name__", None) or repr(func)
    owner = getattr(func, "__qualname__", "").split(".")[0]
    if owner in ("TensorBase", "Tensor"):
        return f"Tensor.{name}"
    module = getattr(func, "__module__", None)
    return f"{module or 'torch'}.{name}".replace("torch._C._VariableFunctions", "torch")


# Starting a process while a rule is checked would run the answer's work where no
# TorchFunctionMode sees it: Python reports these as audit events, refused during a rule.
_PROCESS_EVENTS = {
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "pty.spawn", "os.startfile",
}  # fmt: skip
_rules_in_force = 0


def _refuse_processes(event: str, args: tuple) -> None:
    if _rules_in_force and event in _PROCESS_EVENTS:
        from convbook.checks import CheckFailed

        raise CheckFailed(
            f"the answer started another process ({event}) while it was checked; the rules"
            " of this exercise must hold for all of its work, so do it in the function itself"
        )


sys.addaudithook(_refuse_processes)


@contextlib.contextmanager
def _in_force(mode: torch.overrides.TorchFunctionMode) -> Iterator[None]:
    global _rules_in_force
    _rules_in_force += 1
    try:
        with mode:
            yield
    finally:
        _rules_in_force -= 1


def _refused(message: str) -> Exception:
    from convbook.checks import CheckFailed

    return CheckFailed(message)


class _Only(torch.overrides.TorchFunctionMode):
    def __init__(self, allowed: set, what: str, hint: str) -> None:
        super().__init__()
        self.allowed, self.what, self.hint = allowed, what, hint

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        # reading or setting an attribute (x.shape, x.device, layer.weight.data = ...)
        if func not in self.allowed and getattr(func, "__name__", "") not in ("__get__", "__set__"):
            raise _refused(
                f"{self.what} used {_name(func)}, which this exercise does not allow"
                + (f": {self.hint}" if self.hint else "")
            )
        if getattr(func, "__name__", "") == "to":  # a dtype change must stay floating-point
            for value in (*args, *kwargs.values()):
                if isinstance(value, torch.dtype) and not value.is_floating_point:
                    raise _refused(
                        f"{self.what} changed a tensor to {value}, which this exercise does "
                        "not allow (only floating-point dtypes)"
                    )
        return func(*args, **kwargs)


@contextlib.contextmanager
def trace_only(*names: str, what: str, hint: str = "") -> Iterator[None]:
    """Inside the block, only the named PyTorch functions (and :data:`METADATA`) may run."""
    allowed = {resolve(dotted) for dotted in (*names, *METADATA)}
    with _in_force(_Only(allowed, what, hint)):
        yield


class _Blocked(torch.overrides.TorchFunctionMode):
    def __init__(self, blocked: dict[Any, str], hint: str) -> None:
        super().__init__()
        self.blocked, self.hint = blocked, hint

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = self.blocked.get(func)
        if name is not None:
            raise _refused(f"{name} is not allowed in this exercise"
                           + (f": {self.hint}" if self.hint else ""))  # fmt: skip
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def trace_forbid(*names: str, hint: str = "") -> Iterator[None]:
    """Inside the block, the named PyTorch functions fail, however they are reached (a
    layer that calls them included). Python functions are refused by the source check."""
    blocked = {resolve(dotted): dotted for dotted in names}
    with _in_force(_Blocked(blocked, hint)):
        yield


class _NoTorch(torch.overrides.TorchFunctionMode):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise _refused(
            f"{self.what} must be computed with Python arithmetic only, but it called "
            f"PyTorch ({_name(func)}): work the count out from the sizes, without building "
            "tensors, layers or models"
        )


@contextlib.contextmanager
def trace_no_torch(what: str) -> Iterator[None]:
    """Inside the block, any PyTorch function fails."""
    with _in_force(_NoTorch(what)):
        yield

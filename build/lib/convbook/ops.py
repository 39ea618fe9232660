"""Cross-correlation, the convolutional layer, its output shape and channels (sections 7.2-7.4)."""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Conv2D",
    "comp_conv2d",
    "conv_output_shape",
    "corr2d",
    "corr2d_loop",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
]

IntOrPair = int | tuple[int, int]


def _pair(value: IntOrPair, name: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair is checked and returned as a tuple of ints."""
    if isinstance(value, int):
        return value, value
    if isinstance(value, (tuple, list, torch.Size)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


def _float_operands(x: Tensor, kernel: Tensor) -> tuple[Tensor, Tensor]:
    """Cast both tensors to one floating dtype (d2l's loop always returns floats)."""
    if x.dtype == kernel.dtype and x.is_floating_point():
        return x, kernel  # the common case: no casts, no extra work per call
    dtype = torch.promote_types(x.dtype, kernel.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    return x.to(dtype), kernel.to(dtype)


def _check_corr2d_args(x: Tensor, kernel: Tensor) -> None:
    if x.dim() != 2 or kernel.dim() != 2:
        raise ValueError(
            f"expected 2-D input and kernel, got shapes {tuple(x.shape)} and {tuple(kernel.shape)}"
        )
    if kernel.shape[0] > x.shape[0] or kernel.shape[1] > x.shape[1]:
        raise ValueError(f"kernel {tuple(kernel.shape)} is larger than input {tuple(x.shape)}")


def corr2d_loop(x: Tensor, kernel: Tensor) -> Tensor:
    """2-D cross-correlation with two Python loops: the teaching version (section 7.2).

    Output element ``(i, j)`` is the sum of the elementwise product of ``kernel`` and the
    window of ``x`` whose top-left corner is ``(i, j)``. Slow, but every step is visible.

    Args:
        x: input, shape (H, W).
        kernel: shape (kh, kw), no larger than ``x``.

    Returns:
        Tensor of shape (H - kh + 1, W - kw + 1), floating point.

    Raises:
        ValueError: if a tensor is not 2-D or the kernel is larger than ``x``.
    """
    _check_corr2d_args(x, kernel)
    x, kernel = _float_operands(x, kernel)
    kh, kw = kernel.shape
    out = x.new_zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i : i + kh, j : j + kw] * kernel).sum()
    return out


def corr2d(x: Tensor, kernel: Tensor) -> Tensor:
    """2-D cross-correlation (no padding, stride 1), the same result as ``corr2d_loop``
    (section 7.2).

    PyTorch's ``F.conv2d`` computes exactly this sum (it does not flip the kernel), so we
    add the batch and channel axes it expects and strip them again.

    Args:
        x: input, shape (H, W).
        kernel: shape (kh, kw), no larger than ``x``.

    Returns:
        Tensor of shape (H - kh + 1, W - kw + 1), floating point.

    Raises:
        ValueError: if a tensor is not 2-D or the kernel is larger than ``x``.
    """
    _check_corr2d_args(x, kernel)
    x, kernel = _float_operands(x, kernel)
    y = F.conv2d(x.reshape(1, 1, *x.shape), kernel.reshape(1, 1, *kernel.shape))
    return y[0, 0]  # (1, 1, H', W') -> (H', W')


class Conv2D(nn.Module):
    """A convolutional layer for one 2-D input: ``corr2d(x, weight) + bias`` (section 7.2).

    Like d2l, the kernel starts uniform in [0, 1) and the scalar bias at zero; both are
    parameters, so gradient descent can learn them.

    Args:
        kernel_size: (kh, kw), or one int for a square kernel.

    Raises:
        ValueError: if a kernel side is not positive.
    """

    def __init__(self, kernel_size: IntOrPair) -> None:
        super().__init__()
        kh, kw = _pair(kernel_size, "kernel_size")
        if kh < 1 or kw < 1:
            raise ValueError(f"kernel_size must be positive, got {(kh, kw)}")
        self.weight = nn.Parameter(torch.rand(kh, kw))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        return corr2d(x, self.weight) + self.bias


def comp_conv2d(conv2d: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Apply a batched 2-D layer to one single-channel image (section 7.3).

    Layers such as ``nn.Conv2d`` want (batch, channels, H, W); we add a batch and a
    channel axis of size 1, run the layer and drop both axes again.

    Args:
        conv2d: a layer mapping (1, 1, H, W) to (1, 1, H', W'), e.g. ``nn.LazyConv2d(1, 3)``.
        x: input, shape (H, W).

    Returns:
        The layer's output, shape (H', W').

    Raises:
        ValueError: if ``x`` is not 2-D or the layer does not return one channel of one image.
    """
    if x.dim() != 2:
        raise ValueError(f"expected a 2-D input (H, W), got shape {tuple(x.shape)}")
    y = conv2d(x.reshape((1, 1) + x.shape))
    if y.dim() != 4 or y.shape[:2] != (1, 1):
        raise ValueError(f"expected the layer to return (1, 1, H', W'), got {tuple(y.shape)}")
    return y.reshape(y.shape[2:])


def conv_output_shape(
    input_hw: IntOrPair,
    kernel_size: IntOrPair,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> tuple[int, int]:
    """Height and width after a convolution or pooling window (section 7.3).

    With ``padding`` rows/columns added on *each* side (as in ``nn.Conv2d``), each side is
    ``floor((n + 2 * p - k) / s) + 1``. d2l writes the same formula with the total padding
    ``p_h = 2 * p``: ``floor((n_h - k_h + p_h + s_h) / s_h)``.

    Args:
        input_hw: (H, W), or one int for a square input.
        kernel_size: (kh, kw), or one int.
        padding: zeros added on each side, (ph, pw) or one int.
        stride: step of the window, (sh, sw) or one int.

    Returns:
        (H_out, W_out).

    Raises:
        ValueError: if a size or stride is not positive, a padding is negative, or the
            kernel is larger than the padded input.
    """
    n = _pair(input_hw, "input_hw")
    k = _pair(kernel_size, "kernel_size")
    p = _pair(padding, "padding")
    s = _pair(stride, "stride")
    if min(n + k + s) < 1 or min(p) < 0:
        raise ValueError(
            f"need positive input_hw {n}, kernel_size {k} and stride {s}, "
            f"and non-negative padding {p}"
        )
    padded = (n[0] + 2 * p[0], n[1] + 2 * p[1])
    if k[0] > padded[0] or k[1] > padded[1]:
        raise ValueError(f"kernel {k} is larger than the padded input {padded}")
    return (padded[0] - k[0]) // s[0] + 1, (padded[1] - k[1]) // s[1] + 1


def _check_multi_args(x: Tensor, kernel: Tensor, kernel_dims: int) -> None:
    if x.dim() != 3 or kernel.dim() != kernel_dims:
        raise ValueError(
            f"expected input (c_i, H, W) and a {kernel_dims}-D kernel, "
            f"got shapes {tuple(x.shape)} and {tuple(kernel.shape)}"
        )
    c_i = kernel.shape[-3]
    if c_i != x.shape[0]:
        raise ValueError(
            f"kernel {tuple(kernel.shape)} has {c_i} input channels, "
            f"input {tuple(x.shape)} has {x.shape[0]}"
        )
    if kernel.shape[-2] > x.shape[1] or kernel.shape[-1] > x.shape[2]:
        raise ValueError(f"kernel {tuple(kernel.shape)} is larger than input {tuple(x.shape)}")


def corr2d_multi_in(x: Tensor, kernel: Tensor) -> Tensor:
    """Cross-correlate channel by channel and add the results (section 7.4).

    Args:
        x: input, shape (c_i, H, W).
        kernel: one (kh, kw) kernel per input channel, shape (c_i, kh, kw).

    Returns:
        One channel, shape (H - kh + 1, W - kw + 1).

    Raises:
        ValueError: if the shapes are not 3-D, the channel counts differ, or the kernel is
            larger than the input.
    """
    _check_multi_args(x, kernel, kernel_dims=3)
    return sum(corr2d(x_c, k_c) for x_c, k_c in zip(x, kernel, strict=True))


def corr2d_multi_in_out(x: Tensor, kernel: Tensor) -> Tensor:
    """One multi-input cross-correlation per output channel, stacked (section 7.4).

    Args:
        x: input, shape (c_i, H, W).
        kernel: shape (c_o, c_i, kh, kw); ``kernel[o]`` produces output channel ``o``.

    Returns:
        Tensor of shape (c_o, H - kh + 1, W - kw + 1).

    Raises:
        ValueError: if ``x`` is not 3-D, ``kernel`` not 4-D, the input channel counts
            differ, or the kernel is larger than the input.
    """
    _check_multi_args(x, kernel, kernel_dims=4)
    return torch.stack([corr2d_multi_in(x, kernel_o) for kernel_o in kernel])


def corr2d_multi_in_out_1x1(x: Tensor, kernel: Tensor) -> Tensor:
    """A 1x1 convolution written as one matrix product (section 7.4).

    Every pixel's channel vector (length c_i) is multiplied by the same (c_o, c_i) matrix,
    which is a fully connected layer applied at each pixel.

    Args:
        x: input, shape (c_i, H, W).
        kernel: shape (c_o, c_i, 1, 1).

    Returns:
        Tensor of shape (c_o, H, W), equal to ``corr2d_multi_in_out(x, kernel)``.

    Raises:
        ValueError: if ``x`` is not 3-D, ``kernel`` is not (c_o, c_i, 1, 1), or the input
            channel counts differ.
    """
    _check_multi_args(x, kernel, kernel_dims=4)
    if kernel.shape[2:] != (1, 1):
        raise ValueError(f"expected a (c_o, c_i, 1, 1) kernel, got {tuple(kernel.shape)}")
    x, kernel = _float_operands(x, kernel)
    c_i, h, w = x.shape
    c_o = kernel.shape[0]
    y = kernel.reshape(c_o, c_i) @ x.reshape(c_i, h * w)  # (c_o, h * w)
    return y.reshape(c_o, h, w)

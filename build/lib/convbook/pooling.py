"""Maximum and average pooling (section 7.5)."""

import torch
import torch.nn.functional as F
from torch import Tensor

from convbook.ops import IntOrPair, _pair  # shared with the convolution helpers

__all__ = ["pool2d"]


def pool2d(
    x: Tensor,
    pool_size: IntOrPair,
    mode: str = "max",
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> Tensor:
    """Max- or average-pool the last two axes of ``x`` (section 7.5).

    Each output element summarises one ``pool_size`` window: its maximum or its mean.
    Like d2l's ``pool2d`` the stride defaults to 1 (``nn.MaxPool2d`` defaults it to the
    window size). Leading axes, such as channels, are pooled separately. Padding matches
    PyTorch: ``-inf`` for max (a padded cell never wins) and zeros that count in the mean
    for avg (``nn.AvgPool2d``'s default ``count_include_pad=True``).

    Args:
        x: input, shape (..., H, W).
        pool_size: window (ph, pw), or one int for a square window.
        mode: ``"max"`` or ``"avg"``.
        padding: cells added on each side, at most half the window, (ph, pw) or one int.
        stride: step of the window, (sh, sw) or one int.

    Returns:
        Tensor of shape (..., H_out, W_out) with ``H_out = (H + 2 * ph - kh) // sh + 1``.

    Raises:
        ValueError: for an unknown mode, an input with fewer than 2 axes, a non-positive
            window or stride, padding that is negative or more than half the window, or a
            window larger than the padded input.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    if x.dim() < 2:
        raise ValueError(f"expected an input of shape (..., H, W), got {tuple(x.shape)}")
    (kh, kw), (ph, pw) = _pair(pool_size, "pool_size"), _pair(padding, "padding")
    sh, sw = _pair(stride, "stride")
    if min(kh, kw, sh, sw) < 1:
        raise ValueError(f"pool_size {(kh, kw)} and stride {(sh, sw)} must be positive")
    if not (0 <= ph <= kh // 2 and 0 <= pw <= kw // 2):
        # The same rule as PyTorch: a window lying entirely in the padding has no value.
        raise ValueError(f"padding {(ph, pw)} must be between 0 and half of pool_size {(kh, kw)}")
    height, width = x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw
    if kh > height or kw > width:
        raise ValueError(
            f"pool_size {(kh, kw)} is larger than the padded input {(height, width)} "
            f"(input shape {tuple(x.shape)})"
        )
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    fill = float("-inf") if mode == "max" else 0.0
    x = F.pad(x, (pw, pw, ph, ph), value=fill)
    windows = x.unfold(-2, kh, sh).unfold(-2, kw, sw)  # (..., H_out, W_out, kh, kw)
    if mode == "max":
        return windows.amax(dim=(-2, -1))
    return windows.mean(dim=(-2, -1))

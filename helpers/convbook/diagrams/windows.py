"""Window diagrams, drawn from the tensors they explain (sections 7.2-7.5).

A window diagram shows the input, the kernel and the output as grids of numbers, with the
window that produced one output element highlighted and its sum written out. The numbers
are not typed in: the output grid is what ``corr2d``, ``corr2d_multi_in``,
``corr2d_multi_in_out``, ``pool2d`` or ``F.conv2d`` computed, so a figure cannot disagree
with the code.
"""

from dataclasses import dataclass, field

import numpy as np
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from convbook.diagrams.base import Diagram
from convbook.ops import (
    IntOrPair,
    _pair,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    corr2d_multi_in_out_1x1,
)
from convbook.pooling import pool2d

__all__ = ["WorkedSum", "correlation_diagram", "pooling_diagram"]

Position = tuple[int, int]
WINDOW_COLOUR = "#9ecae1"  # the highlighted window and the output it makes
PADDING_COLOUR = "#e0e0e0"
UNIT_INCHES = 0.42  # one grid cell
STAR = r"$\star$"  # cross-correlation


@dataclass
class WorkedSum:
    """How one output element is computed: ``op`` over ``terms``, giving ``value``.

    For a convolution each term is a (kernel weight, input value) pair per input channel;
    for pooling each term is an input value.
    """

    position: tuple[int, ...]  # (channel, row, column) of the output element
    op: str  # "sum", "max" or "mean"
    terms: list  # per input channel: [(weight, value), ...]; for pooling: [value, ...]
    value: float

    def text(self) -> str:
        if self.op in ("max", "mean"):
            return f"{self.op}({', '.join(_fmt(v) for v in self.terms)}) = {_fmt(self.value)}"
        parts = [" + ".join(f"{_fmt(v)}×{_fmt(w)}" for w, v in channel) for channel in self.terms]
        if len(parts) > 1 and any(len(channel) > 1 for channel in self.terms):
            parts = [f"({part})" for part in parts]
        return f"{' + '.join(parts)} = {_fmt(self.value)}"


def _cells(rows: int, columns: int) -> set[Position]:
    return {(r, c) for r in range(rows) for c in range(columns)}


def _fmt(value: float) -> str:
    value = float(value)
    if np.isinf(value):
        return "−∞" if value < 0 else "∞"
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.3g}"


@dataclass
class _Grid:
    label: str
    values: np.ndarray  # (rows, columns)
    window: set = field(default_factory=set)  # highlighted cells
    padding: set = field(default_factory=set)  # cells that are padding, not input

    @property
    def size(self) -> tuple[int, int]:
        return self.values.shape


def _draw_grid(ax: Axes, grid: _Grid, left: float, top: float) -> None:
    rows, columns = grid.size
    for r in range(rows):
        for c in range(columns):
            colour = WINDOW_COLOUR if (r, c) in grid.window else "white"
            if (r, c) in grid.padding and (r, c) not in grid.window:
                colour = PADDING_COLOUR
            ax.add_patch(Rectangle((left + c, top + r), 1, 1, facecolor=colour, edgecolor="k"))
            ax.text(left + c + 0.5, top + r + 0.5, _fmt(grid.values[r, c]), ha="center",
                    va="center", fontsize=10)  # fmt: skip
    if grid.label:
        ax.text(left + columns / 2, top - 0.1, grid.label, ha="center", va="bottom", fontsize=8,
                color="0.3")  # fmt: skip


GAP = 0.8  # between grids, room for a grid's label


def _column_size(column: list[_Grid]) -> tuple[float, float]:
    width = max(g.size[1] for g in column)
    height = sum(g.size[0] for g in column) + GAP * (len(column) - 1)
    return width, height


def _operator_width(operator: str) -> float:
    """Room for an operator between two grids: a symbol, or a word such as ``max``."""
    if operator == STAR or len(operator) == 1:
        return 1.6
    return 0.35 * max(len(line) for line in operator.splitlines()) + 1.0


def _draw_panel(ax: Axes, items: list, caption: str) -> tuple[float, float]:
    """Draw ``items`` left to right, vertically centred, and ``caption`` below.

    An item is an operator string or a ``(title, columns)`` pair, a column being a list of
    grids stacked from top to bottom. Returns the panel's (width, height) in cells.
    """
    sizes = []
    for item in items:
        if isinstance(item, str):
            sizes.append((_operator_width(item), 0.0))
        else:
            widths, heights = zip(*(_column_size(col) for col in item[1]), strict=True)
            sizes.append((sum(widths) + GAP * (len(item[1]) - 1), max(heights)))
    height = max(h for _, h in sizes)
    left = 0.0
    for item, (width, item_height) in zip(items, sizes, strict=True):
        if isinstance(item, str):
            size = 22 if item == STAR else 15 if len(item) == 1 else 11
            ax.text(left + width / 2, height / 2, item, ha="center", va="center", fontsize=size)
            left += width
            continue
        title, columns = item
        labelled = any(grid.label for column in columns for grid in column)
        ax.text(left + width / 2, (height - item_height) / 2 - (0.55 if labelled else 0.1),
                title, ha="center", va="bottom", fontsize=10)  # fmt: skip
        x = left
        for column in columns:
            col_width, col_height = _column_size(column)
            top = (height - col_height) / 2
            for grid in column:
                _draw_grid(ax, grid, x + (col_width - grid.size[1]) / 2, top)
                top += grid.size[0] + GAP
            x += col_width + GAP
        left += width
    ax.text(left / 2, height + 0.35, caption, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.2, left + 0.2)
    ax.set_ylim(height + 1.0, -1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return left + 0.4, height + 2.3


def _figure(panels: list, ncols: int | None) -> Figure:
    """One axes per panel, ``panels`` being ``(items, caption)`` pairs."""
    ncols = ncols or min(len(panels), 2)
    nrows = -(-len(panels) // ncols)
    probe = Figure()
    width, height = _draw_panel(probe.add_subplot(), *panels[0])  # the panels share a size
    figure = Figure(figsize=(ncols * width * UNIT_INCHES, nrows * height * UNIT_INCHES))
    axes = np.atleast_1d(figure.subplots(nrows, ncols)).ravel()
    for ax, panel in zip(axes, panels + [None] * (len(axes) - len(panels)), strict=True):
        if panel is None:
            ax.axis("off")
        else:
            _draw_panel(ax, *panel)
    return figure


def _kernel_label(out_channel: int, in_channel: int, c_o: int, several: bool) -> str:
    if c_o > 1:
        return f"out {out_channel}, in {in_channel}"
    return f"channel {in_channel}" if several else ""


def _positions(highlight: Position | list[Position] | str, shape: tuple[int, int]) -> list:
    if highlight == "all":
        return [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    found = [highlight] if isinstance(highlight[0], int) else list(highlight)
    for i, j in found:
        if not (0 <= i < shape[0] and 0 <= j < shape[1]):
            raise ValueError(f"output position {(i, j)} is outside the output {tuple(shape)}")
    return found


def _convolve(x: Tensor, kernel: Tensor, padding: tuple, stride: tuple) -> tuple[Tensor, str]:
    """The output (c_o, H', W') as the book's helpers compute it, and the helper's name."""
    if padding != (0, 0) or stride != (1, 1):
        weight = kernel if kernel.dim() == 4 else kernel[None]
        return F.conv2d(x[None], weight, padding=padding, stride=stride)[0], "F.conv2d"
    if kernel.dim() == 3:
        return corr2d_multi_in(x, kernel)[None], "corr2d_multi_in"
    if kernel.shape[2:] == (1, 1):
        return corr2d_multi_in_out_1x1(x, kernel), "corr2d_multi_in_out_1x1"
    if kernel.shape[:2] == (1, 1):
        return corr2d(x[0], kernel[0, 0])[None], "corr2d"
    return corr2d_multi_in_out(x, kernel), "corr2d_multi_in_out"


def correlation_diagram(
    x: Tensor,
    kernel: Tensor,
    highlight: Position | list[Position] | str = (0, 0),
    *,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
    out_channel: int = 0,
    ncols: int | None = None,
) -> Diagram:
    """Input, kernel and output of a cross-correlation, one panel per highlighted output.

    Each panel highlights the window of one output element and writes out its sum of
    products (sections 7.2-7.4). Padding cells are grey.

    Args:
        x: input, (H, W) or (c_i, H, W).
        kernel: (kh, kw); (c_i, kh, kw) for several input channels; or
            (c_o, c_i, kh, kw) for several output channels as well.
        highlight: output position (row, column), a list of them, or ``"all"``.
        padding: zeros added on each side, as in ``nn.Conv2d``.
        stride: step of the window.
        out_channel: the output channel whose elements are highlighted.
        ncols: panels per row (default: up to 2).

    Returns:
        The diagram; ``data`` holds ``input`` (padded), ``kernel``, ``output``,
        ``computed_by`` (the helper that computed the output) and ``sums``.

    Raises:
        ValueError: for tensors of other dimensions, or a position outside the output.
    """
    given_x, given = "x".join(map(str, x.shape)), "x".join(map(str, kernel.shape))
    x = x[None] if x.dim() == 2 else x
    kernel = kernel[None, None] if kernel.dim() == 2 else kernel
    if x.dim() != 3 or kernel.dim() not in (3, 4):
        raise ValueError(f"expected x (c_i, H, W) and a kernel, got {tuple(x.shape)}, "
                         f"{tuple(kernel.shape)}")  # fmt: skip
    (ph, pw), (sh, sw) = _pair(padding, "padding"), _pair(stride, "stride")
    output, computed_by = _convolve(x, kernel, (ph, pw), (sh, sw))
    weights = kernel if kernel.dim() == 4 else kernel[None]  # (c_o, c_i, kh, kw)
    padded = F.pad(x, (pw, pw, ph, ph))
    kh, kw = weights.shape[2:]
    inside = {(r, c) for r in range(ph, ph + x.shape[1]) for c in range(pw, pw + x.shape[2])}
    pad_cells = {(r, c) for r in range(padded.shape[1]) for c in range(padded.shape[2])} - inside
    panels, sums = [], []
    for i, j in _positions(highlight, output.shape[1:]):
        window = {(i * sh + a, j * sw + b) for a in range(kh) for b in range(kw)}
        terms = [[(float(weights[out_channel, c, a, b]), float(padded[c, i * sh + a, j * sw + b]))
                  for a in range(kh) for b in range(kw)] for c in range(x.shape[0])]  # fmt: skip
        worked = WorkedSum((out_channel, i, j), "sum", terms, float(output[out_channel, i, j]))
        sums.append(worked)
        several, c_o = x.shape[0] > 1, weights.shape[0]
        inputs = [_Grid(f"channel {c}" if several else "", padded[c].numpy(), window, pad_cells)
                  for c in range(x.shape[0])]  # fmt: skip
        if (kh, kw) == (1, 1) and c_o > 1:  # a 1 x 1 kernel is a (c_o, c_i) matrix
            row = {(out_channel, c) for c in range(weights.shape[1])}
            kernels = [[_Grid("rows: outputs, columns: inputs", weights[:, :, 0, 0].numpy(), row)]]
        else:
            kernels = [[_Grid(_kernel_label(o, c, c_o, several), weights[o, c].numpy(),
                              _cells(kh, kw) if o == out_channel else set())
                        for c in range(weights.shape[1])] for o in range(c_o)]  # fmt: skip
        outputs = [_Grid(f"channel {o}" if c_o > 1 else "", output[o].numpy(),
                         {(i, j)} if o == out_channel else set()) for o in range(c_o)]  # fmt: skip
        items = [("input", [inputs]), STAR, ("kernel", kernels), "=", ("output", [outputs])]
        panels.append((items, worked.text()))
    data = {"input": padded, "kernel": weights, "output": output, "computed_by": computed_by,
            "sums": sums}  # fmt: skip
    return Diagram(_figure(panels, ncols), data, f"cross-correlation diagram: input {given_x}, "
                   f"kernel {given}, {computed_by}")  # fmt: skip


def pooling_diagram(
    x: Tensor,
    pool_size: IntOrPair,
    mode: str = "max",
    highlight: Position | list[Position] | str = (0, 0),
    *,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
    ncols: int | None = None,
) -> Diagram:
    """Input and output of ``pool2d``, one panel per highlighted output (section 7.5).

    Args:
        x: input, (H, W).
        pool_size, mode, padding, stride: as for :func:`convbook.pooling.pool2d`.
        highlight: output position, a list of them, or ``"all"``.
        ncols: panels per row (default: up to 2).

    Returns:
        The diagram; ``data`` holds ``input`` (padded), ``output`` (``pool2d``'s) and
        ``sums`` (the maximum or mean of each highlighted window).

    Raises:
        ValueError: if ``x`` is not 2-D, and whatever ``pool2d`` raises.
    """
    if x.dim() != 2:
        raise ValueError(f"expected an (H, W) input, got {tuple(x.shape)}")
    output = pool2d(x, pool_size, mode, padding, stride)
    (kh, kw), (ph, pw) = _pair(pool_size, "pool_size"), _pair(padding, "padding")
    sh, sw = _pair(stride, "stride")
    fill = float("-inf") if mode == "max" else 0.0
    padded = F.pad(x.to(output.dtype), (pw, pw, ph, ph), value=fill)
    inside = {(r, c) for r in range(ph, ph + x.shape[0]) for c in range(pw, pw + x.shape[1])}
    pad_cells = _cells(*padded.shape) - inside
    panels, sums = [], []
    op = "max" if mode == "max" else "mean"
    for i, j in _positions(highlight, output.shape):
        window = {(i * sh + a, j * sw + b) for a in range(kh) for b in range(kw)}
        terms = [float(padded[r, c]) for r, c in sorted(window)]
        worked = WorkedSum((0, i, j), op, terms, float(output[i, j]))
        sums.append(worked)
        drawn_in = _Grid("", padded.numpy(), window, pad_cells)
        drawn_out = _Grid("", output.numpy(), {(i, j)})
        items = [("input", [[drawn_in]]), f"{op}\n{kh}×{kw}", ("output", [[drawn_out]])]
        panels.append((items, worked.text()))
    data = {"input": padded, "output": output, "sums": sums, "computed_by": "pool2d"}
    return Diagram(_figure(panels, ncols), data, f"{mode}-pooling diagram: input "
                   f"{'x'.join(map(str, x.shape))}, window {kh}x{kw}, pool2d")  # fmt: skip

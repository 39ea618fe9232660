"""Architecture diagrams, traced from a model's modules (sections 7.6-8.6).

``trace_network`` walks a network's stages and ``trace_block`` a block's parallel branches;
both run one sample input through the module and take every stage's output shape from the
forward hooks of :func:`convbook.probes.trace_shapes`. ``draw`` puts one or more traces side
by side. The labels come from the layers' own settings (kernel size, stride, channels), so
the picture shows the module as it is built, not as someone described it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn

from convbook.diagrams.base import Diagram
from convbook.models import Inception, Residual, ResNeXtBlock
from convbook.models.batchnorm import BatchNorm
from convbook.probes import trace_shapes

__all__ = [
    "BlockTrace",
    "NetworkTrace",
    "Stage",
    "describe",
    "draw",
    "trace_block",
    "trace_network",
]

Shape = tuple[int, ...]
# Layers without weights that act element by element: drawn inside the box of the layer
# before them ("conv 3x3, 64 · ReLU"), as d2l's figures do.
_FOLDED = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Dropout)
_COLOURS = {"conv": "#c6dbef", "pool": "#c7e9c0", "dense": "#fdd0a2", "norm": "#dadaeb",
            "block": "#fcbba1", "other": "#f0f0f0"}  # fmt: skip
UNIT_INCHES = 0.3
LINE = 0.42  # height of one line of text in a box, in units


@dataclass
class Stage:
    """One box: ``lines`` of (label, output shape), one per layer or group of equal layers."""

    name: str  # the module's path inside the traced module ("" for the input)
    lines: list[tuple[str, Shape]]
    kind: str = "other"

    @property
    def shape(self) -> Shape:
        """The stage's output shape (its last line's)."""
        return self.lines[-1][1]


@dataclass
class NetworkTrace:
    """A network's input and its stages, top to bottom."""

    title: str
    stages: list[Stage]


@dataclass
class BlockTrace:
    """A block's input, its parallel branches, how they merge and the block's output."""

    title: str
    input: Stage
    branches: list[list[Stage]]  # an empty branch is the identity
    merge: Stage


def _pair_text(value) -> str:
    first, second = value if isinstance(value, tuple) else (value, value)
    return f"{first}×{second}"


def describe(module: nn.Module) -> str:
    """A short label for a layer or block, from its settings: ``conv 5×5, 6, pad 2``."""
    if isinstance(module, nn.Conv2d):
        text = f"conv {_pair_text(module.kernel_size)}, {module.out_channels}"
        if module.stride not in (1, (1, 1)):
            text += f", stride {module.stride[0]}"
        if module.padding not in (0, (0, 0)):
            text += f", pad {module.padding[0]}"
        return text + (f", {module.groups} groups" if module.groups > 1 else "")
    if isinstance(module, nn.Linear):
        return f"dense {module.out_features}"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
        text = f"{kind}-pool {_pair_text(module.kernel_size)}"
        stride = module.stride if isinstance(module.stride, int) else module.stride[0]
        return text + (f", stride {stride}" if stride != 1 else "")
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "global avg-pool"
    if isinstance(module, (nn.modules.batchnorm._BatchNorm, BatchNorm)):
        return "batch norm"
    if isinstance(module, nn.Dropout):
        return f"dropout {module.p:g}"
    if isinstance(module, Inception):
        widths = [module.b1_1, module.b2_2, module.b3_2, module.b4_2]
        return "Inception " + " + ".join(str(conv.out_channels) for conv in widths)
    if isinstance(module, (Residual, ResNeXtBlock)):
        shortcut = module.conv3 if isinstance(module, Residual) else module.conv4
        text = "residual" if isinstance(module, Residual) else "ResNeXt"
        stride = module.conv1.stride[0] if isinstance(module, Residual) else module.conv2.stride[0]
        text += ", 1×1 shortcut" if shortcut is not None else ""
        return text + (f", stride {stride}" if stride > 1 else "")
    return {nn.ReLU: "ReLU", nn.Sigmoid: "sigmoid", nn.Flatten: "flatten"}.get(
        type(module), type(module).__name__
    )


def _kind(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
        return "pool"
    if isinstance(module, nn.Linear):
        return "dense"
    if isinstance(module, (nn.modules.batchnorm._BatchNorm, BatchNorm)):
        return "norm"
    if isinstance(module, (nn.Sequential, Inception, Residual, ResNeXtBlock)):
        return "block"
    return "other"


def _shapes(module: nn.Module, x_shape: Shape) -> tuple[dict[str, Shape], Shape]:
    """Output shape of every inner module (by name) for one zero input of ``x_shape``.

    Runs in evaluation mode (batch norm keeps its statistics) and leaves the random number
    generator as it was, so drawing a network changes nothing for the cells after it.
    """
    modes = {m: m.training for m in module.modules()}
    device = next((p.device for p in module.parameters() if not nn.parameter.is_lazy(p)),
                  torch.device("cpu"))  # fmt: skip
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            module.eval()
            traced = trace_shapes(module, torch.zeros(x_shape, device=device))
    finally:
        for m, training in modes.items():
            m.train(training)
    shapes: dict[str, Shape] = {}
    for name, _, _, out in traced["calls"]:
        shapes.setdefault(name, tuple(out))
    return shapes, tuple(traced["output"].shape)


def _lines(children: list[tuple[str, nn.Module]], shapes: dict[str, Shape]) -> list:
    """(label, shape) per child, with element-wise layers folded into the one before and
    runs of equal (label, shape) pairs counted: ``2 × conv 3×3, 128``."""
    lines: list[list] = []  # [label, shape, count]
    for name, child in children:
        if isinstance(child, _FOLDED) and lines:
            lines[-1][0] += f" · {describe(child)}"
            lines[-1][1] = shapes[name]
        else:
            lines.append([describe(child), shapes[name], 1])
    grouped: list[list] = []
    for label, shape, count in lines:
        if grouped and grouped[-1][:2] == [label, shape]:
            grouped[-1][2] += count
        else:
            grouped.append([label, shape, count])
    return [(f"{n} × {label}" if n > 1 else label, shape) for label, shape, n in grouped]


def trace_network(model: nn.Module, x_shape: Shape, title: str | None = None) -> NetworkTrace:
    """The stages of ``model`` (its ``net`` if it has one) with their output shapes.

    A stage is a direct child of the network. A stage that is itself an ``nn.Sequential``
    gets one line per inner layer; ReLU, sigmoid and dropout are folded into the line of
    the layer before them.

    Args:
        model: the network; lazy layers take their shapes from the sample input.
        x_shape: shape of the sample input, batch dimension included.
        title: shown above the diagram (default: the model's class name).
    """
    net = model.net if isinstance(getattr(model, "net", None), nn.Module) else model
    shapes, _ = _shapes(net, x_shape)
    stages = [Stage("", [("input", tuple(x_shape))])]
    children = list(net.named_children())
    for name, child in children:
        if isinstance(child, _FOLDED) and len(stages) > 1:
            label, _ = stages[-1].lines[-1]
            stages[-1].lines[-1] = (f"{label} · {describe(child)}", shapes[name])
        elif isinstance(child, nn.Sequential):
            inner = [(f"{name}.{n}", m) for n, m in child.named_children()]
            stages.append(Stage(name, _lines(inner, shapes), "block"))
        else:
            stages.append(Stage(name, [(describe(child), shapes[name])], _kind(child)))
    return NetworkTrace(title or type(model).__name__, stages)


def trace_block(
    block: nn.Module,
    x_shape: Shape,
    branches: Sequence[Sequence[str]],
    merge: str,
    title: str | None = None,
) -> BlockTrace:
    """A multi-branch block: the layers of each branch with their output shapes.

    Args:
        block: the block, e.g. an ``Inception`` or a ``Residual``.
        x_shape: shape of the sample input, batch dimension included.
        branches: per branch, the names of its layers in order (attributes of ``block``);
            an empty list is the identity shortcut. A name may carry a note for what the
            block's ``forward`` does without a module: ``"bn1 · ReLU"``.
        merge: how the branches are combined, e.g. ``"concatenate"`` or ``"add, ReLU"``.
        title: shown above the diagram (default: the block's class name).

    Raises:
        ValueError: for a layer name that the block does not have or that did not run.
    """
    shapes, output = _shapes(block, x_shape)
    modules = dict(block.named_modules())
    drawn = []
    for entries in branches:
        stages = []
        for entry in entries:
            name, *notes = entry.split(" · ")
            if name not in shapes or modules.get(name) is None:
                raise ValueError(f"{type(block).__name__} ran no layer named {name!r}")
            label = " · ".join([describe(modules[name]), *notes])
            stages.append(Stage(name, [(label, shapes[name])], _kind(modules[name])))
        drawn.append(stages)
    return BlockTrace(
        title or type(block).__name__,
        Stage("", [("input", tuple(x_shape))]),
        drawn,
        Stage("", [(merge, output)]),
    )


def _shape_text(shape: Shape) -> str:
    return "×".join(map(str, shape[1:]))  # without the batch axis


def _box_width(stages: list[Stage]) -> float:
    longest = max(len(label) + len(_shape_text(shape)) for s in stages for label, shape in s.lines)
    return 0.22 * longest + 2.0


def _box(ax: Axes, stage: Stage, centre: float, top: float, width: float) -> float:
    """Draw ``stage`` as a box under ``top``; return its bottom."""
    height = LINE * len(stage.lines) + 0.3
    left = centre - width / 2
    colour, style = _COLOURS[stage.kind], "round,pad=0.02,rounding_size=0.12"
    box = FancyBboxPatch((left, top), width, height, boxstyle=style, facecolor=colour,
                         edgecolor="0.3", lw=0.8)  # fmt: skip
    ax.add_patch(box)
    for k, (label, shape) in enumerate(stage.lines):
        y = top + 0.15 + LINE * (k + 0.5)
        ax.text(left + 0.25, y, label, ha="left", va="center", fontsize=8)
        ax.text(left + width - 0.25, y, _shape_text(shape), ha="right", va="center",
                fontsize=8, color="0.25")  # fmt: skip
    return top + height


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8, lw=0.8,
                                 color="0.3", shrinkA=0, shrinkB=0))  # fmt: skip


def _draw_network(ax: Axes, trace: NetworkTrace) -> tuple[float, float]:
    width = _box_width(trace.stages)
    top, centre = 0.0, width / 2
    for k, stage in enumerate(trace.stages):
        if k:
            _arrow(ax, (centre, top), (centre, top + 0.45))
            top += 0.45
        top = _box(ax, stage, centre, top, width)
    return width, top


def _line(ax: Axes, xs: tuple[float, float], ys: tuple[float, float]) -> None:
    ax.plot(xs, ys, color="0.3", lw=0.8, solid_capstyle="butt")


def _draw_block(ax: Axes, trace: BlockTrace) -> tuple[float, float]:
    """Input on top, one column per branch, the merge below; lines are routed at right
    angles through a bus above and below the branches."""
    every = [trace.input, trace.merge] + [s for branch in trace.branches for s in branch]
    width = _box_width(every)
    total = len(trace.branches) * (width + 0.4) - 0.4
    centres = [width / 2 + k * (width + 0.4) for k in range(len(trace.branches))]
    middle = total / 2
    bus = _box(ax, trace.input, middle, 0.0, width) + 0.3
    _line(ax, (middle, middle), (bus - 0.3, bus))
    _line(ax, (centres[0], centres[-1]), (bus, bus))
    bottoms = []
    for centre, branch in zip(centres, trace.branches, strict=True):
        top = bus + 0.35
        _arrow(ax, (centre, bus), (centre, top))
        for k, stage in enumerate(branch):
            if k:
                _arrow(ax, (centre, top), (centre, top + 0.35))
                top += 0.35
            top = _box(ax, stage, centre, top, width)
        if not branch:
            ax.text(centre + 0.15, top + 0.4, "identity", ha="left", va="center", fontsize=8,
                    style="italic")  # fmt: skip
            top += 0.8
        bottoms.append((centre, top))
    bus = max(bottom for _, bottom in bottoms) + 0.3
    for centre, bottom in bottoms:
        _line(ax, (centre, centre), (bottom, bus))
    _line(ax, (centres[0], centres[-1]), (bus, bus))
    _arrow(ax, (middle, bus), (middle, bus + 0.35))
    return total, _box(ax, trace.merge, middle, bus + 0.35, width)


def draw(*traces: NetworkTrace | BlockTrace) -> Diagram:
    """One diagram with the traces side by side, each under its title.

    Returns:
        The diagram; ``data["traces"]`` holds the traces drawn.
    """
    probe = Figure()
    sizes = []
    for trace in traces:
        painter = _draw_network if isinstance(trace, NetworkTrace) else _draw_block
        sizes.append(painter(probe.add_subplot(), trace))
    width = sum(w for w, _ in sizes) + 1.5 * (len(traces) - 1)
    height = max(h for _, h in sizes) + 1.0
    figure = Figure(figsize=(width * UNIT_INCHES, height * UNIT_INCHES), layout="constrained")
    axes = figure.subplots(1, len(traces), squeeze=False,
                           gridspec_kw={"width_ratios": [w for w, _ in sizes]})[0]  # fmt: skip
    for ax, trace, (w, _) in zip(axes, traces, sizes, strict=True):
        painter = _draw_network if isinstance(trace, NetworkTrace) else _draw_block
        painter(ax, trace)
        ax.set_title(trace.title, fontsize=10)
        ax.set_xlim(-0.1, w + 0.1)
        ax.set_ylim(height - 0.6, -0.1)
        ax.set_aspect("equal")
        ax.axis("off")
    titles = ", ".join(trace.title for trace in traces)
    return Diagram(figure, {"traces": list(traces)}, f"architecture diagram: {titles}")

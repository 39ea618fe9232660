"""What a network costs, layer by layer: parameters and forward FLOPs (chapter 8).

Counted, not derived by hand: FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``
and parameters from the modules themselves. Build the network on the ``meta`` device
(``with torch.device("meta"): ...``) and nothing is computed or allocated.
"""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["layer_costs", "print_costs"]

CostRow = tuple[str, tuple[int, ...], int, int]


def layer_costs(
    layers: nn.Sequential | list[tuple[str | None, nn.Module]], x_shape: tuple[int, ...]
) -> list[CostRow]:
    """Feed an input of ``x_shape`` through ``layers`` in turn and count each one's cost.

    Args:
        layers: an ``nn.Sequential`` (rows are named ``"<index> <class>"``) or a list of
            ``(name, module)`` pairs applied one after the other.
        x_shape: input shape, batch dimension included.

    Returns:
        ``(name, output shape, parameters, forward FLOPs)`` per layer.
    """
    if isinstance(layers, nn.Module):  # named after the forward pass: LazyConv2d is Conv2d by then
        layers = [(None, layer) for layer in layers]
    # On the layers' device: "meta" costs nothing; real modules get a real (zero) input.
    device = next((p.device for _, m in layers for p in m.parameters()), torch.device("meta"))
    x = torch.zeros(x_shape, device=device)
    rows = []
    for name, module in layers:
        with FlopCounterMode(display=False) as counter:
            x = module(x)
        params = sum(p.numel() for p in module.parameters())
        name = name or f"{len(rows):>2} {type(module).__name__}"
        rows.append((name, tuple(x.shape), params, counter.get_total_flops()))
    return rows


def print_costs(rows: list[CostRow]) -> None:
    """Print ``layer_costs``'s rows that have parameters or FLOPs as a table, with each
    row's share of the totals, then the totals (chapter 8)."""
    total_params = sum(row[2] for row in rows)
    total_flops = sum(row[3] for row in rows)
    print(f"{'layer':<16}{'output shape':>19}{'parameters':>13}{'MFLOPs':>9}{'% params':>9}"
          f"{'% FLOPs':>8}")  # fmt: skip
    for name, shape, params, flops in rows:
        if params or flops:
            shares = f"{100 * params / total_params:>9.1f}{100 * flops / total_flops:>8.1f}"
            print(f"{name:<16}{str(shape):>19}{params:>13,}{flops / 1e6:>9.1f}{shares}")
    print(f"{'total':<35}{total_params:>13,}{total_flops / 1e6:>9.1f}")

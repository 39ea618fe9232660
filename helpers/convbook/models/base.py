"""What every model in the book shares: d2l's ``Classifier`` behaviour, ``init_cnn`` and
``layer_summary`` (sections 4.3, 6.4 and 7.6 of d2l)."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parameter import is_lazy

__all__ = ["Classifier", "init_cnn", "layer_summary", "narrow"]


def narrow(channels: int, width: float) -> int:
    """``channels`` scaled by ``width``, at least 1: how a model is made narrower.

    The cpu budget trains some networks at a fraction of d2l's width, the way d2l itself
    trains VGG with a quarter of its channels on Fashion-MNIST (section 8.2).

    Raises:
        ValueError: if ``width`` is not a number in (0, 1].
    """
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 1:
        raise ValueError(f"width must be a number in (0, 1], got {width!r}")
    return max(1, round(channels * width))


def _xavier(module: nn.Module) -> None:
    nn.init.xavier_uniform_(module.weight)
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def _init_after_materialising(module: nn.Module, _inputs: tuple) -> None:
    _xavier(module)
    module._convbook_init_hook.remove()
    del module._convbook_init_hook


def init_cnn(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for linear and convolutional layers (section 7.6).

    Use it as ``net.apply(init_cnn)``. d2l checks ``type(m) == nn.Linear``, which is False
    for a ``LazyLinear`` that has not seen data yet, so a lazy model silently keeps
    PyTorch's default init. Here a lazy layer gets a forward pre-hook that initializes
    it right after its shape is inferred, on the first forward pass.
    """
    if not isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return
    if not is_lazy(module.weight):
        _xavier(module)
    elif not hasattr(module, "_convbook_init_hook"):
        # Lazy layers infer their shape in a pre-hook registered at construction,
        # so this later hook runs after the weights exist.
        module._convbook_init_hook = module.register_forward_pre_hook(_init_after_materialising)


def layer_summary(net: nn.Module, x_shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """Print each top-level layer's output shape for an input of ``x_shape`` (section 7.6).

    ``net`` is an ``nn.Sequential`` or a model whose ``net`` attribute is one.

    Returns:
        ``(layer class name, output shape)`` per layer, in order.

    Raises:
        ValueError: if ``net`` has no sequence of layers to walk through.
    """
    layers = getattr(net, "net", net)
    if not isinstance(layers, nn.Sequential):
        raise ValueError(f"layer_summary needs an nn.Sequential (or a .net one), got {type(net)}")
    x = torch.randn(*x_shape, device=_device_of(layers))
    rows = []
    with torch.no_grad():
        for layer in layers:
            x = layer(x)
            rows.append((type(layer).__name__, tuple(x.shape)))
            print(f"{type(layer).__name__} output shape:\t{tuple(x.shape)}")
    return rows


def _device_of(module: nn.Module) -> torch.device:
    for p in module.parameters():
        if not is_lazy(p):
            return p.device
    return torch.device("cpu")


class Classifier(nn.Module):
    """Base class with d2l's ``Classifier`` interface, without d2l's plotting machinery.

    Subclasses set ``self.net`` (and usually ``self.lr``); ``convbook.Trainer`` and the
    book's code call ``forward``, ``loss``, ``accuracy`` and ``configure_optimizers``.
    """

    lr: float = 0.1

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def loss(self, y_hat: Tensor, y: Tensor, averaged: bool = True) -> Tensor:
        """Cross-entropy of logits ``y_hat`` (N, C) against integer labels ``y`` (N,)."""
        y_hat = y_hat.reshape(-1, y_hat.shape[-1])
        return F.cross_entropy(y_hat, y.reshape(-1), reduction="mean" if averaged else "none")

    def accuracy(self, y_hat: Tensor, y: Tensor, averaged: bool = True) -> Tensor:
        """Fraction (or per-example indicator) of correct argmax predictions."""
        correct = (y_hat.reshape(-1, y_hat.shape[-1]).argmax(dim=1) == y.reshape(-1)).float()
        return correct.mean() if averaged else correct

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Minibatch SGD with the model's learning rate, as in d2l."""
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def layer_summary(self, x_shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
        """See :func:`layer_summary`."""
        return layer_summary(self, x_shape)

    def apply_init(self, inputs: list[Tensor], init=None) -> None:
        """Run ``inputs`` through once (materialising lazy layers), then apply ``init``."""
        with torch.no_grad():
            self.forward(*inputs)
        if init is not None:
            self.net.apply(init)

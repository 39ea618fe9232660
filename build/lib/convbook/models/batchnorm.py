"""Batch normalization from scratch and LeNet with batch normalization (section 8.5).

Two d2l defects are fixed here. d2l keeps the running statistics as plain tensor
attributes, so ``state_dict`` forgets them and ``.to(device)`` leaves them behind;
here they are registered buffers. d2l also picks the statistics with
``torch.is_grad_enabled()``, so evaluating under autograd (or training under
``no_grad``) uses the wrong ones; here ``self.training`` decides, as in ``nn.BatchNorm2d``.
"""

import torch
from torch import Tensor, nn

from convbook.models.base import Classifier, init_cnn

__all__ = ["BNLeNet", "BNLeNetScratch", "BatchNorm", "batch_norm"]


def batch_norm(
    X: Tensor,
    gamma: Tensor,
    beta: Tensor,
    moving_mean: Tensor,
    moving_var: Tensor,
    eps: float,
    momentum: float,
    training: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Normalize ``X`` per feature (or per channel), then scale by ``gamma`` and shift by ``beta``.

    In training the minibatch statistics normalize ``X`` and the running ones move
    towards them, ``new = (1 - momentum) * old + momentum * batch``, with the unbiased
    batch variance as in PyTorch. In evaluation the running statistics normalize ``X``
    and stay as they are.

    Args:
        X: input of shape (N, C) (after a linear layer) or (N, C, H, W) (after a convolution).
        gamma: scale, shape (1, C) or (1, C, 1, 1).
        beta: shift, same shape as ``gamma``.
        moving_mean: running mean, same shape as ``gamma``.
        moving_var: running variance, same shape as ``gamma``.
        eps: added to the variance before the square root.
        momentum: weight of the current minibatch in the running statistics.
        training: use minibatch statistics (and update the running ones) if True.

    Returns:
        ``(Y, new_moving_mean, new_moving_var)``; the running statistics carry no gradient.

    Raises:
        ValueError: if ``X`` is neither 2-D nor 4-D.
    """
    if X.dim() not in (2, 4):
        raise ValueError(f"expected X of shape (N, C) or (N, C, H, W), got {tuple(X.shape)}")
    if not training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        return gamma * X_hat + beta, moving_mean, moving_var
    dims = (0,) if X.dim() == 2 else (0, 2, 3)  # statistics over everything but channels
    mean = X.mean(dim=dims, keepdim=True)
    var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)  # biased: used to normalize
    X_hat = (X - mean) / torch.sqrt(var + eps)
    with torch.no_grad():
        count = X.numel() // X.shape[1]
        unbiased_var = var * count / max(count - 1, 1)  # what nn.BatchNorm2d keeps
        new_mean = (1.0 - momentum) * moving_mean + momentum * mean.reshape(moving_mean.shape)
        new_var = (1.0 - momentum) * moving_var + momentum * unbiased_var.reshape(moving_var.shape)
    return gamma * X_hat + beta, new_mean, new_var


class BatchNorm(nn.Module):
    """Batch normalization layer built on :func:`batch_norm` (section 8.5).

    ``gamma`` and ``beta`` are parameters; ``moving_mean`` and ``moving_var`` are
    buffers, so they are saved in ``state_dict`` and follow the module in ``.to()``.

    Args:
        num_features: outputs of a linear layer or channels of a convolution.
        num_dims: 2 for (N, C) inputs, 4 for (N, C, H, W) inputs.
        eps: added to the variance before the square root.
        momentum: weight of each minibatch in the running statistics.

    Raises:
        ValueError: if ``num_dims`` is not 2 or 4.
    """

    def __init__(
        self, num_features: int, num_dims: int, eps: float = 1e-5, momentum: float = 0.1
    ) -> None:
        super().__init__()
        if num_dims not in (2, 4):
            raise ValueError(f"num_dims must be 2 or 4, got {num_dims}")
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.num_dims = num_dims
        self.eps = eps
        self.momentum = momentum
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X: Tensor) -> Tensor:
        if X.dim() != self.num_dims:
            raise ValueError(f"expected a {self.num_dims}-D input, got {tuple(X.shape)}")
        Y, new_mean, new_var = batch_norm(
            X,
            self.gamma,
            self.beta,
            self.moving_mean,
            self.moving_var,
            eps=self.eps,
            momentum=self.momentum,
            training=self.training,
        )
        if self.training:
            self.moving_mean.copy_(new_mean)  # in place: the buffer stays registered
            self.moving_var.copy_(new_var)
        return Y

    def extra_repr(self) -> str:
        return f"{self.gamma.shape[1]}, num_dims={self.num_dims}, eps={self.eps}"


class BNLeNetScratch(Classifier):
    """LeNet with the scratch :class:`BatchNorm` after every convolution and hidden linear layer.

    Args:
        lr: learning rate of the SGD optimizer.
        num_classes: number of outputs.

    Attributes:
        min_image_size: smallest input side the two unpadded 5x5 convolutions can take.
    """

    min_image_size: int = 16

    def __init__(self, lr: float = 0.1, num_classes: int = 10) -> None:
        super().__init__()
        self.lr = lr
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5),  # N x 6 x 24 x 24
            BatchNorm(6, num_dims=4),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),  # N x 6 x 12 x 12
            nn.LazyConv2d(16, kernel_size=5),  # N x 16 x 8 x 8
            BatchNorm(16, num_dims=4),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),  # N x 16 x 4 x 4
            nn.Flatten(),
            nn.LazyLinear(120),
            BatchNorm(120, num_dims=2),
            nn.Sigmoid(),
            nn.LazyLinear(84),
            BatchNorm(84, num_dims=2),
            nn.Sigmoid(),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)


class BNLeNet(Classifier):
    """The same network as :class:`BNLeNetScratch` with PyTorch's lazy batch-norm layers.

    Args:
        lr: learning rate of the SGD optimizer.
        num_classes: number of outputs.

    Attributes:
        min_image_size: smallest input side the two unpadded 5x5 convolutions can take.
    """

    min_image_size: int = 16

    def __init__(self, lr: float = 0.1, num_classes: int = 10) -> None:
        super().__init__()
        self.lr = lr
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5),
            nn.LazyBatchNorm2d(),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5),
            nn.LazyBatchNorm2d(),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.LazyLinear(120),
            nn.LazyBatchNorm1d(),
            nn.Sigmoid(),
            nn.LazyLinear(84),
            nn.LazyBatchNorm1d(),
            nn.Sigmoid(),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)

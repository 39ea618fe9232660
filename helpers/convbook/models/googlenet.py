"""GoogLeNet and its Inception block, as in d2l 8.4 (Szegedy et al., 2015)."""

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convbook.models.base import Classifier, init_cnn, narrow

__all__ = ["GoogLeNet", "Inception"]


class Inception(nn.Module):
    """Four parallel branches whose outputs are stacked along channels (section 8.4).

    Every branch keeps the height and width, so the block outputs
    ``c1 + c2[1] + c3[1] + c4`` channels at the input's resolution.

    Args:
        c1: output channels of branch 1 (a 1x1 convolution).
        c2: (1x1 reduction, 3x3 output) channels of branch 2.
        c3: (1x1 reduction, 5x5 output) channels of branch 3.
        c4: output channels of branch 4 (3x3 max-pooling, then a 1x1 convolution).
    """

    def __init__(self, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int) -> None:
        super().__init__()
        self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
        self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
        self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
        self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
        self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = F.relu(self.b1_1(x))  # N x c1 x H x W
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))  # N x c2[1] x H x W
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))  # N x c3[1] x H x W
        b4 = F.relu(self.b4_2(self.b4_1(x)))  # N x c4 x H x W
        return torch.cat((b1, b2, b3, b4), dim=1)


class GoogLeNet(Classifier):
    """GoogLeNet with d2l's five stages ``b1`` ... ``b5`` and a linear head (section 8.4).

    d2l trains it on 96x96 Fashion-MNIST; the layer shapes there are
    (N, 64, 24, 24), (N, 192, 12, 12), (N, 480, 6, 6), (N, 832, 3, 3), (N, 1024), (N, 10).

    Args:
        lr: learning rate of the SGD optimizer.
        num_classes: number of outputs.
        width: fraction of d2l's channels to keep in every convolution (1: d2l's GoogLeNet).

    Attributes:
        min_image_size: smallest input side for which the last stage still sees 1x1 maps.
    """

    min_image_size: int = 32

    def __init__(self, lr: float = 0.1, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        self.lr = lr
        self.num_classes = num_classes
        self.width = width
        self.net = nn.Sequential(
            self.b1(width),
            self.b2(width),
            self.b3(width),
            self.b4(width),
            self.b5(width),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)

    @staticmethod
    def b1(width: float = 1.0) -> nn.Sequential:
        """Stem: a 7x7 convolution and max-pooling, each halving the side (96 -> 24)."""
        w = partial(narrow, width=width)
        return nn.Sequential(
            nn.LazyConv2d(w(64), kernel_size=7, stride=2, padding=3),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )

    @staticmethod
    def b2(width: float = 1.0) -> nn.Sequential:
        """A 1x1 then a 3x3 convolution (192 channels), then max-pooling (24 -> 12)."""
        w = partial(narrow, width=width)
        return nn.Sequential(
            nn.LazyConv2d(w(64), kernel_size=1),
            nn.ReLU(),
            nn.LazyConv2d(w(192), kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )

    @staticmethod
    def b3(width: float = 1.0) -> nn.Sequential:
        """Two Inception blocks (256 then 480 channels), then max-pooling (12 -> 6)."""
        w = partial(narrow, width=width)
        return nn.Sequential(
            Inception(w(64), (w(96), w(128)), (w(16), w(32)), w(32)),
            Inception(w(128), (w(128), w(192)), (w(32), w(96)), w(64)),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )

    @staticmethod
    def b4(width: float = 1.0) -> nn.Sequential:
        """Five Inception blocks (512, 512, 512, 528, 832 channels), then max-pooling (6 -> 3)."""
        w = partial(narrow, width=width)
        return nn.Sequential(
            Inception(w(192), (w(96), w(208)), (w(16), w(48)), w(64)),
            Inception(w(160), (w(112), w(224)), (w(24), w(64)), w(64)),
            Inception(w(128), (w(128), w(256)), (w(24), w(64)), w(64)),
            Inception(w(112), (w(144), w(288)), (w(32), w(64)), w(64)),
            Inception(w(256), (w(160), w(320)), (w(32), w(128)), w(128)),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )

    @staticmethod
    def b5(width: float = 1.0) -> nn.Sequential:
        """Two Inception blocks (832, 1024 channels) and global average pooling."""
        w = partial(narrow, width=width)
        return nn.Sequential(
            Inception(w(256), (w(160), w(320)), (w(32), w(128)), w(128)),
            Inception(w(384), (w(192), w(384)), (w(48), w(128)), w(128)),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
        )

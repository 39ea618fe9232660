"""ResNet and ResNeXt blocks, as in d2l 8.6 (He et al., 2016; Xie et al., 2017).

d2l's ``ResNeXtBlock`` passes ``bot_channels // groups`` to ``nn.Conv2d(groups=...)``,
that is the channels per group, so asking for 16 groups over 32 channels gives 2 groups.
Here ``groups`` is the number of groups, as its name says.
"""

import torch.nn.functional as F
from torch import Tensor, nn

from convbook.models.base import Classifier, init_cnn

__all__ = ["RESNET18_ARCH", "ResNet", "ResNet18", "ResNeXtBlock", "Residual"]

STEM_CHANNELS = 64  # output channels of ResNet.b1
# (number of residual blocks, output channels) for each of ResNet-18's four stages
RESNET18_ARCH = ((2, 64), (2, 128), (2, 256), (2, 512))


class Residual(nn.Module):
    """Two 3x3 convolutions with batch norm, added to a shortcut of the input (section 8.6).

    Args:
        num_channels: output channels of both convolutions.
        use_1x1conv: put a 1x1 convolution on the shortcut; needed whenever the
            output shape differs from the input's (other channels or ``strides > 1``).
        strides: stride of the first 3x3 convolution (and of the 1x1 shortcut).
    """

    def __init__(self, num_channels: int, use_1x1conv: bool = False, strides: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        self.conv3 = (
            nn.LazyConv2d(num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        )
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))  # N x num_channels x H/strides x W/strides
        y = self.bn2(self.conv2(y))
        shortcut = x if self.conv3 is None else self.conv3(x)
        return F.relu(y + shortcut)


class ResNeXtBlock(nn.Module):
    """Bottleneck block with a grouped 3x3 convolution (ResNeXt, section 8.6).

    1x1 convolution down to ``bot_channels = round(num_channels * bot_mul)``, a 3x3
    convolution split into ``groups`` groups, and a 1x1 convolution back to
    ``num_channels``; each followed by batch norm.

    Args:
        num_channels: output channels of the block.
        groups: number of groups of the 3x3 convolution; must divide ``bot_channels``.
        bot_mul: bottleneck width as a fraction of ``num_channels``.
        use_1x1conv: put a 1x1 convolution (and batch norm) on the shortcut.
        strides: stride of the 3x3 convolution (and of the 1x1 shortcut).

    Raises:
        ValueError: if ``groups`` does not divide the bottleneck channels.
    """

    def __init__(
        self,
        num_channels: int,
        groups: int,
        bot_mul: float,
        use_1x1conv: bool = False,
        strides: int = 1,
    ) -> None:
        super().__init__()
        bot_channels = int(round(num_channels * bot_mul))
        if groups < 1 or bot_channels % groups != 0:
            raise ValueError(f"groups={groups} does not divide bot_channels={bot_channels}")
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1)
        self.conv2 = nn.LazyConv2d(
            bot_channels, kernel_size=3, stride=strides, padding=1, groups=groups
        )
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()
        self.bn3 = nn.LazyBatchNorm2d()
        if use_1x1conv:
            self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
            self.bn4 = nn.LazyBatchNorm2d()
        else:
            self.conv4 = None
            self.bn4 = None

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))  # N x bot_channels x H x W
        y = F.relu(self.bn2(self.conv2(y)))  # N x bot_channels x H/strides x W/strides
        y = self.bn3(self.conv3(y))  # N x num_channels x H/strides x W/strides
        shortcut = x if self.conv4 is None else self.bn4(self.conv4(x))
        return F.relu(y + shortcut)


class ResNet(Classifier):
    """ResNet: a GoogLeNet-like stem with batch norm, residual stages, a linear head (8.6).

    Args:
        arch: one ``(num_residuals, num_channels)`` pair per stage. Every stage but
            the first halves the height and width and uses a 1x1 shortcut in its first block.
        lr: learning rate of the SGD optimizer.
        num_classes: number of outputs.

    Attributes:
        min_image_size: smallest input side for which the last stage still sees 1x1 maps
            (the stem divides the side by 4, every stage after the first by 2).
    """

    def __init__(
        self, arch: tuple[tuple[int, int], ...], lr: float = 0.1, num_classes: int = 10
    ) -> None:
        super().__init__()
        self.arch = arch
        self.lr = lr
        self.num_classes = num_classes
        self.min_image_size = 4 * 2 ** max(len(arch) - 1, 0)
        self.net = nn.Sequential(self.b1())
        for i, (num_residuals, num_channels) in enumerate(arch):
            stage = self.block(num_residuals, num_channels, first_block=(i == 0))
            self.net.add_module(f"b{i + 2}", stage)
        self.net.add_module(
            "last",
            nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes)),
        )
        self.net.apply(init_cnn)

    @staticmethod
    def b1() -> nn.Sequential:
        """Stem: 7x7 convolution (stride 2), batch norm, ReLU, max-pooling: 96 -> 24."""
        return nn.Sequential(
            nn.LazyConv2d(STEM_CHANNELS, kernel_size=7, stride=2, padding=3),
            nn.LazyBatchNorm2d(),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )

    @staticmethod
    def block(num_residuals: int, num_channels: int, first_block: bool = False) -> nn.Sequential:
        """A stage of ``num_residuals`` residual blocks with ``num_channels`` outputs.

        The stem has already downsampled, so the first stage keeps the resolution;
        every later stage starts with a stride-2 block whose shortcut needs a 1x1 convolution.
        Unlike d2l, a first stage whose width differs from the stem's 64 channels also
        gets a 1x1 shortcut (d2l's fails with a shape error there).
        """
        blocks = []
        for i in range(num_residuals):
            if i == 0 and not first_block:
                blocks.append(Residual(num_channels, use_1x1conv=True, strides=2))
            elif i == 0 and num_channels != STEM_CHANNELS:
                blocks.append(Residual(num_channels, use_1x1conv=True))
            else:
                blocks.append(Residual(num_channels))
        return nn.Sequential(*blocks)


class ResNet18(ResNet):
    """ResNet-18: four stages of two residual blocks, 64 to 512 channels (section 8.6).

    Args:
        lr: learning rate of the SGD optimizer.
        num_classes: number of outputs.
    """

    def __init__(self, lr: float = 0.01, num_classes: int = 10) -> None:
        super().__init__(RESNET18_ARCH, lr, num_classes)

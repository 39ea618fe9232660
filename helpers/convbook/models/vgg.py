"""VGG as in d2l 8.2: blocks of 3x3 convolutions followed by a 2x2 max-pool."""

from collections.abc import Sequence

from torch import nn

from convbook.models.base import Classifier, init_cnn, narrow

__all__ = [
    "VGG",
    "VGG11_ARCH",
    "VGG11_NARROW_ARCH",
    "VGG16_ARCH",
    "VGG19_ARCH",
    "vgg_block",
]

# (number of 3x3 convolutions, output channels) per block, from Table 1 of
# Simonyan and Zisserman (2014): configurations A, D and E.
VGG11_ARCH: tuple[tuple[int, int], ...] = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
VGG16_ARCH: tuple[tuple[int, int], ...] = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
VGG19_ARCH: tuple[tuple[int, int], ...] = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
# VGG-11 with a quarter of the channels: the network d2l trains on Fashion-MNIST.
VGG11_NARROW_ARCH: tuple[tuple[int, int], ...] = ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128))


def vgg_block(num_convs: int, out_channels: int) -> nn.Sequential:
    """``num_convs`` padded 3x3 convolutions with ReLU, then a 2x2 max-pool (section 8.2).

    The convolutions keep height and width; the pooling halves them.

    Args:
        num_convs: number of convolution + ReLU pairs, at least 1.
        out_channels: channels of every convolution in the block.

    Returns:
        The block as an ``nn.Sequential`` of ``2 * num_convs + 1`` layers.

    Raises:
        ValueError: if ``num_convs`` or ``out_channels`` is below 1.
    """
    if num_convs < 1 or out_channels < 1:
        raise ValueError(
            f"need num_convs >= 1 and out_channels >= 1, got {num_convs} and {out_channels}"
        )
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers.append(nn.LazyConv2d(out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(Classifier):
    """VGG network (Simonyan and Zisserman, 2014) built from a table of blocks (section 8.2).

    The convolutional part is one ``vgg_block`` per ``arch`` entry; the dense part is
    AlexNet's (4096, 4096, ``num_classes``, with dropout). Lazy layers get Xavier init on
    the first forward pass.

    Args:
        arch: ``(num_convs, out_channels)`` per block, e.g. ``VGG11_ARCH``.
        lr: learning rate for ``configure_optimizers`` (d2l trains with 0.01).
        num_classes: number of output logits.
        width: fraction of ``arch``'s channels and of the 4096 dense units to keep.

    Attributes:
        min_image_size: smallest square input side the blocks' pooling can take.

    Raises:
        ValueError: if ``arch`` is empty or one of its entries is not two positive ints.
    """

    def __init__(
        self,
        arch: Sequence[tuple[int, int]] = VGG11_ARCH,
        lr: float = 0.1,
        num_classes: int = 10,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        arch = tuple(tuple(block) for block in arch)
        if not arch or any(len(block) != 2 for block in arch):
            raise ValueError(f"arch must be a non-empty list of (num_convs, channels), got {arch}")
        self.arch = arch
        self.lr = lr
        self.num_classes = num_classes
        self.width = width
        self.min_image_size = 2 ** len(arch)  # every block halves the side
        blocks = [vgg_block(num_convs, narrow(channels, width)) for num_convs, channels in arch]
        self.net = nn.Sequential(
            *blocks,  # N x C_last x H/32 x W/32 for five blocks
            nn.Flatten(),
            nn.LazyLinear(narrow(4096, width)),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.LazyLinear(narrow(4096, width)),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)

"""Network in Network as in d2l 8.3: 1x1 convolutions and global average pooling."""

from functools import partial

from torch import nn

from convbook.models.base import Classifier, init_cnn, narrow

__all__ = ["NiN", "nin_block"]


def nin_block(out_channels: int, kernel_size: int, strides: int, padding: int) -> nn.Sequential:
    """One convolution followed by two 1x1 convolutions, each with ReLU (section 8.3).

    The two 1x1 convolutions act as a two-layer MLP applied to the channel vector of
    every pixel on its own.

    Args:
        out_channels: channels of all three convolutions.
        kernel_size: side of the first convolution's kernel.
        strides: stride of the first convolution.
        padding: zero padding of the first convolution.

    Returns:
        The block as an ``nn.Sequential`` of six layers.

    Raises:
        ValueError: if a size is below 1 or ``padding`` is negative.
    """
    if min(out_channels, kernel_size, strides) < 1 or padding < 0:
        raise ValueError(
            f"need out_channels, kernel_size, strides >= 1 and padding >= 0, got "
            f"{out_channels}, {kernel_size}, {strides}, {padding}"
        )
    return nn.Sequential(
        nn.LazyConv2d(out_channels, kernel_size, strides, padding),
        nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1),
        nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1),
        nn.ReLU(),
    )


class NiN(Classifier):
    """Network in Network (Lin et al., 2013) for single-channel 224x224 images (section 8.3).

    AlexNet's kernel sizes and strides, every convolution followed by two 1x1
    convolutions, and no dense layers: the last block has ``num_classes`` channels and a
    global average pool turns each channel into one logit. Lazy layers get Xavier init on
    the first forward pass.

    Args:
        lr: learning rate for ``configure_optimizers`` (d2l trains with 0.05).
        num_classes: number of output logits.
        width: fraction of d2l's channels to keep in the first three blocks (1: d2l's NiN).

    Attributes:
        min_image_size: smallest square input side the downsampling can take.
    """

    min_image_size: int = 67

    def __init__(self, lr: float = 0.1, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        self.lr = lr
        self.num_classes = num_classes
        self.width = width
        w = partial(narrow, width=width)
        # Shapes below are for a (N, 1, 224, 224) input.
        self.net = nn.Sequential(
            nin_block(w(96), kernel_size=11, strides=4, padding=0),  # N x 96 x 54 x 54
            nn.MaxPool2d(3, stride=2),  # N x 96 x 26 x 26
            nin_block(w(256), kernel_size=5, strides=1, padding=2),  # N x 256 x 26 x 26
            nn.MaxPool2d(3, stride=2),  # N x 256 x 12 x 12
            nin_block(w(384), kernel_size=3, strides=1, padding=1),  # N x 384 x 12 x 12
            nn.MaxPool2d(3, stride=2),  # N x 384 x 5 x 5
            nn.Dropout(0.5),
            nin_block(num_classes, kernel_size=3, strides=1, padding=1),  # N x 10 x 5 x 5
            nn.AdaptiveAvgPool2d((1, 1)),  # N x 10 x 1 x 1
            nn.Flatten(),  # N x 10
        )
        self.net.apply(init_cnn)

"""AlexNet as in d2l 8.1: five convolutions, three dense layers, ReLU, max-pooling, dropout."""

from functools import partial

from torch import nn

from convbook.models.base import Classifier, init_cnn, narrow

__all__ = ["AlexNet"]


class AlexNet(Classifier):
    """AlexNet (Krizhevsky et al., 2012) for single-channel 224x224 images (section 8.1).

    The layer sizes are d2l's: the paper's two GPU halves are merged into one stack, and
    the input has one channel (Fashion-MNIST) instead of three. Unlike d2l, the lazy
    layers do get Xavier init, on the first forward pass (see ``init_cnn``).

    Args:
        lr: learning rate for ``configure_optimizers`` (d2l trains with 0.01).
        num_classes: number of output logits.
        width: fraction of d2l's channels and dense units to keep (1: d2l's AlexNet).

    Attributes:
        min_image_size: smallest square input side the downsampling can take.
    """

    min_image_size: int = 65

    def __init__(self, lr: float = 0.1, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        self.lr = lr
        self.num_classes = num_classes
        self.width = width
        w = partial(narrow, width=width)
        # Shapes below are for a (N, 1, 224, 224) input.
        self.net = nn.Sequential(
            nn.LazyConv2d(w(96), kernel_size=11, stride=4, padding=1),  # N x 96 x 54 x 54
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # N x 96 x 26 x 26
            nn.LazyConv2d(w(256), kernel_size=5, padding=2),  # N x 256 x 26 x 26
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # N x 256 x 12 x 12
            nn.LazyConv2d(w(384), kernel_size=3, padding=1),  # N x 384 x 12 x 12
            nn.ReLU(),
            nn.LazyConv2d(w(384), kernel_size=3, padding=1),
            nn.ReLU(),
            nn.LazyConv2d(w(256), kernel_size=3, padding=1),  # N x 256 x 12 x 12
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # N x 256 x 5 x 5
            nn.Flatten(),  # N x 6400
            nn.LazyLinear(w(4096)),
            nn.ReLU(),
            nn.Dropout(p=0.5),
            nn.LazyLinear(w(4096)),
            nn.ReLU(),
            nn.Dropout(p=0.5),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)

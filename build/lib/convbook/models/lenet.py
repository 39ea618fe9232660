"""LeNet-5 as in d2l 7.6: sigmoid activations and average pooling."""

from torch import nn

from convbook.models.base import Classifier, init_cnn

__all__ = ["LeNet"]


class LeNet(Classifier):
    """LeNet-5 (LeCun et al., 1998) for 28x28 single-channel images (section 7.6)."""

    def __init__(self, lr: float = 0.1, num_classes: int = 10) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2),  # N x 6 x 28 x 28
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),  # N x 6 x 14 x 14
            nn.LazyConv2d(16, kernel_size=5),  # N x 16 x 10 x 10
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),  # N x 16 x 5 x 5
            nn.Flatten(),
            nn.LazyLinear(120),
            nn.Sigmoid(),
            nn.LazyLinear(84),
            nn.Sigmoid(),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)

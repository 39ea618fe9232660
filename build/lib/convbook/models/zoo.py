"""Every model of chapters 7 and 8 with d2l's training setting and the accuracy d2l reports."""

from collections.abc import Callable
from typing import NamedTuple

from convbook.models.alexnet import AlexNet
from convbook.models.base import Classifier
from convbook.models.batchnorm import BNLeNet
from convbook.models.googlenet import GoogLeNet
from convbook.models.lenet import LeNet
from convbook.models.nin import NiN
from convbook.models.resnet import ResNet18
from convbook.models.vgg import VGG, VGG11_NARROW_ARCH

__all__ = ["D2L_ZOO", "D2LSetting"]


class D2LSetting(NamedTuple):
    """How d2l 1.0 trains a model (batch 128, 10 epochs) and what it reaches on a GPU."""

    build: Callable[[], Classifier]  # the model with d2l's learning rate
    image_size: int  # d2l's resize of Fashion-MNIST
    d2l_accuracy: float  # d2l's reported validation accuracy after 10 epochs (full data set)


D2L_ZOO: dict[str, D2LSetting] = {
    "LeNet": D2LSetting(lambda: LeNet(lr=0.1), 28, 0.73),
    "AlexNet": D2LSetting(lambda: AlexNet(lr=0.01), 224, 0.83),
    "VGG": D2LSetting(lambda: VGG(VGG11_NARROW_ARCH, lr=0.01), 224, 0.90),
    "NiN": D2LSetting(lambda: NiN(lr=0.05), 224, 0.87),
    "GoogLeNet": D2LSetting(lambda: GoogLeNet(lr=0.01), 96, 0.80),
    "BN-LeNet": D2LSetting(lambda: BNLeNet(lr=0.1), 28, 0.88),
    "ResNet-18": D2LSetting(lambda: ResNet18(lr=0.01), 96, 0.90),
}

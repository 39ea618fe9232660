"""The model zoo of chapters 7 and 8, one module per family."""

from convbook.models.alexnet import AlexNet
from convbook.models.base import Classifier, init_cnn, layer_summary
from convbook.models.batchnorm import BatchNorm, BNLeNet, BNLeNetScratch, batch_norm
from convbook.models.googlenet import GoogLeNet, Inception
from convbook.models.lenet import LeNet
from convbook.models.nin import NiN, nin_block
from convbook.models.resnet import RESNET18_ARCH, Residual, ResNet, ResNet18, ResNeXtBlock
from convbook.models.vgg import (
    VGG,
    VGG11_ARCH,
    VGG11_NARROW_ARCH,
    VGG16_ARCH,
    VGG19_ARCH,
    vgg_block,
)

__all__ = [
    "AlexNet",
    "NiN",
    "VGG",
    "VGG11_ARCH",
    "VGG11_NARROW_ARCH",
    "VGG16_ARCH",
    "VGG19_ARCH",
    "nin_block",
    "vgg_block",
    "BNLeNet",
    "BNLeNetScratch",
    "BatchNorm",
    "GoogLeNet",
    "Inception",
    "RESNET18_ARCH",
    "ResNeXtBlock",
    "ResNet",
    "ResNet18",
    "Residual",
    "batch_norm",
    "Classifier",
    "LeNet",
    "init_cnn",
    "layer_summary",
]

"""Every model of chapters 7 and 8: how d2l trains it, how the cpu budget trains it, and
the accuracy d2l reports.

d2l trains each network for 10 epochs of the full 60,000 Fashion-MNIST images at batch
128: 4,690 SGD steps. The offline sample has 1,600 training images, so 10 epochs there
are only 130 steps, and most of these networks are still on the loss plateau of an
untrained classifier (ln 10 = 2.303) after them. The cpu recipes give each network the
steps it needs to learn on a CPU in a few minutes: more epochs, and where one step of
d2l's network is too slow for that, fewer channels and smaller images.
"""

import math
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import torch

from convbook.budget import Budget, current_budget
from convbook.models.alexnet import AlexNet
from convbook.models.base import Classifier
from convbook.models.batchnorm import BNLeNet
from convbook.models.googlenet import GoogLeNet
from convbook.models.lenet import LeNet
from convbook.models.nin import NiN
from convbook.models.resnet import ResNet18
from convbook.models.vgg import VGG, VGG11_NARROW_ARCH

__all__ = ["CPU_RECIPES", "D2L_ZOO", "D2LSetting", "Recipe", "recipe"]

D2L_TRAIN_SIZE = 60_000  # Fashion-MNIST's full training set


class D2LSetting(NamedTuple):
    """How d2l 1.0 trains a model (batch 128, 10 epochs) and what it reaches on a GPU."""

    build: Callable[[], Classifier]  # the model with d2l's learning rate
    image_size: int  # d2l's resize of Fashion-MNIST
    d2l_accuracy: float  # d2l's reported validation accuracy after 10 epochs (full data set)


def _full_width(model: Callable[..., Classifier]) -> Callable[[float, float], Classifier]:
    def build(lr: float, width: float) -> Classifier:
        if width != 1:
            raise ValueError(f"{model.__name__} has no width to narrow, got width={width}")
        return model(lr=lr)

    return build


_BUILDERS: dict[str, Callable[[float, float], Classifier]] = {
    "LeNet": _full_width(LeNet),
    "AlexNet": lambda lr, width: AlexNet(lr=lr, width=width),
    "VGG": lambda lr, width: VGG(VGG11_NARROW_ARCH, lr=lr, width=width),
    "NiN": lambda lr, width: NiN(lr=lr, width=width),
    "GoogLeNet": lambda lr, width: GoogLeNet(lr=lr, width=width),
    "BN-LeNet": _full_width(BNLeNet),
    "ResNet-18": _full_width(ResNet18),
}


# d2l's setting for each network: (learning rate, image side, reported val accuracy).
_D2L: dict[str, tuple[float, int, float]] = {
    "LeNet": (0.1, 28, 0.73),
    "AlexNet": (0.01, 224, 0.83),
    "VGG": (0.01, 224, 0.90),
    "NiN": (0.05, 224, 0.87),
    "GoogLeNet": (0.01, 96, 0.80),
    "BN-LeNet": (0.1, 28, 0.88),
    "ResNet-18": (0.01, 96, 0.90),
}
D2L_ZOO: dict[str, D2LSetting] = {
    name: D2LSetting(partial(_BUILDERS[name], lr, 1.0), side, accuracy)
    for name, (lr, side, accuracy) in _D2L.items()
}
# Where the d2l accuracies come from: the last point of the val_acc curve that d2l.ai
# prints under "Training" in each model's section (PyTorch tab, d2l 1.0.3), read by eye
# to two decimals.
D2L_ACCURACY_SOURCE = (
    "d2l acc: the final val_acc of the training plot in d2l.ai's section for the model "
    "(PyTorch, d2l 1.0.3), read by eye, not re-measured here: 10 epochs on all 60,000 "
    "images, on a GPU"
)


class Recipe(NamedTuple):
    """What one training run of a model is given.

    A run is set either by its epochs (d2l's setting: 10) or by its SGD steps (the cpu
    recipes: what the network needs to learn, whatever the size of the data).

    Attributes:
        model: the zoo's name for the network.
        budget: the budget the recipe is for.
        lr: SGD learning rate.
        batch_size: minibatch size.
        image_size: side the 28 x 28 images are resized to.
        width: fraction of d2l's channels the model keeps (its ``width`` argument).
        steps: SGD steps to take, or None when ``num_epochs`` sets the run.
        num_epochs: passes over the training images, or None when ``steps`` sets it.
    """

    model: str
    budget: str
    lr: float
    batch_size: int
    image_size: int
    width: float = 1.0
    steps: int | None = None
    num_epochs: int | None = None

    def batches(self, train_size: int) -> int:
        """SGD steps per epoch over ``train_size`` training images."""
        return math.ceil(train_size / self.batch_size)

    def epochs(self, train_size: int) -> int:
        """Epochs for ``train_size`` training images: ``num_epochs``, or enough for ``steps``."""
        if self.num_epochs is not None:
            return self.num_epochs
        return max(1, round(self.steps / self.batches(train_size)))

    def build(self) -> Classifier:
        """The network this recipe trains: d2l's model at ``lr``, keeping ``width`` of it."""
        return _BUILDERS[self.model](self.lr, self.width)

    def describe(self, train_size: int) -> str:
        """The run's setting and every way it differs from d2l's, with numbers."""
        d2l = _d2l_recipe(self.model)
        epochs = self.epochs(train_size)
        steps = epochs * self.batches(train_size)
        d2l_steps = d2l.epochs(D2L_TRAIN_SIZE) * d2l.batches(D2L_TRAIN_SIZE)
        changes = []
        if self.width != d2l.width:
            changes.append(f"width {self.width:g} (d2l: 1)")
        if self.image_size != d2l.image_size:
            changes.append(f"{self.image_size} px images (d2l: {d2l.image_size})")
        if self.batch_size != d2l.batch_size:
            changes.append(f"batch {self.batch_size} (d2l: {d2l.batch_size})")
        if self.lr != d2l.lr:
            changes.append(f"lr {self.lr:g} (d2l: {d2l.lr:g})")
        return (
            f"{self.model}, {self.budget} budget: {epochs} epochs x {train_size:,} images = "
            f"{steps:,} SGD steps (d2l: {d2l.num_epochs} x {D2L_TRAIN_SIZE:,} = {d2l_steps:,}); "
            + ("; ".join(changes) if changes else "otherwise d2l's setting")
        )


def _d2l_recipe(name: str) -> Recipe:
    lr, side, _ = _D2L[name]
    return Recipe(name, "full", lr, 128, side, num_epochs=10)


# Found by training each network on the offline sample (1,600 images) with 2 CPU threads:
# the steps take it well past val acc 0.70 in a few minutes. Widths and sizes are cut only
# where d2l's network is too slow for that on a CPU (AlexNet, VGG, NiN, GoogLeNet).
CPU_RECIPES: dict[str, Recipe] = {
    "LeNet": Recipe("LeNet", "cpu", lr=0.3, batch_size=64, image_size=28, steps=5000),
    "AlexNet": Recipe("AlexNet", "cpu", 0.03, 64, 65, width=0.25, steps=2000),
    "VGG": Recipe("VGG", "cpu", 0.05, 64, 32, width=0.5, steps=2000),
    "NiN": Recipe("NiN", "cpu", 0.1, 64, 67, width=0.25, steps=5000),
    "GoogLeNet": Recipe("GoogLeNet", "cpu", 0.05, 64, 32, width=0.25, steps=3000),
    "BN-LeNet": Recipe("BN-LeNet", "cpu", 0.1, 128, 28, steps=1000),
    "ResNet-18": Recipe("ResNet-18", "cpu", 0.01, 128, 32, steps=260),
}


def recipe(name: str, budget: Budget | None = None) -> Recipe:
    """How ``name`` trains under ``budget`` (default: the active one).

    ``full`` is d2l's own setting; ``cpu`` is the cpu recipe, and ``smoke`` the cpu
    recipe cut down further by its caps (images here, epochs and batches in the
    ``Trainer``).

    Raises:
        KeyError: if ``name`` is not one of the zoo's models.
    """
    if name not in D2L_ZOO:
        raise KeyError(f"no model {name!r}; the zoo has {', '.join(D2L_ZOO)}")
    budget = budget or current_budget()
    run = _d2l_recipe(name) if budget.name == "full" else CPU_RECIPES[name]
    with torch.device("meta"):
        minimum = getattr(D2L_ZOO[name].build(), "min_image_size", 1)
    side = budget.image_size(run.image_size, minimum=minimum)
    return run._replace(budget=budget.name, image_size=side)

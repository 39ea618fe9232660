"""Compute budgets: one notebook, three sizes of run.

``full`` runs d2l's own hyperparameters, meant for a GPU. ``cpu`` trains each network
with its cpu recipe (``convbook.models.zoo.CPU_RECIPES``): enough SGD steps for it to
learn on the 1,600-image offline sample, at a width and resolution a laptop can afford,
a few minutes a network. ``smoke`` is for CI: the same code, cut to seconds, so it
checks that a notebook runs, not that its networks learn. ``CONVBOOK_BUDGET`` picks one;
the default is ``full`` where there is an accelerator and ``cpu`` otherwise.
"""

import os
from dataclasses import dataclass

from convbook.device import num_gpus

__all__ = ["Budget", "BUDGETS", "current_budget"]


@dataclass(frozen=True)
class Budget:
    """Caps that shrink a training run without changing the code that asks for it.

    Attributes:
        name: ``smoke``, ``cpu`` or ``full``.
        max_epochs: most epochs a run may take (None: as many as asked).
        max_train_batches: most training batches per epoch (None: all).
        max_val_batches: most validation batches per epoch (None: all).
        max_image_size: largest side an input is resized to (None: as asked).
    """

    name: str
    max_epochs: int | None
    max_train_batches: int | None
    max_val_batches: int | None
    max_image_size: int | None

    def epochs(self, asked: int) -> int:
        """The number of epochs to run when ``asked`` were asked for."""
        return asked if self.max_epochs is None else min(asked, self.max_epochs)

    def image_size(self, asked: int, minimum: int = 1) -> int:
        """Side length to resize to: ``asked``, capped, but never below ``minimum``.

        Args:
            asked: d2l's resize for the model (224 for AlexNet, 96 for ResNet, ...).
            minimum: smallest side the model's downsampling can take.
        """
        if self.max_image_size is None:
            return asked
        return max(min(asked, self.max_image_size), minimum)

    def describe(self) -> str:
        if self.name == "full":
            return "budget full (d2l's hyperparameters)"
        if self.name == "cpu":
            return "budget cpu (each network's cpu recipe, convbook.models.zoo)"
        caps = [
            f"<= {self.max_epochs} epochs",
            f"<= {self.max_train_batches} train / {self.max_val_batches} val batches per epoch",
            f"images <= {self.max_image_size} px",
        ]
        return f"budget {self.name} ({', '.join(caps)})"


BUDGETS = {
    "smoke": Budget(
        "smoke", max_epochs=2, max_train_batches=6, max_val_batches=2, max_image_size=32
    ),
    "cpu": Budget(
        "cpu", max_epochs=None, max_train_batches=None, max_val_batches=None, max_image_size=None
    ),
    "full": Budget(
        "full", max_epochs=None, max_train_batches=None, max_val_batches=None, max_image_size=None
    ),
}


def current_budget() -> Budget:
    """The budget named by ``CONVBOOK_BUDGET``, else ``full`` with a GPU and ``cpu`` without.

    Raises:
        ValueError: if ``CONVBOOK_BUDGET`` names no known budget.
    """
    name = os.environ.get("CONVBOOK_BUDGET", "").strip().lower()
    if not name:
        name = "full" if num_gpus() > 0 else "cpu"
    if name not in BUDGETS:
        raise ValueError(f"CONVBOOK_BUDGET={name!r} is not one of {sorted(BUDGETS)}")
    return BUDGETS[name]

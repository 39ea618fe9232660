"""A d2l-compatible ``Trainer`` (section 3.4) without per-step plotting or device syncs."""

import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parameter import is_lazy
from tqdm import tqdm

from convbook.budget import Budget, current_budget
from convbook.device import cpu, gpu
from convbook.device import num_gpus as available_gpus
from convbook.plot import show_figure

__all__ = [
    "RECENT_EPOCHS",
    "RESULTS_DIR",
    "SUMMARY_PATTERN",
    "AccuracySpread",
    "History",
    "Trainer",
    "load_histories",
]

# Where ``History.save`` keeps runs, one folder per budget. The cpu runs that the book's
# pages show are committed there and ship with the package, so 8.6 can compare them
# without retraining, in Colab too.
RESULTS_DIR = Path(__file__).parent / "results"

# How many final epochs ``History.recent_val_acc`` summarises. On 400 validation images one
# epoch's accuracy can swing by 15 points; the mean over ten epochs cannot.
RECENT_EPOCHS = 10

# What ``History.summary`` prints, read back by ``convbook.notebooks.training_results``.
SUMMARY_PATTERN = re.compile(
    r"^(?P<model>\w+): (?P<epochs>\d+) epochs \((?P<budget>\w+) budget.*\) on (?P<device>\S+), "
    r".*, val acc (?P<val_acc>[\d.]+); last (?P<recent>\d+) epochs: val acc mean "
    r"(?P<val_mean>[\d.]+), min (?P<val_min>[\d.]+), max (?P<val_max>[\d.]+) "
    r"\((?P<seconds>[\d.]+) s\)$",
    re.MULTILINE,
)


class AccuracySpread(NamedTuple):
    """Validation accuracy over a run's last epochs: a figure one epoch's swing cannot move."""

    mean: float
    low: float
    high: float
    epochs: int  # how many final epochs it summarises

    def overlaps(self, other: "AccuracySpread") -> bool:
        """Whether the two min-max ranges overlap, so that the runs' difference in mean
        accuracy is within the epoch-to-epoch swing of either."""
        return self.low <= other.high and other.low <= self.high


@dataclass
class History:
    """Per-epoch metrics of one ``Trainer.fit`` run, plus what it ran on.

    ``settings`` holds what shaped the run: learning rate, batch size, image side,
    width, SGD steps per epoch and in all.
    """

    model: str
    data: str
    device: str
    budget: str
    epochs_asked: int
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's metrics (empty before the first epoch ends)."""
        if not self.train_loss:
            return {}
        return {
            "train_loss": self.train_loss[-1],
            "train_acc": self.train_acc[-1],
            "val_loss": self.val_loss[-1],
            "val_acc": self.val_acc[-1],
        }

    def recent_val_acc(self, epochs: int = RECENT_EPOCHS) -> AccuracySpread:
        """Mean, lowest and highest validation accuracy over the last ``epochs`` epochs
        (all of them if the run is shorter).

        Raises:
            ValueError: before the first epoch ends, or if ``epochs`` < 1.
        """
        if not self.val_acc or epochs < 1:
            raise ValueError(f"need epochs >= 1 and a finished epoch, got {epochs}, "
                             f"{len(self.val_acc)} epochs run")  # fmt: skip
        recent = self.val_acc[-epochs:]
        return AccuracySpread(sum(recent) / len(recent), min(recent), max(recent), len(recent))

    def save(self, name: str, folder: str | Path | None = None) -> Path:
        """Write the run to ``folder/<budget>/<name>.json`` (default: :data:`RESULTS_DIR`).

        Returns:
            The file written.
        """
        path = Path(folder or RESULTS_DIR) / self.budget / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "History":
        """Read a run written by :meth:`save`.

        Raises:
            ValueError: if the file is not a saved run.
        """
        try:
            return cls(**json.loads(Path(path).read_text()))
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a saved training run ({exc})") from exc

    def summary(self) -> str:
        """One line: the run's setting, its last epoch's metrics and, since one epoch's
        validation accuracy is noisy, the mean, min and max over the last epochs."""
        f, recent = self.final, self.recent_val_acc()
        data = self.data.split(";")[0]
        return (
            f"{self.model}: {len(self.train_loss)} epochs ({self.budget} budget, "
            f"{self.epochs_asked} asked) on {self.device}, {data}: "
            f"train loss {f['train_loss']:.3f}, train acc {f['train_acc']:.3f}, "
            f"val loss {f['val_loss']:.3f}, val acc {f['val_acc']:.3f}; "
            f"last {recent.epochs} epochs: val acc mean {recent.mean:.3f}, "
            f"min {recent.low:.3f}, max {recent.high:.3f} ({self.seconds:.1f} s)"
        )

    def plot(self) -> None:
        """One figure of the loss and accuracy curves over epochs; the last epochs, which
        ``recent_val_acc`` averages, are shaded, with a line at their mean val acc."""
        epochs = range(1, len(self.train_loss) + 1)
        fig, ax = plt.subplots(figsize=(4.5, 3))
        recent = self.recent_val_acc()
        ax.axvspan(len(epochs) - recent.epochs + 0.5, len(epochs) + 0.5, color="0.92")
        ax.hlines(recent.mean, len(epochs) - recent.epochs + 0.5, len(epochs) + 0.5, color="k",
                  lw=1.2, label=f"val_acc, last {recent.epochs}: {recent.mean:.3f}")  # fmt: skip
        ax.plot(epochs, self.train_loss, "-", label="train_loss")
        ax.plot(epochs, self.val_loss, "--", label="val_loss")
        ax.plot(epochs, self.train_acc, ":", label="train_acc")
        ax.plot(epochs, self.val_acc, "-.", label="val_acc")
        ax.set_xlabel("epoch")
        ax.set_title(f"{self.model} on {self.data.split(':')[0]} ({self.device})", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        show_figure(fig)


def _check_output(y_hat: Tensor, y: Tensor) -> None:
    """Fail early, and clearly, when model outputs cannot be scored against the labels."""
    if y_hat.dim() != 2 or y_hat.shape[0] != y.shape[0]:
        raise ValueError(
            f"model output has shape {tuple(y_hat.shape)} but the labels have shape "
            f"{tuple(y.shape)}: expected (batch, num_classes) = ({y.shape[0]}, C)"
        )
    if not torch.is_floating_point(y) and int(y.max()) >= y_hat.shape[1]:
        raise ValueError(
            f"model output has {y_hat.shape[1]} classes but a label is {int(y.max())}: "
            f"the last layer needs at least {int(y.max()) + 1} outputs"
        )


def load_histories(budget: str, folder: str | Path | None = None) -> dict[str, "History"]:
    """Every run saved for ``budget``, by the name it was saved under, sorted by name."""
    root = Path(folder or RESULTS_DIR) / budget
    return {path.stem: History.load(path) for path in sorted(root.glob("*.json"))}


class Trainer:
    """Fit a model to a data module, like ``d2l.Trainer`` (section 3.4).

    Works with convbook's models and with the book's ``d2l.Module``/``d2l.Classifier``
    subclasses: it calls ``model(X)``, ``model.loss(y_hat, y)`` and
    ``model.configure_optimizers()``. Unlike d2l it redraws nothing while training and
    reads metrics off the device once per epoch; the active budget (``CONVBOOK_BUDGET``)
    caps epochs and batches, so one notebook serves CI, a laptop and a GPU.

    Args:
        max_epochs: epochs to train (before the budget's cap).
        num_gpus: accelerators to use, 0 for the CPU. Asking for more than exist falls
            back to what exists, as in d2l. Only the first one is used.
        gradient_clip_val: clip the gradient norm to this value if > 0.
        seed: seeds PyTorch (init of lazy layers, shuffling, dropout) at the start of fit.
        budget: a :class:`~convbook.budget.Budget`; default: the active one.
        progress: show a tqdm bar on stdout; default: unless ``CONVBOOK_PROGRESS=0``.
        plot: draw the curves once training ends.
    """

    def __init__(
        self,
        max_epochs: int,
        num_gpus: int = 0,
        gradient_clip_val: float = 0,
        *,
        seed: int = 0,
        budget: Budget | None = None,
        progress: bool | None = None,
        plot: bool = True,
    ) -> None:
        if max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {max_epochs}")
        self.max_epochs = max_epochs
        self.gradient_clip_val = gradient_clip_val
        self.seed = seed
        self.budget = budget or current_budget()
        if progress is None:
            progress = os.environ.get("CONVBOOK_PROGRESS", "1") != "0"
        self.progress, self.plot = progress, plot
        self.device = gpu(0) if min(num_gpus, available_gpus()) > 0 else cpu()
        self.gpus = [self.device] if self.device.type != "cpu" else []

    def _batches(self, loader, limit: int | None):
        for i, batch in enumerate(loader):
            if limit is not None and i >= limit:
                return
            yield [t.to(self.device, non_blocking=True) for t in batch]

    def prepare_batch(self, batch: list[Tensor]) -> list[Tensor]:
        """Move a batch to the training device (d2l's hook of the same name)."""
        return [t.to(self.device) for t in batch]

    def fit(self, model: nn.Module, data) -> History:
        """Train ``model`` on ``data`` (a d2l-style data module) and return its history.

        Raises:
            ValueError: if the model's outputs do not fit the labels.
        """
        torch.manual_seed(self.seed)
        model.to(self.device)
        if hasattr(data, "device"):
            data.device = self.device
        train_loader, val_loader = data.train_dataloader(), data.val_dataloader()
        b = self.budget
        epochs = b.epochs(self.max_epochs)
        n_train = min(len(train_loader), b.max_train_batches or len(train_loader))
        n_val = min(len(val_loader), b.max_val_batches or len(val_loader))
        if any(is_lazy(p) for p in model.parameters()):
            # Shapes must exist before the optimizer sees the parameters. Eval mode, so
            # this pass leaves batch-norm statistics alone.
            model.eval()
            with torch.no_grad():
                model(*next(self._batches(val_loader, 1))[:-1])
        optimizer = model.configure_optimizers()
        model.trainer = self  # d2l's modules look for it
        loss_fn = getattr(model, "loss", None) or F.cross_entropy
        describe = getattr(data, "describe", None)
        history = History(
            model=type(model).__name__,
            data=describe() if describe else type(data).__name__,
            device=str(self.device),
            budget=b.name,
            epochs_asked=self.max_epochs,
            settings={
                "lr": optimizer.param_groups[0]["lr"],
                "batch_size": getattr(data, "batch_size", None),
                "train_size": getattr(data, "num_train", None),
                "image_size": list(getattr(data, "resize", ())) or None,
                "width": getattr(model, "width", 1.0),
                "steps_per_epoch": n_train,
                "steps": epochs * n_train,
            },
        )
        print(
            f"Training {history.model} on {history.device} for {epochs} epochs "
            f"({b.describe()}; {n_train} train / {n_val} val batches per epoch)"
        )
        start = time.perf_counter()
        bar = tqdm(
            total=epochs * n_train,
            file=sys.stdout,
            disable=not self.progress,
            desc=history.model,
            mininterval=1.0,
            dynamic_ncols=True,
        )
        for _epoch in range(epochs):
            train_loss, train_acc = self._train_epoch(
                model, optimizer, loss_fn, train_loader, n_train, bar
            )
            val_loss, val_acc = self._validate(model, loss_fn, val_loader, n_val)
            history.train_loss.append(train_loss)
            history.train_acc.append(train_acc)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_acc:.3f}")
        bar.close()
        history.seconds = time.perf_counter() - start
        print(history.summary())
        if self.plot:
            history.plot()
        return history

    def _train_epoch(self, model, optimizer, loss_fn, loader, limit, bar) -> tuple[float, float]:
        """Mean loss and accuracy over the epoch's batches (as the weights were then)."""
        model.train()
        total, count = torch.zeros((), device=self.device), 0
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        for i, (*inputs, y) in enumerate(self._batches(loader, limit)):
            y_hat = model(*inputs)
            if i == 0:
                _check_output(y_hat, y)
            loss = loss_fn(y_hat, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.gradient_clip_val > 0:
                nn.utils.clip_grad_norm_(model.parameters(), self.gradient_clip_val)
            optimizer.step()
            total += loss.detach() * len(y)  # stays on the device: no sync per batch
            correct += (y_hat.detach().argmax(dim=-1) == y).sum()
            count += len(y)
            bar.update(1)
        return total.item() / count, correct.item() / count

    @torch.no_grad()
    def _validate(self, model, loss_fn, loader, limit) -> tuple[float, float]:
        model.eval()
        total = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        count = 0
        for i, (*inputs, y) in enumerate(self._batches(loader, limit)):
            y_hat = model(*inputs)
            if i == 0:
                _check_output(y_hat, y)
            total += loss_fn(y_hat, y) * len(y)
            correct += (y_hat.argmax(dim=-1) == y).sum()
            count += len(y)
        return total.item() / count, correct.item() / count

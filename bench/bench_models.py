"""One epoch of every chapter-7/8 model at the active budget: seconds and accuracy each.

Each model gets the active budget's recipe (``convbook.models.zoo.recipe``): its learning
rate, batch size, width and image size, as the chapters train it. On a GPU the default budget
is ``full``: d2l's own setting. The epoch count is one for all, so the seconds compare the
cost of an epoch, not of a whole run.

    CONVBOOK_DATA_DIR=../shared/data/fashion-mnist CONVBOOK_BUDGET=smoke \\
        python bench/bench_models.py

Last line: RESULT models=<n> total_s=<seconds of training, all models together>.
"""

import argparse
import contextlib
import io
import os
import sys

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from convbook import FashionMNIST, Trainer, current_budget, num_gpus  # noqa: E402
from convbook.models.zoo import D2L_ZOO, recipe  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(D2L_ZOO), help="subset to run")
    args = parser.parse_args()
    unknown = sorted(set(args.models) - set(D2L_ZOO))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(D2L_ZOO)}")
    os.environ.setdefault("CONVBOOK_PROGRESS", "0")
    budget = current_budget()
    print(
        f"{budget.describe()}; {num_gpus()} GPU(s); torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads"
    )
    print(f"{'model':<10} {'size':>5} {'params':>10} {'epoch_s':>8} {'val_acc':>8}")
    total = 0.0
    for name in args.models:
        run = recipe(name, budget)
        torch.manual_seed(0)
        model = run.build()
        size = run.image_size
        with contextlib.redirect_stdout(io.StringIO()):  # keep one line per model
            data = FashionMNIST(batch_size=run.batch_size, resize=(size, size))
            history = Trainer(max_epochs=1, num_gpus=1, plot=False).fit(model, data)
        params = sum(p.numel() for p in model.parameters())
        total += history.seconds
        print(
            f"{name:<10} {size:>5} {params:>10,} {history.seconds:>8.2f} "
            f"{history.val_acc[-1]:>8.3f}"
        )
    print(f"data: {data.describe()}; device: {history.device}")
    print(f"RESULT models={len(args.models)} total_s={total:.1f}")


if __name__ == "__main__":
    sys.exit(main())

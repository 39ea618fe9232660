"""How much does convbook's Trainer cost over a bare PyTorch loop, and over d2l's Trainer?

One run, one machine, the same LeNet (d2l's class), the same in-memory Fashion-MNIST
images and batch size for all three; trials are interleaved so that load from other
processes hits every contender alike, and the median trial counts. Then the data
pipelines alone: convbook.FashionMNIST vs d2l.FashionMNIST at resize 224, reading the
same IDX files.

    CONVBOOK_DATA_DIR=../shared/data/fashion-mnist python bench/bench_trainer.py

Last line: RESULT trainer_vs_d2l=<x> trainer_vs_plain=<x> data_vs_d2l=<x>, each a ratio of
images per second (higher is better for convbook).
"""

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from d2l import torch as d2l  # noqa: E402

from convbook import FashionMNIST, Trainer  # noqa: E402
from convbook.budget import Budget  # noqa: E402
from convbook.models import init_cnn  # noqa: E402

NO_CAPS = Budget("bench", None, None, None, None)


class TensorData(d2l.DataModule):
    """d2l's own in-memory data module over the same tensors convbook iterates."""

    def __init__(self, splits: dict, batch_size: int) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.tensors = {s: (x.unsqueeze(1).float() / 255, y) for s, (x, y) in splits.items()}

    def get_dataloader(self, train: bool):
        return self.get_tensorloader(self.tensors["train" if train else "val"], train)


def fresh_lenet(example: torch.Tensor) -> d2l.LeNet:
    torch.manual_seed(0)
    model = d2l.LeNet(lr=0.1)
    model.apply_init([example], init_cnn)
    return model


def run_plain(model, data: TensorData, epochs: int) -> None:
    """The practical limit: forward, loss, backward, step; then an evaluation pass."""
    optimizer = torch.optim.SGD(model.parameters(), lr=model.lr)
    loss_fn = torch.nn.functional.cross_entropy
    for _ in range(epochs):
        model.train()
        for x, y in data.get_dataloader(True):
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            correct = sum((model(x).argmax(1) == y).sum() for x, y in data.get_dataloader(False))
        float(correct)


def run_convbook(model, data: FashionMNIST, epochs: int) -> None:
    Trainer(max_epochs=epochs, budget=NO_CAPS).fit(model, data)


def run_d2l(model, data: TensorData, epochs: int) -> None:
    d2l.Trainer(max_epochs=epochs).fit(model, data)


def time_trainers(data: FashionMNIST, trials: int, epochs: int) -> dict[str, float]:
    """Images per second (train + validate) of each trainer, median over trials."""
    d2l_data = TensorData(data.splits, data.batch_size)
    example = d2l_data.tensors["train"][0][:1]
    contenders = {
        "plain loop": (run_plain, d2l_data),
        "convbook.Trainer": (run_convbook, data),
        "d2l.Trainer": (run_d2l, d2l_data),
    }
    images = epochs * (data.num_train + data.num_val)
    seconds = {name: [] for name in contenders}
    for _ in range(trials):
        for name, (run, module) in contenders.items():
            model = fresh_lenet(example)
            with contextlib.redirect_stdout(io.StringIO()):  # d2l "displays" its plots
                start = time.perf_counter()
                run(model, module, epochs)
                seconds[name].append(time.perf_counter() - start)
    return {name: images / statistics.median(s) for name, s in seconds.items()}


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


def time_pipelines(data: FashionMNIST, trials: int, size: int) -> dict[str, float]:
    """Images per second of one pass over the training split, resized to ``size``."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp, "data", "FashionMNIST", "raw")
        raw.mkdir(parents=True)
        for split, prefix in (("train", "train"), ("val", "t10k")):
            x, y = (t.numpy().astype(np.uint8) for t in data.splits[split])
            write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
            write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
        with contextlib.redirect_stdout(io.StringIO()):
            ours = FashionMNIST(batch_size=data.batch_size, resize=size, root=Path(tmp, "data"))
        cwd = os.getcwd()
        work = Path(tmp, "work")  # d2l reads from ../data, relative to the working folder
        work.mkdir()
        os.chdir(work)
        try:
            theirs = d2l.FashionMNIST(batch_size=data.batch_size, resize=(size, size))  # ../data
            seconds = {"convbook.FashionMNIST": [], "d2l.FashionMNIST": []}
            for _ in range(trials):
                for name, module in (("convbook.FashionMNIST", ours), ("d2l.FashionMNIST", theirs)):
                    start = time.perf_counter()
                    for x, _y in module.get_dataloader(True):
                        assert x.shape[-1] == size
                    seconds[name].append(time.perf_counter() - start)
        finally:
            os.chdir(cwd)
    return {name: data.num_train / statistics.median(s) for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    os.environ["CONVBOOK_PROGRESS"] = "0"

    data = FashionMNIST(batch_size=args.batch_size)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu; "
        f"LeNet, batch {args.batch_size}, {args.epochs} epochs x {args.trials} trials"
    )
    trainers = time_trainers(data, args.trials, args.epochs)
    pipelines = time_pipelines(data, args.trials, size=224)
    for name, ips in {**trainers, **pipelines}.items():
        print(f"{name:24s} {ips:10,.0f} images/s")
    trainer_vs_d2l = trainers["convbook.Trainer"] / trainers["d2l.Trainer"]
    trainer_vs_plain = trainers["convbook.Trainer"] / trainers["plain loop"]
    data_vs_d2l = pipelines["convbook.FashionMNIST"] / pipelines["d2l.FashionMNIST"]
    print(
        f"RESULT trainer_vs_d2l={trainer_vs_d2l:.2f} trainer_vs_plain={trainer_vs_plain:.2f} "
        f"data_vs_d2l={data_vs_d2l:.2f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Image classification data (d2l 4.2): Fashion-MNIST and scikit-learn's digits.

Images are decoded once into a uint8 tensor; each batch is converted to float and resized
on the device it is going to, so no worker processes and no per-image PIL transforms
are needed.
"""

import gzip
import hashlib
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from convbook.budget import current_budget
from convbook.plot import show_images

__all__ = [
    "DATA_DIR_ENV",
    "DataUnavailableError",
    "Digits",
    "FashionMNIST",
    "ImageBatches",
    "ImageClassificationData",
    "read_idx",
    "resize_matrix",
]

DATA_DIR_ENV = "CONVBOOK_DATA_DIR"
DEFAULT_DATA_DIR = Path.home() / ".cache" / "convbook"

FASHION_CLASSES = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "val": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# The genuine offline sample: the first 2,000 official test images (see its README).
SAMPLE_FILE = "test-0000-1999.npz"
SAMPLE_SHA256 = "9aa112928c4b821fedc00d587e83f60b4ccb54f3ff5cf04a983f79b799c02c2a"
SAMPLE_TRAIN_SIZE = 1600  # images 0-1599 train, 1600-1999 validate


class DataUnavailableError(RuntimeError):
    """The data set is neither on disk nor downloadable; the message says how to get it."""


# ---------------------------------------------------------------------------------------
# Reading files


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, into a uint8 array.

    Raises:
        ValueError: if the file is truncated, not IDX, or not unsigned bytes.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:  # a truncated gzip stream raises EOFError
        raise ValueError(f"{path}: cannot read ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX data type {raw[2]:#04x}, expected unsigned bytes (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: truncated or corrupt: shape {shape} needs {expected} bytes of data, "
            f"found {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_idx_pair(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_stem, labels_stem = IDX_FILES[split]
    images = read_idx(_find_idx(folder, images_stem))
    labels = read_idx(_find_idx(folder, labels_stem))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{folder}: {split} images {images.shape} and labels {labels.shape} do not match"
        )
    return images, labels


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_offline_sample(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    path = folder / SAMPLE_FILE
    if _sha256(path) != SAMPLE_SHA256:
        raise ValueError(f"{path}: SHA-256 differs from the published one; the file is corrupt")
    with np.load(path) as arrays:
        images, labels = arrays["x_test"], arrays["y_test"]
    official = _find_idx(folder, IDX_FILES["val"][1])
    if official is not None and not np.array_equal(labels, read_idx(official)[: len(labels)]):
        raise ValueError(f"{path}: labels differ from the official test labels")
    n = SAMPLE_TRAIN_SIZE
    return {"train": (images[:n], labels[:n]), "val": (images[n:], labels[n:])}


def _download_with_torchvision(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """torchvision's own download (skipped when its raw files are already there)."""
    from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

    splits = {}
    for split in ("train", "val"):
        ds = TorchvisionFashionMNIST(str(folder), train=split == "train", download=True)
        splits[split] = (ds.data.numpy(), ds.targets.numpy().astype(np.uint8))
    return splits


def _load_fashion_mnist(root: str | Path | None) -> tuple[dict, str]:
    """Find Fashion-MNIST: cache, then the offline sample, then torchvision's download."""
    folder = Path(root or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()
    raw = folder / "FashionMNIST" / "raw"
    if all(_find_idx(raw, stem) for pair in IDX_FILES.values() for stem in pair):
        return {s: _read_idx_pair(raw, s) for s in IDX_FILES}, f"cache ({raw})"
    if (folder / SAMPLE_FILE).is_file():
        # Checked before downloading: the sample's folder is read-only, and a machine
        # that has it is usually offline.
        return _read_offline_sample(folder), "offline sample (first 2,000 official test images)"
    try:
        return _download_with_torchvision(folder), f"downloaded by torchvision to {raw}"
    except Exception as exc:  # no network, no write permission, a broken mirror...
        raise DataUnavailableError(
            f"Fashion-MNIST is not in {raw} and could not be downloaded ({exc}). "
            "Connect to the internet and run again, copy the four IDX files "
            f"(train/t10k images/labels) into {raw}, or set {DATA_DIR_ENV} to a folder "
            f"holding them, or to the offline sample folder with {SAMPLE_FILE}."
        ) from exc


# ---------------------------------------------------------------------------------------
# Batching


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def _check_resize(resize: int | tuple[int, int]) -> tuple[int, int]:
    size = (resize, resize) if isinstance(resize, int) else tuple(resize)
    if len(size) != 2 or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size
    ):
        raise ValueError(f"resize must be a positive int or (height, width), got {resize!r}")
    return size


def resize_matrix(size_in: int, size_out: int, device: torch.device | str = "cpu") -> Tensor:
    """The (size_out, size_in) matrix of 1-D bilinear resizing, antialiased when shrinking.

    Bilinear resizing is separable, so resizing an (H, W) image to (h, w) is
    ``resize_matrix(H, h) @ image @ resize_matrix(W, w).T``: two small matrix products,
    faster than ``F.interpolate`` on a CPU and equal to it up to float rounding. The matrix
    is ``F.interpolate`` applied to the identity, one basis vector per row.
    """
    eye = torch.eye(size_in, device=device).reshape(size_in, 1, 1, size_in)
    rows = F.interpolate(eye, size=(1, size_out), mode="bilinear", antialias=size_out < size_in)
    return rows.reshape(size_in, size_out).T.contiguous()


class ImageBatches:
    """An iterable of ``(X, y)`` minibatches over uint8 images held in memory.

    ``X`` is float32 in [0, 1] with shape (N, 1, *resize) on ``device``; ``y`` is int64.
    Shuffled with PyTorch's global generator, so ``torch.manual_seed`` makes it repeatable.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        resize: tuple[int, int],
        shuffle: bool,
        device: torch.device | str = "cpu",
    ) -> None:
        self.images, self.labels = images, labels
        self.batch_size, self.resize, self.shuffle = batch_size, resize, shuffle
        self.device = torch.device(device)

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            x = self.images[idx].to(self.device, non_blocking=True)  # uint8: 4x less to copy
            x = x.unsqueeze(1).float().div_(255)  # N x 1 x 28 x 28
            if tuple(x.shape[-2:]) != self.resize:
                rows, cols = self._resize_matrices()
                x = rows @ x @ cols  # N x 1 x h x w
            yield x, self.labels[idx].to(self.device, non_blocking=True)

    def _resize_matrices(self) -> tuple[Tensor, Tensor]:
        key = (self.device, self.resize)
        if getattr(self, "_matrices_key", None) != key:
            (h, w), (height, width) = self.resize, self.images.shape[-2:]
            self._matrices = (
                resize_matrix(height, h, self.device),
                resize_matrix(width, w, self.device).T,
            )
            self._matrices_key = key
        return self._matrices


class ImageClassificationData:
    """d2l's ``DataModule`` interface over a train and a validation split held in memory."""

    name = "images"
    classes: tuple[str, ...] = ()

    def __init__(self, batch_size: int, resize: int | tuple[int, int]) -> None:
        self.batch_size = _check_batch_size(batch_size)
        self.resize = _check_resize(resize)
        self.device = torch.device("cpu")  # the Trainer moves batches where it trains
        self.splits: dict[str, tuple[Tensor, Tensor]] = {}
        self.source = ""

    def _set_splits(self, splits: dict[str, tuple[np.ndarray, np.ndarray]], source: str) -> None:
        for split, (images, labels) in splits.items():
            self.splits[split] = (
                torch.from_numpy(np.ascontiguousarray(images)),
                torch.from_numpy(labels.astype(np.int64)),
            )
        self.source = source
        print(self.describe())

    def describe(self) -> str:
        """One line: data set, source, split sizes, resolution and budget."""
        train, val = len(self.splits["train"][1]), len(self.splits["val"][1])
        native = "x".join(str(s) for s in self.splits["train"][0].shape[-2:])
        size = "x".join(map(str, self.resize))
        shown = native if size == native else f"{native} resized to {size}"
        return (
            f"{self.name}: {self.source}; train {train:,} / val {val:,} images, {shown}; "
            f"{current_budget().name} budget"
        )

    @property
    def num_train(self) -> int:
        return len(self.splits["train"][1])

    @property
    def num_val(self) -> int:
        return len(self.splits["val"][1])

    def get_dataloader(self, train: bool) -> ImageBatches:
        images, labels = self.splits["train" if train else "val"]
        return ImageBatches(images, labels, self.batch_size, self.resize, train, self.device)

    def train_dataloader(self) -> ImageBatches:
        return self.get_dataloader(train=True)

    def val_dataloader(self) -> ImageBatches:
        return self.get_dataloader(train=False)

    def text_labels(self, indices) -> list[str]:
        """Class names for integer labels."""
        return [self.classes[int(i)] for i in indices]

    def visualize(
        self,
        batch: tuple[Tensor, Tensor],
        nrows: int = 1,
        ncols: int = 8,
        labels: list[str] | None = None,
    ) -> None:
        """Show the first ``nrows * ncols`` images of ``batch`` with their labels."""
        x, y = batch
        count = min(len(y), nrows * ncols)
        titles = labels if labels else self.text_labels(y[:count])
        show_images(x[:count].squeeze(1), nrows, ncols, titles=titles)


class FashionMNIST(ImageClassificationData):
    """Fashion-MNIST (section 4.2), found locally or downloaded, with d2l's interface.

    Sources, in order: torchvision's raw IDX files under ``root`` (or ``$CONVBOOK_DATA_DIR``,
    else ``~/.cache/convbook``) at ``FashionMNIST/raw``; the offline sample of 2,000 genuine
    test images when that folder holds it; torchvision's download. The line printed on
    construction says which one was used.

    Raises:
        ValueError: bad ``batch_size`` or ``resize``, or corrupt or truncated files.
        DataUnavailableError: nothing on disk and no download possible.
    """

    name = "Fashion-MNIST"
    classes = FASHION_CLASSES

    def __init__(
        self,
        batch_size: int = 64,
        resize: int | tuple[int, int] = (28, 28),
        root: str | Path | None = None,
        num_workers: int = 0,  # accepted for d2l compatibility; batches need no workers
    ) -> None:
        super().__init__(batch_size, resize)
        self._set_splits(*_load_fashion_mnist(root))


class Digits(ImageClassificationData):
    """scikit-learn's bundled handwritten digits (1,797 real 8x8 images), offline.

    Same interface as :class:`FashionMNIST`, for quick runs and tests. A fixed permutation
    splits it into 1,437 training and 360 validation images.
    """

    name = "Digits"
    classes = tuple(str(d) for d in range(10))

    def __init__(self, batch_size: int = 64, resize: int | tuple[int, int] = (28, 28)) -> None:
        super().__init__(batch_size, resize)
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255 / 16)).astype(np.uint8)  # 0..16 -> 0..255
        order = np.random.default_rng(0).permutation(len(images))
        n_train = len(images) - 360
        train, val = order[:n_train], order[n_train:]
        self._set_splits(
            {
                "train": (images[train], digits.target[train]),
                "val": (images[val], digits.target[val]),
            },
            "scikit-learn's bundled copy",
        )

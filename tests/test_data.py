import gzip
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convbook import data as data_module
from convbook.data import DataUnavailableError, Digits, FashionMNIST, read_idx, resize_matrix


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write ``array`` (uint8) in the IDX format that MNIST-style files use."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def write_tiny_fashion_mnist(root: Path, compress: bool = False) -> dict[str, np.ndarray]:
    """A tiny but well-formed Fashion-MNIST in torchvision's raw layout."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 50, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 20, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(root / "FashionMNIST" / "raw" / name, array, compress)
    return arrays


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x-idx3-ubyte", array, compress)
    np.testing.assert_array_equal(read_idx(path), array)


def test_read_idx_rejects_truncated_file(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"truncated or corrupt: shape \(4, 28, 28\)"):
        read_idx(path)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((4, 28, 28), np.uint8), compress=True)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ValueError, match="cannot read"):
        read_idx(path)


def test_read_idx_rejects_non_idx_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not an image file")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_fashion_mnist_reads_a_local_cache_in_torchvision_layout(tmp_path, capsys):
    arrays = write_tiny_fashion_mnist(tmp_path, compress=True)
    data = FashionMNIST(batch_size=8, root=tmp_path)
    line = capsys.readouterr().out
    assert "cache" in line and "train 50 / val 20 images" in line
    x, y = next(iter(data.val_dataloader()))  # validation is not shuffled
    assert x.shape == (8, 1, 28, 28) and x.dtype == torch.float32
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte"][:8]).float() / 255
    torch.testing.assert_close(x[:, 0], expected)
    assert y.tolist() == arrays["t10k-labels-idx1-ubyte"][:8].tolist()


def test_torchvision_download_path_reads_existing_files_offline(tmp_path):
    # torchvision's download() returns early when the raw files exist: no network needed.
    arrays = write_tiny_fashion_mnist(tmp_path)
    splits = data_module._download_with_torchvision(tmp_path)
    np.testing.assert_array_equal(splits["train"][0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(splits["val"][1], arrays["t10k-labels-idx1-ubyte"])


def test_fashion_mnist_uses_the_download_when_nothing_is_cached(tmp_path, monkeypatch, capsys):
    arrays = write_tiny_fashion_mnist(tmp_path / "elsewhere")
    fake = {
        "train": (arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
        "val": (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]),
    }
    monkeypatch.setattr(data_module, "_download_with_torchvision", lambda folder: fake)
    FashionMNIST(root=tmp_path / "empty")
    assert "downloaded by torchvision" in capsys.readouterr().out


def test_fashion_mnist_without_data_or_network_says_how_to_get_it(tmp_path, monkeypatch):
    def no_network(folder):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data_module, "_download_with_torchvision", no_network)
    monkeypatch.delenv("CONVBOOK_DATA_DIR", raising=False)
    with pytest.raises(DataUnavailableError, match="CONVBOOK_DATA_DIR") as err:
        FashionMNIST(root=tmp_path)
    assert "name resolution" in str(err.value) and str(tmp_path) in str(err.value)


def test_fashion_mnist_offline_sample_is_genuine_and_split_deterministically(
    sample_dir, monkeypatch, capsys
):
    monkeypatch.setenv("CONVBOOK_DATA_DIR", str(sample_dir))
    data = FashionMNIST(batch_size=100)
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r"Fashion-MNIST: offline sample \(first 2,000 official test images\); "
        r"train 1,600 / val 400 images, 28x28; smoke budget",
        line,
    ), line
    assert data.num_train == 1600 and data.num_val == 400
    official = read_idx(sample_dir / "t10k-labels-idx1-ubyte.gz")[1600:2000]
    assert data.splits["val"][1].tolist() == official.tolist()
    x, _ = next(iter(data.val_dataloader()))
    assert 60 < x.mean().item() * 255 < 90  # the README: pixel mean about 73


def test_fashion_mnist_rejects_a_corrupt_offline_sample(sample_dir, tmp_path):
    for f in sample_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    npz = tmp_path / "test-0000-1999.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(ValueError, match="SHA-256"):
        FashionMNIST(root=tmp_path)
    assert hashlib.sha256(npz.read_bytes()).hexdigest() != data_module.SAMPLE_SHA256


def test_fashion_mnist_resizes_whole_batches(tmp_path):
    write_tiny_fashion_mnist(tmp_path)
    x, y = next(
        iter(FashionMNIST(batch_size=16, resize=(224, 224), root=tmp_path).train_dataloader())
    )
    assert x.shape == (16, 1, 224, 224) and y.shape == (16,)
    assert 0 <= x.min() and x.max() <= 1


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "64", True])
def test_bad_batch_size_is_rejected(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        Digits(batch_size=batch_size)


@pytest.mark.parametrize("resize", [0, (28,), (28, 0), (28, 28, 28), (28.0, 28), "28"])
def test_bad_resize_is_rejected(resize):
    with pytest.raises(ValueError, match="resize must be"):
        Digits(resize=resize)


def test_digits_are_real_split_and_labelled(capsys):
    data = Digits(batch_size=32, resize=28)
    assert "Digits: scikit-learn's bundled copy; train 1,437 / val 360 images" in (
        capsys.readouterr().out
    )
    loader = data.train_dataloader()
    assert len(loader) == 45  # ceil(1437 / 32)
    sizes = [len(y) for _, y in loader]
    assert sum(sizes) == 1437 and sizes[-1] == 1437 - 44 * 32
    assert data.text_labels([3, 7]) == ["3", "7"]


def test_shuffling_is_seeded_and_validation_is_ordered():
    data = Digits(batch_size=64)
    torch.manual_seed(0)
    first = next(iter(data.train_dataloader()))[1]
    torch.manual_seed(0)
    again = next(iter(data.train_dataloader()))[1]
    assert torch.equal(first, again)
    val_a, val_b = (next(iter(data.val_dataloader()))[1] for _ in range(2))
    assert torch.equal(val_a, val_b)


def test_text_labels_and_visualize_on_fashion_classes(tmp_path):
    write_tiny_fashion_mnist(tmp_path)
    data = FashionMNIST(batch_size=8, root=tmp_path)
    assert data.text_labels([0, 9]) == ["t-shirt", "ankle boot"]
    data.visualize(next(iter(data.val_dataloader())), nrows=2, ncols=4)


@pytest.mark.parametrize("size", [(224, 224), (96, 40), (20, 17), (7, 28)])
def test_batched_resize_equals_bilinear_interpolation(size):
    torch.manual_seed(0)
    x = torch.rand(5, 1, 28, 28)
    rows, cols = resize_matrix(28, size[0]), resize_matrix(28, size[1])
    shrink = size[0] < 28 or size[1] < 28
    expected = F.interpolate(x, size=size, mode="bilinear", antialias=shrink)
    torch.testing.assert_close(rows @ x @ cols.T, expected, atol=1e-6, rtol=0)
